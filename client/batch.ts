/**
 * Packs what the application sends in one tick into as few WebSocket frames
 * as the relay accepts (`edge-relay.ndjson`: frames joined by "\n"). Every
 * inbound frame costs the relay a whole event, so fewer, fuller frames are
 * what make it fast; the limits come from the welcome.
 */

import { NDJSON_PROTOCOL, type WelcomeFrame } from "../src/frames";
import type { SocketLike } from "./socket";

/** How much one WebSocket frame may carry: lines, and UTF-8 bytes of the joined text. */
export type BatchLimits = { maxFrames: number; maxBytes: number };

const encoder = new TextEncoder();

/**
 * Splits serialized frames (`text`, of `bytes` UTF-8 bytes when the caller
 * already measured them), in order, into groups that each fit the limits
 * once joined by "\n". A frame over `maxBytes` on its own goes alone, never
 * taking its neighbours over the limit with it.
 */
export function pack<T extends { text: string; bytes?: number }>(
  items: readonly T[],
  limits: BatchLimits,
): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = item.bytes ?? encoder.encode(item.text).byteLength;
    const fits = group.length < limits.maxFrames && bytes + 1 + size <= limits.maxBytes;
    if (group.length > 0 && !fits) {
      groups.push(group);
      group = [];
    }
    bytes = group.length === 0 ? size : bytes + 1 + size;
    group.push(item);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Collects frames for one socket and writes them, packed, at the end of the current tick. */
export class Batcher {
  private queue: { id: string; text: string; bytes: number }[] = [];
  private scheduled = false;

  /**
   * `write` gets each packed frame and the ids of the frames inside it;
   * `refuse` gets a frame the relay would refuse as too large (with the limit), which is not sent.
   */
  constructor(
    private limits: BatchLimits,
    private readonly write: (text: string, ids: string[]) => void,
    private readonly refuse: (id: string, bytes: number, limit: number) => void,
  ) {}

  /** New limits for what is queued from now on (a multi-room socket learns them from its first welcome). */
  setLimits(limits: BatchLimits): void {
    this.limits = limits;
  }

  /** Queues a serialized frame; the first frame of a tick schedules the flush. */
  add(id: string, text: string): void {
    const bytes = encoder.encode(text).byteLength;
    if (bytes > this.limits.maxBytes) {
      this.refuse(id, bytes, this.limits.maxBytes);
      return;
    }
    this.queue.push({ id, text, bytes });
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Forgets what has not been written: its socket is gone, and the outbox still holds it. */
  clear(): void {
    this.queue = [];
  }

  private flush(): void {
    this.scheduled = false;
    const entries = this.queue;
    this.queue = [];
    for (const group of pack(entries, this.limits)) {
      this.write(
        group.map((entry) => entry.text).join("\n"),
        group.map((entry) => entry.id),
      );
    }
  }
}

/**
 * What one frame to this relay may carry: batches only where the relay echoed
 * the subprotocol; a relay without `limits` in its welcome predates batching.
 */
export function batchLimits(socket: SocketLike, welcome: WelcomeFrame): BatchLimits {
  const limits: Partial<WelcomeFrame["limits"]> = welcome.limits ?? {};
  const batching = socket.protocol === NDJSON_PROTOCOL;
  return {
    maxFrames: batching ? (limits.maxBatchFrames ?? 1) : 1,
    maxBytes: limits.maxMessageBytes ?? Number.POSITIVE_INFINITY,
  };
}
