/**
 * A reconnecting client for the edge-relay protocol (docs/protocol.md, and
 * docs/client.md for how it behaves). Runs in browsers and in Node 22+, using
 * the global WebSocket. The wire types come from src/frames.ts, which holds
 * types and one constant only, so no server code reaches this bundle.
 */
import { RelayClient } from "./relay-client";
import { RelayRooms } from "./relay-rooms";
import type { ConnectOptions, RoomsOptions } from "./types";

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
export { RelayRooms } from "./relay-rooms";
export type { RoomHandle } from "./room-handle";
export type { SocketFactory, SocketLike } from "./socket";
export type {
  ClientEvents,
  ConnectionState,
  ConnectOptions,
  Ended,
  Message,
  RoomOptions,
  RoomsEvents,
  RoomsOptions,
  SendOptions,
  Status,
} from "./types";

/** Starts a client that connects to `url` (http(s) or ws(s), any path prefix) and stays connected. */
export function connect(url: string, options: ConnectOptions): RelayClient {
  return new RelayClient(url, options);
}

/**
 * Starts a multi-room client: one socket to `url`'s `/ws`, on which
 * `room(name)` joins each room (docs/client.md, "Many rooms on one connection").
 *
 * @example
 * ```ts
 * const relay = connectRooms("https://relay.example.com", {
 *   name: "ada",
 *   token: (room) => fetch(`/grant?room=${room}`).then((r) => r.text()),
 * });
 * const general = relay.room("general");
 * const random = relay.room("random");
 * random.on("message", (m) => console.log("random:", m.data));
 * await general.broadcast({ text: "hello" });
 * ```
 */
export function connectRooms(url: string, options: RoomsOptions = {}): RelayRooms {
  return new RelayRooms(url, options);
}
