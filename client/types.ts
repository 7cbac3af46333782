/** What the application passes to connect() and gets back in events. */
import type { Peer, ResumeFailure, ServerFrame, WelcomeFrame } from "../src/frames";
import type { BackoffOptions } from "./backoff";
import type { RelayError } from "./outbox";
import type { SocketFactory } from "./socket";

export type ConnectOptions = {
  room: string;
  /** Display name shown to peers. */
  name?: string;
  /**
   * JWT for relays with AUTH_SECRET. A function is called before every
   * connection, and again when the relay says the session's token is about to
   * expire, to send the fresh one in-band; a string cannot be refreshed.
   */
  token?: string | (() => string | Promise<string>);
  /** How long the relay has to ack a frame once it is written to an open socket. Default 10 s. */
  ackTimeoutMs?: number;
  /** How often to send `ping` while connected. Default 20 s. */
  heartbeatIntervalMs?: number;
  /** How long to wait for `pong` (or any frame) before calling the connection dead. Default 10 s. */
  heartbeatTimeoutMs?: number;
  /** How long a connection attempt may take, until the welcome. Default 10 s. */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Offer `edge-relay.ndjson` and pack each tick's sends into one frame. Default true. */
  batch?: boolean;
  /** Defaults to the global WebSocket. */
  WebSocket?: SocketFactory;
};

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

export type Status = Readonly<{
  state: ConnectionState;
  /** Failed attempts since the connection was last stable. */
  attempt: number;
  /** Set while waiting to retry. */
  retryInMs?: number;
  /** Set when the relay ended the session for good (`closed`): why. */
  ended?: Ended;
}>;

/**
 * The relay ended the session and the client will not reconnect: a refreshed
 * token no longer opens the room (`forbidden`), or the application's backend
 * kicked or banned this user (`kicked`). `reason` is the relay's.
 */
export type Ended = Readonly<{ cause: "forbidden" | "kicked"; code: number; reason: string }>;

/** A message as the application sees it: the message frame without its `type`. */
export type Message = Omit<Extract<ServerFrame, { type: "message" }>, "type">;

export type ClientEvents = {
  welcome: WelcomeFrame;
  join: Peer;
  leave: Peer;
  /** A peer set its presence state; `peers` already holds the new one. */
  presence: Peer;
  /** The room's head count changed (sent only by rooms past `PRESENCE_MAX`); `occupancy` holds it. */
  occupancy: number;
  message: Message;
  /** Error frames not tied to a pending send, and connection attempts that could not start. */
  error: RelayError;
  status: Status;
  /** A resume could not replay what was missed: messages between the two connections are lost. */
  gap: { reason: ResumeFailure };
  /** The relay ended the session for good; `status` is `closed` with the same `ended`. */
  ended: Ended;
};

export type SendOptions = {
  /** Your own idempotency id (1-64 characters); by default the client makes one. */
  id?: string;
};
