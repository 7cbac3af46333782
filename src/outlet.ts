/**
 * The one way a frame leaves for a socket. Every frame a Durable Object sends
 * (welcome, live frames, replay pages, the backlog behind a replay, batches)
 * goes through an outlet, which:
 *
 * - swallows the throw of a socket that is closing: its close or error event
 *   ends the session, so a failed send is never an error of its own;
 * - holds live frames back while a replay is streaming history to the socket,
 *   and lets them out, in order, when it has caught up;
 * - on a socket that negotiated `edge-relay.ndjson`, coalesces everything
 *   due in one turn into as few frames as the caps allow, joined by "\n".
 *   Each frame costs the runtime an event and a pass through the output gate,
 *   so fewer, fuller frames are most of the relay's throughput.
 */
import { MAX_BATCH_FRAMES, utf8Length } from "./protocol";

/** The byte cap of one coalesced frame; a single larger frame goes alone. */
export const MAX_BATCH_BYTES = 65536;

/**
 * Where a session's frames go: a socket's outlet, or one room's share of a
 * multiplexed socket (src/hubs/channel.ts). Replays and sends see only this.
 */
export interface Sink {
  readonly batched: boolean;
  /** A live frame: sent now, or held while a replay runs; `bytes` when already measured. */
  send(frame: string, bytes?: number): void;
  hold(): void;
  replayed(frame: string): void;
  release(): void;
}

export class Outlet implements Sink {
  private pending: string[] = [];
  private pendingBytes = 0;
  /** Live frames waiting for a replay to finish; undefined when live. */
  private held: string[] | undefined;

  constructor(
    private readonly ws: WebSocket,
    /** True when the client asked for newline-joined batches. */
    readonly batched: boolean,
    private readonly turn: Turn,
  ) {}

  /** A live frame: sent in this turn, or after the replay in progress. */
  send(frame: string, bytes?: number): void {
    if (this.held) this.held.push(frame);
    else this.emit(frame, bytes);
  }

  /** Binary frames are never batched: their protocols read one message per frame. */
  sendBinary(data: ArrayBuffer | ArrayBufferView): void {
    this.flush();
    this.write(data);
  }

  /** Holds live frames back until `release`, while history goes out through `replayed`. */
  hold(): void {
    this.held ??= [];
  }

  /** A frame from history; it passes the hold. */
  replayed(frame: string): void {
    this.emit(frame);
  }

  /** Lets the held frames out behind the replayed ones. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const frame of held) this.emit(frame);
  }

  /** Writes what this turn coalesced; runs when the turn ends. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join("\n");
    this.pending = [];
    this.pendingBytes = 0;
    this.write(text);
  }

  /** Closes the socket with what is pending sent first; a socket already gone is left be. */
  close(code: number, reason: string): void {
    this.flush();
    closeQuietly(this.ws, code, reason);
  }

  private emit(frame: string, bytes?: number): void {
    if (!this.batched) {
      this.write(frame);
      return;
    }
    const size = bytes ?? utf8Length(frame);
    // +1 for the newline that joins it to what is pending.
    const full =
      this.pending.length >= MAX_BATCH_FRAMES || this.pendingBytes + 1 + size > MAX_BATCH_BYTES;
    if (this.pending.length > 0 && full) this.flush();
    if (this.pending.length === 0) this.turn.due(this);
    this.pending.push(frame);
    this.pendingBytes += (this.pending.length > 1 ? 1 : 0) + size;
  }

  private write(data: string | ArrayBuffer | ArrayBufferView): void {
    try {
      this.ws.send(data);
    } catch {
      // A socket that is going away; its close or error event ends the session.
    }
  }
}

/**
 * Sends one frame to each session `skip` lets through, measuring its bytes
 * once for every batching receiver rather than once each.
 */
export function sendEach<S extends { outlet: Sink }>(
  sessions: Iterable<S>,
  text: string,
  skip: (session: S) => boolean,
): void {
  let bytes: number | undefined;
  for (const session of sessions) {
    if (skip(session)) continue;
    if (session.outlet.batched) bytes ??= utf8Length(text);
    session.outlet.send(text, bytes);
  }
}

/**
 * One turn of a room: outlets with frames pending are flushed together when
 * it ends. It ends in a zero-delay timer, after the events already queued,
 * or later if `settle` defers it (the room waits for its log's commit, so the
 * frames a commit lets out share a frame with those sent before it).
 */
export class Turn {
  private readonly outlets = new Set<Outlet>();

  constructor(private readonly settle: (end: () => void) => void = (end) => end()) {}

  due(outlet: Outlet): void {
    if (this.outlets.size === 0) setTimeout(() => this.settle(() => this.end()), 0);
    this.outlets.add(outlet);
  }

  /** Flushes every outlet with frames pending. */
  end(): void {
    const outlets = [...this.outlets];
    this.outlets.clear();
    for (const outlet of outlets) outlet.flush();
  }
}

/**
 * Answers a client's close frame, which the runtime does not do for a
 * hibernated socket (the client would see 1006, not a clean close). 1006 and
 * 1015 mean the transport is gone: there is no one to answer. 1005 (no code)
 * cannot be sent back, so it is answered with 1000.
 */
export function answerClose(
  ws: WebSocket,
  outlet: Outlet | undefined,
  code: number,
  reason: string,
): void {
  if (code === 1006 || code === 1015) return;
  const answer = code === 1005 ? 1000 : code;
  if (outlet) outlet.close(answer, reason);
  else closeQuietly(ws, answer, reason);
}

/** Closes a socket that may already be closed; the runtime then throws, which means nothing here. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, fitReason(reason));
  } catch {
    // already closed or closing
  }
}

/** A close frame's reason holds 123 bytes of UTF-8; a longer one would make close throw. */
const MAX_REASON_BYTES = 123;

/** Cuts a reason (an application's, say) to what a close frame can carry, at a character boundary. */
function fitReason(reason: string): string {
  if (utf8Length(reason) <= MAX_REASON_BYTES) return reason;
  const chars = [...reason].slice(0, MAX_REASON_BYTES);
  while (utf8Length(chars.join("")) > MAX_REASON_BYTES) chars.pop();
  return chars.join("");
}
