/** What the application passes to connect() and gets back in events. */
import type { Peer, ResumeFailure, ServerFrame, WelcomeFrame } from "../src/frames";
import type { BackoffOptions } from "./backoff";
import type { RelayError, RelayErrorCode } from "./outbox";
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
 * kicked or banned this user (`kicked`); `code` is the close code. A room of
 * a multi-room connection may also be `refused`: its subscribe got an error
 * that retrying cannot cure (`code` is the error code). `reason` is the relay's.
 */
export type Ended =
  | Readonly<{ cause: "forbidden" | "kicked"; code: number; reason: string }>
  | Readonly<{ cause: "refused"; code: RelayErrorCode; reason: string }>;

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

/** The options of `connectRooms`: those of `connect` but the room, with a token per room. */
export type RoomsOptions = Omit<ConnectOptions, "room" | "token"> & {
  /**
   * The grant for one room, asked before each subscribe to it (so once per
   * room after every reconnect, all at once) and when the relay says that
   * room's token expires. A string serves every room and cannot be refreshed.
   */
  token?: string | ((room: string) => string | Promise<string>);
};

/** Options of one room on a multi-room connection. */
export type RoomOptions = {
  /** This room's grant, instead of the connection's `token`. */
  token?: ConnectOptions["token"];
};

/** The multi-room connection's own events; everything about a room is on its handle. */
export type RoomsEvents = {
  status: Status;
  /** Error frames that name no room, and connection attempts that could not start. */
  error: RelayError;
};
