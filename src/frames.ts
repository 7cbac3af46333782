/**
 * The wire frames, declared once as types with no imports, so the Worker, the
 * room, the client library, the demo and the tests all describe the same
 * protocol (docs/protocol.md). The parser that checks them lives in
 * `protocol.ts`; a type test keeps the two in step.
 */

/**
 * A session as others see it; `user` is the token's `sub` when auth is on,
 * `state` what the session last set with a presence frame.
 */
export type Peer = { id: string; name: string; user?: string; state?: Json };

/** A value as JSON carries it: what a presence state can be. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The WebSocket subprotocol under which frames travel in newline-separated batches. */
export const NDJSON_PROTOCOL = "edge-relay.ndjson";

// ---- client to server ----------------------------------------------------

export type BroadcastFrame = { type: "broadcast"; data: unknown; id?: string };
export type DirectFrame = { type: "direct"; to: string; data: unknown; id?: string };
/** Sets the sender's presence state, which peers see until it changes or the session leaves. */
export type PresenceFrame = { type: "presence"; state: Json; id?: string };
/**
 * A fresh token for this session, sent before its token expires (after an
 * `expiring` frame): it must be for the same user. Acked like other frames.
 */
export type RefreshFrame = { type: "refresh"; token: string; id?: string };
export type ClientFrame = BroadcastFrame | DirectFrame | PresenceFrame | RefreshFrame;

// ---- many rooms on one connection (`GET /ws`, docs/protocol.md) -----------

/**
 * Joins `room` on a multiplexed connection: `token` is this room's grant,
 * `since` and `epoch` resume it. Answered by the room's welcome, or an error
 * naming the room. A subscribe to a room already subscribed is ignored.
 */
export type SubscribeFrame = {
  type: "subscribe";
  room: string;
  since?: number;
  epoch?: string;
  token?: string;
};
/** Leaves `room`; answered by `unsubscribed` with code 1000. */
export type UnsubscribeFrame = { type: "unsubscribe"; room: string };
/** What a multiplexed connection sends: a room frame naming its room, or a (un)subscribe. */
export type HubClientFrame = (ClientFrame & { room: string }) | SubscribeFrame | UnsubscribeFrame;

/**
 * A subscription ended while the connection goes on. `code` is what a
 * single-room socket would have closed with: 1000 answers an unsubscribe,
 * `CLOSE_CODES` end it for a reason of trust, 1012, 1013 and 4000 ask for a
 * resubscribe with `since`.
 */
export type UnsubscribedFrame = {
  type: "unsubscribed";
  room: string;
  code: number;
  reason: string;
};
/** What a multiplexed connection receives: every frame of a room with its room's name, and `unsubscribed`. */
export type HubServerFrame = (ServerFrame & { room: string }) | UnsubscribedFrame;

// ---- server to client ----------------------------------------------------

/** Why a resume could not replay what was missed. */
export type ResumeFailure = "epoch_changed" | "expired" | "too_many";

/** What this room accepts from a client, so a client can size its batches. */
export type WelcomeLimits = { maxMessageBytes: number; maxBatchFrames: number };

export type WelcomeFrame = {
  type: "welcome";
  id: string;
  room: string;
  peers: Peer[];
  seq: number;
  epoch: string;
  limits: WelcomeLimits;
  /** Everyone in the room, you included; `peers` lists at most `PRESENCE_MAX` of them. */
  occupancy: number;
  recovered?: boolean;
  reason?: ResumeFailure;
};

export type JoinFrame = { type: "join"; peer: Peer };
export type LeaveFrame = { type: "leave"; peer: Peer };
/** A peer's presence state changed; `peer.state` is the new state. */
export type PeerPresenceFrame = { type: "presence"; peer: Peer };
export type MessageFrame = {
  type: "message";
  from: string;
  to?: string;
  data: unknown;
  ts: number;
  seq?: number;
};
/** The room's head count, sent at most every 2 s while it changes, once some members are not announced. */
export type OccupancyFrame = { type: "occupancy"; count: number };
/**
 * The session's token expires at `at` (ms since the epoch): send a `refresh`
 * before then, or the session is closed with `CLOSE_CODES.expired`.
 */
export type ExpiringFrame = { type: "expiring"; at: number };
export type AckFrame = { type: "ack"; id: string; seq?: number; duplicate?: true };
export type ErrorFrame = { type: "error"; code: FrameErrorCode; message: string; id?: string };

export type ServerFrame =
  | WelcomeFrame
  | JoinFrame
  | LeaveFrame
  | PeerPresenceFrame
  | MessageFrame
  | OccupancyFrame
  | ExpiringFrame
  | AckFrame
  | ErrorFrame;

// ---- errors ----------------------------------------------------------------

/** Codes of error frames; the connection stays open after each. */
export type FrameErrorCode =
  | "bad_json"
  | "bad_message"
  | "too_large"
  | "unknown_recipient"
  | "rate_limited"
  | "rejected"
  | "forbidden"
  /** A refresh was refused: a bad token, or one for another user. The session goes on until its expiry. */
  | "unauthorized"
  /** The session's token expired: nothing but a refresh is accepted until it closes. */
  | "expired"
  /** On a multiplexed connection: a frame for a room it has not subscribed to. */
  | "not_subscribed"
  /** On a multiplexed connection: a subscribe past its cap of rooms. */
  | "too_many_rooms"
  /** On a multiplexed connection, a refused subscribe (the codes an upgrade answers with). */
  | "bad_room"
  | "banned"
  | "room_full"
  | "too_many_connections"
  | "internal";

/** Codes of refused HTTP requests; the server API also answers with frame codes. */
export type HttpErrorCode =
  | Exclude<FrameErrorCode, "rate_limited" | "expired" | "not_subscribed" | "too_many_rooms">
  | "bad_room"
  | "bad_name"
  | "bad_client"
  | "bad_resume"
  | "upgrade_required"
  | "forbidden_origin"
  | "unauthorized"
  | "forbidden"
  | "room_full"
  | "too_many_connections"
  | "too_many_upgrades"
  | "banned"
  | "not_found"
  | "internal";

/**
 * Close codes with which the relay ends a session for a reason of trust. A
 * client reconnects after `expired` (with a fresh token) and stops for good
 * after `forbidden` and `kicked`.
 */
export const CLOSE_CODES = {
  /** The session's token expired and no refresh came in time. */
  expired: 4001,
  /** A refreshed token no longer opens this room. */
  forbidden: 4403,
  /** The application's backend ended the session (a kick or a ban). */
  kicked: 4410,
} as const;
