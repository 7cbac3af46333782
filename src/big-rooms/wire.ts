/**
 * What a room and its holders (shards and hubs) say to each other: one batch type per direction
 * of a link, both plain data so RPC can clone them. Client data travels as
 * JSON text, never as nested objects: structured clone overflows on data
 * nested a few thousand deep, which a client may legally send.
 */

import type { Refusal } from "../auth";
import type { Peer } from "../frames";

/** A session as a shard tells the room of it. */
export type Joiner = {
  peer: Peer;
  scope: string;
  address?: string;
  /** When the session's grant ends, in ms since the epoch (`Identity.expires`). */
  expires?: number;
  /** The socket batches frames (`edge-relay.ndjson`). */
  batched?: true;
  since?: number;
  epoch?: string;
};

/** Shard to room, in the order things happened on the shard. */
export type Up =
  | { kind: "join"; joiner: Joiner }
  /** One client frame that passed the shard's parser and rate limit, as JSON text. */
  | { kind: "frame"; from: string; text: string }
  | { kind: "leave"; id: string }
  /** Nothing but the batch itself: a new life telling the room which sessions it holds. */
  | { kind: "hello" }
  /**
   * An answer the shard gave itself (a bad frame, a rate limit), sent back
   * down through the room so it keeps its place among the room's answers.
   */
  | { kind: "answer"; to: string; text: string };

export type UpBatch = {
  /** The room's name: a room reached by ID alone (a local dev registry's proxy) has none of its own. */
  room: string;
  /** Which holder sends: a shard's index, or a hub's number (holders.ts). */
  shard: number;
  /** Which life of the shard sends: a new one means the old one's sessions are gone. */
  life: string;
  /** Counts this life's batches; a retry repeats it, and is answered without acting twice. */
  seq: number;
  /** On a life's first batch: the sessions it holds (from socket attachments). */
  holds?: string[];
  events: Up[];
};

/** The room's answer: which joins it refused, and which life of the room answered. */
export type UpResult = { life: string; refused: Record<string, Refusal> };

/** Room to shard, in the room's one order. */
export type Down =
  | { kind: "broadcast"; row: LogRow }
  /** A notice (join, leave, presence, occupancy) for every session but `except`. */
  | { kind: "all"; text: string; except?: string }
  /** An ack, an error or a direct message for one session. */
  | { kind: "to"; to: string; text: string }
  /** A session's welcome, its place in the log, and where its replay starts. */
  | { kind: "welcome"; to: string; text: string; seq: number; replayFrom?: number }
  | { kind: "close"; to: string; code: number; reason: string }
  /**
   * Items for these sessions were lost (a batch the link gave up on, or a
   * queue dropped for overflow): a welcomed one must resume, one still
   * waiting for its welcome asks for it again. Always first in its batch.
   */
  | { kind: "lost"; ids: string[] };

export type DownBatch = {
  /** The room that sends, so a hub knows which of its rooms this is, and a woken shard its room. */
  room: string;
  /** The holder it is for, as the room numbers it (holders.ts): one reached by ID alone learns it here. */
  shard: number;
  life: string;
  seq: number;
  items: Down[];
};

/** A page of the room's log, as a shard reads it to fill a gap or a resume. */
export type LogRow = { seq: number; sender: string; frame: string };
