/**
 * The server API's answers, as the relay sends them (docs/protocol.md, "Server
 * API"). Frames and peers are the wire types of src/frames.ts; the shapes
 * the relay builds from its own returns are checked against them by a type
 * test in test/e2e/api.test.ts, so the two cannot drift apart.
 */
import type { MessageFrame, Peer } from "../src/frames";

/** A broadcast the room took: its `seq`, the `id` it was sent under, and `duplicate` when that id was seen before. */
export type Published = { seq: number; id: string; duplicate?: true };

/** A direct message handed to its recipient's session; `duplicate` as for `Published`. */
export type Delivered = { delivered: true; id: string; duplicate?: true };

/** An idempotency id: 1 to 64 characters. Sent again with the same message, the room keeps one copy. */
export type PublishOptions = { id?: string };

/** `GET /rooms/:room`: who is in a room now and where its stream stands. */
export type RoomDescription = {
  room: string;
  connections: number;
  /** Everyone, announced or not. */
  peers: Peer[];
  seq: number;
  /** `null` for a room that was never used. */
  epoch: string | null;
  mode: "single" | "sharded";
  shards: { index: number; sessions: number }[];
  /** Hubs holding sessions of multiplexed connections (`GET /ws`). */
  hubs: { index: number; sessions: number }[];
  /** With webhooks on: events waiting in the outbox, and those lost by reason. */
  webhooks?: {
    pending: number;
    lost: Partial<Record<"outbox_full" | "gave_up", { events: number; at: number }>>;
  };
};

/** A page of stored broadcasts; ask again with `since: next` until `next` is `null`. */
export type HistoryPage = { messages: MessageFrame[]; next: number | null };

/** Where a page of history starts (after `since`, default 0) and how long it is (default 100, at most 1000). */
export type HistoryQuery = { since?: number; limit?: number };

/** One session, or every session of one user. */
export type KickTarget = { session: string } | { user: string };

export type Kicked = { closed: number };
/** `until` is in ms since the epoch; `closed` counts the sessions the ban ended. */
export type Banned = { user: string; until: number; closed: number };
export type Ban = { user: string; until: number; reason: string };
export type Unbanned = { lifted: boolean };

/** A document's open sockets and the user each was opened by. */
export type DocumentSessions = { sessions: { id: string; user?: string }[] };

/** `GET /rooms` and `GET /docs`: a prefix of names, in name or occupancy order, a page at a time. */
export type ListQuery = {
  prefix?: string;
  sort?: "name" | "occupancy";
  limit?: number;
  /** The `next` of the page before. */
  cursor?: string;
};

/** One live room or document: its count, since when it is occupied and when it last told (ms). */
export type ListEntry = { name: string; count: number; since: number; updated: number };

export type Listing = {
  kind: "room" | "doc";
  entries: ListEntry[];
  next: string | null;
  total: { entries: number; members: number };
};
