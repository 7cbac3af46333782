/**
 * A reconnecting client for the edge-relay protocol (docs/protocol.md, and
 * docs/client.md for how it behaves). Runs in browsers and in Node 22+, using
 * the global WebSocket. The wire types come from src/frames.ts, which holds
 * types and one constant only, so no server code reaches this bundle.
 */
import { RelayClient } from "./relay-client";
import type { ConnectOptions } from "./types";

export type {
  Peer,
  ResumeFailure,
  ResumeFailure as GapReason,
  WelcomeFrame,
  WelcomeLimits,
} from "../src/frames";
export { CLOSE_CODES, NDJSON_PROTOCOL } from "../src/frames";
export type { BackoffOptions } from "./backoff";
export { type Ack, RelayError, type RelayErrorCode } from "./outbox";
export { RelayClient } from "./relay-client";
export type { SocketFactory, SocketLike } from "./socket";
export type {
  ClientEvents,
  ConnectionState,
  ConnectOptions,
  Ended,
  Message,
  SendOptions,
  Status,
} from "./types";

/** Starts a client that connects to `url` (http(s) or ws(s), any path prefix) and stays connected. */
export function connect(url: string, options: ConnectOptions): RelayClient {
  return new RelayClient(url, options);
}
