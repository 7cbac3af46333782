/**
 * One direction of a link between a room and a shard: items queue while a
 * call is in flight and leave together in the next call, so batches grow
 * with load and an idle room pays one hop per item. A failed call is retried
 * with the same batch and number on a fresh stub (the receiver answers a
 * repeat without acting twice), with backoff; after `MAX_ATTEMPTS` the owner
 * is told, and decides what the loss means for its sessions.
 */
import { log } from "../log";

export type Batch<T> = { seq: number; items: T[] };

export type LinkOptions<T, R> = {
  /** Makes the call, on a fresh stub each time. */
  call: (batch: Batch<T>) => Promise<R>;
  /** The answer to a batch, in batch order. */
  delivered: (batch: Batch<T>, result: R) => void;
  /** The batch could not be delivered; the link goes on with the next one. */
  lost: (batch: Batch<T>, error: unknown) => void;
  faults?: Faults;
  name: string;
  /** Runs the next call when what this turn pushes is all there; a microtask by default. */
  schedule?: (run: () => void) => void;
};

const MAX_ATTEMPTS = 6;
const FIRST_BACKOFF_MS = 10;

export class Link<T, R> {
  private queue: T[] = [];
  private sending = false;
  private seq = 0;

  constructor(private readonly options: LinkOptions<T, R>) {}

  /** Items waiting for the next call. */
  get queued(): number {
    return this.queue.length;
  }

  /** The number of the last batch made; what is pushed now goes in a later one. */
  get built(): number {
    return this.seq;
  }

  push(item: T): void {
    this.queue.push(item);
    this.wake();
  }

  /** Puts an item ahead of everything queued: the next batch starts with it. */
  first(item: T): void {
    this.queue.unshift(item);
    this.wake();
  }

  private wake(): void {
    if (this.sending) return;
    // What the rest of this turn pushes goes in the same call.
    this.sending = true;
    (this.options.schedule ?? queueMicrotask)(() => void this.pump());
  }

  /** Forgets what is queued, for a receiver that will be told to start over. */
  discard(): void {
    this.queue = [];
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = { seq: ++this.seq, items: this.queue };
      this.queue = [];
      await this.send(batch);
    }
    this.sending = false;
  }

  private async send(batch: Batch<T>): Promise<void> {
    const { call, faults } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await (faults
          ? faults.around(() => call(batch), this.options.name)
          : call(batch));
        this.options.delivered(batch, result);
        return;
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS) {
          log("link_lost", { link: this.options.name, batch: batch.seq, error: String(error) });
          this.options.lost(batch, error);
          return;
        }
        await sleep(FIRST_BACKOFF_MS * 2 ** attempt * (0.5 + Math.random() / 2));
      }
    }
  }
}

/**
 * Faults injected into link calls by the test-only var `LINK_FAULTS`, as
 * `drop=0.1,double=0.1,delay=0.1`: a call is lost (before or after the
 * receiver acted, at random), made twice, or held back a little. `count=1`
 * logs a `link_calls` line a second with the calls made (the bench's count).
 */
export class Faults {
  constructor(
    private readonly drop: number,
    private readonly double: number,
    private readonly delay: number,
    private readonly count = false,
  ) {}

  static parse(spec: unknown): Faults | undefined {
    if (typeof spec !== "string" || spec === "") return undefined;
    const rates = new Map(
      spec.split(",").map((part) => {
        const [name = "", rate = ""] = part.split("=");
        return [name.trim(), Number(rate)] as const;
      }),
    );
    const rate = (name: string) => Math.min(1, Math.max(0, rates.get(name) || 0));
    return new Faults(rate("drop"), rate("double"), rate("delay"), rate("count") > 0);
  }

  async around<R>(call: () => Promise<R>, link = ""): Promise<R> {
    if (this.count) counted(link.split("-")[0] ?? link);
    if (Math.random() < this.delay) await sleep(Math.random() * 20);
    if (Math.random() < this.drop / 2) throw new Error("injected fault: request lost");
    const result = await call();
    if (Math.random() < this.double) await call();
    if (Math.random() < this.drop / 2) throw new Error("injected fault: answer lost");
    return result;
  }
}

const calls = new Map<string, number>();

/** Tallies calls by direction (up, down) in this isolate, logged once a second. */
function counted(direction: string): void {
  if (calls.size === 0) {
    setTimeout(() => {
      log("link_calls", Object.fromEntries(calls));
      calls.clear();
    }, 1000);
  }
  calls.set(direction, (calls.get(direction) ?? 0) + 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
