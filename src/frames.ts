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
export type ClientFrame = BroadcastFrame | DirectFrame | PresenceFrame;

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
export type AckFrame = { type: "ack"; id: string; seq?: number; duplicate?: true };
export type ErrorFrame = { type: "error"; code: FrameErrorCode; message: string; id?: string };

export type ServerFrame =
  | WelcomeFrame
  | JoinFrame
  | LeaveFrame
  | PeerPresenceFrame
  | MessageFrame
  | OccupancyFrame
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
  | "forbidden";

/** Codes of refused HTTP requests; the server API also answers with frame codes. */
export type HttpErrorCode =
  | Exclude<FrameErrorCode, "rate_limited">
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
  | "not_found"
  | "internal";
