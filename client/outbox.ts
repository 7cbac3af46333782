/**
 * Frames sent with an id and not yet acknowledged. They stay here across
 * reconnects and are resent with the same id, which the relay deduplicates.
 */
import type { AckFrame, FrameErrorCode } from "../src/frames";

/** What an ack tells the sender: the broadcast's `seq`, and whether it was a repeat. */
export type Ack = Omit<AckFrame, "type" | "id">;

/**
 * The relay's own error codes (a multi-room socket's included), plus the client's: `timeout` (no ack in time),
 * `closed` (close() was called, or the relay ended the session for good),
 * `connect_failed` (no socket could be made) and `token_failed` (a fresh token
 * could not be had or was refused; the client tries again with backoff).
 */
export type RelayErrorCode =
  | FrameErrorCode
  | "timeout"
  | "closed"
  | "connect_failed"
  | "token_failed";

/** A refusal from the relay (its error code), or a failure the client itself detected. */
export class RelayError extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
    readonly id?: string,
  ) {
    super(message);
    this.name = "RelayError";
  }
}

type Entry = {
  text: string;
  promise: Promise<Ack>;
  resolve: (ack: Ack) => void;
  reject: (error: RelayError) => void;
  timer?: ReturnType<typeof setTimeout>;
};

export class Outbox {
  private readonly entries = new Map<string, Entry>();

  /** Queues a frame; an id that is already waiting gets the promise it already has. */
  add(id: string, text: string): Promise<Ack> {
    const existing = this.entries.get(id);
    if (existing) return existing.promise;
    let resolve: (ack: Ack) => void = () => {};
    let reject: (error: RelayError) => void = () => {};
    const promise = new Promise<Ack>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.entries.set(id, { text, promise, resolve, reject });
    return promise;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Waiting frames in the order they were first sent (Map keeps insertion order). */
  waiting(): [id: string, text: string][] {
    return [...this.entries].map(([id, entry]) => [id, entry.text]);
  }

  /** Starts the ack deadline of a frame just written to an open socket. */
  sent(id: string, timeoutMs: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(
      () => this.reject(id, new RelayError("timeout", `no ack within ${timeoutMs} ms`, id)),
      timeoutMs,
    );
  }

  /** The socket is gone: deadlines stop until the frames are resent on the next connection. */
  pause(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
  }

  resolve(id: string, ack: Ack): void {
    this.take(id)?.resolve(ack);
  }

  reject(id: string, error: RelayError): void {
    this.take(id)?.reject(error);
  }

  rejectAll(error: RelayError): void {
    for (const id of [...this.entries.keys()]) {
      this.reject(id, new RelayError(error.code, error.message, id));
    }
  }

  private take(id: string): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.entries.delete(id);
    return entry;
  }
}
