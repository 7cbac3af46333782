/**
 * Webhooks: a room tells your backend when it becomes occupied or vacated and
 * when a member is added or removed (Pusher's events, by name). Off unless
 * `WEBHOOK_URL` and `WEBHOOK_SECRET` are set. Each event is kept in the
 * room's outbox (src/observe/outbox.ts) in the turn that caused it, and the
 * room's alarm delivers it `BATCH_MS` later, batched, signed as Standard
 * Webhooks sign (https://www.standardwebhooks.com), and retried on the
 * schedule of `RETRY_MS` across eviction and restarts. Nothing in the room
 * waits for a delivery, and a receiver that hangs is cut off after
 * `TIMEOUT_MS`, so a slow or failing receiver never touches a client frame.
 */
import { read, secret } from "../config";
import { wakeAt } from "../expiry";
import { log, warn } from "../log";
import type { Peer } from "../protocol";
import type { Metrics } from "./metrics";
import { type Batch, Outbox, type OutboxStatus } from "./outbox";
import { type Signer, signer } from "./signature";

export type WebhookEvent = {
  name: "room_occupied" | "room_vacated" | "member_added" | "member_removed";
  room: string;
  /** The member's session id and, when it has one, its user (JWT `sub`). */
  session?: string;
  user?: string;
  /** When it happened, ms since the epoch. */
  time_ms: number;
};

/** How long events gather before their batch goes out. */
export const BATCH_MS = 1000;
const TIMEOUT_MS = 10_000;
/**
 * Waits after each failed try of a batch before the next: the schedule
 * Standard Webhooks suggests (and Svix runs) through its first 10 h step,
 * then 10 h once more. Eight tries over about 27.6 hours, each wait up to
 * 10% longer at random so rooms that failed together do not retry together.
 */
export const RETRY_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
/** Batches one wake sends at most; a longer backlog continues in the next wake, at once. */
const BATCHES_PER_WAKE = 50;

export class Webhooks {
  /** The alarm this life of the room set for the outbox; undefined once it ran. */
  private armed: number | undefined;
  private running: Promise<void> | undefined;
  /** Events the bound dropped since the last log line about it. */
  private dropping = 0;

  private constructor(
    private readonly url: string,
    private readonly sign: Signer,
    private readonly room: () => string,
    private readonly outbox: Outbox,
    private readonly storage: DurableObjectStorage,
    private readonly metrics: Metrics | undefined,
  ) {}

  /** Webhooks when `WEBHOOK_URL` and `WEBHOOK_SECRET` are both set, else undefined. */
  static of(
    env: object,
    room: () => string,
    storage: DurableObjectStorage,
    metrics: Metrics | undefined,
  ): Webhooks | undefined {
    const url = read(env, "WEBHOOK_URL");
    if (typeof url !== "string" || url === "") return undefined;
    const key = secret(env, "WEBHOOK_SECRET");
    if (!key) {
      warn("bad_config", { name: "WEBHOOK_SECRET", value: "", using: "no webhooks" });
      return undefined;
    }
    const outbox = new Outbox(storage.sql);
    return new Webhooks(url, signer(key), room, outbox, storage, metrics);
  }

  /** A member joined; `count` includes it. */
  joined(peer: Peer, count: number): void {
    const added = this.event("member_added", peer);
    this.keep(count === 1 ? [this.event("room_occupied"), added] : [added]);
  }

  /** A member left; `count` no longer includes it. */
  left(peer: Peer, count: number): void {
    const removed = this.event("member_removed", peer);
    this.keep(count === 0 ? [removed, this.event("room_vacated")] : [removed]);
  }

  /** Pending events and losses, for `describe` and the console. */
  status(): OutboxStatus {
    return this.outbox.status();
  }

  /**
   * The room's alarm: sends the batches that are due, oldest first, then
   * sets the alarm for the next (none when nothing waits). Never throws, so
   * the runtime's few alarm retries are not what keeps a batch alive.
   */
  async alarm(): Promise<void> {
    this.armed = undefined;
    // One delivery at a time, so two wakes never send the same batch at once.
    const previous = this.running;
    const run = (async () => {
      await previous;
      try {
        await this.deliverDue();
      } catch (error) {
        log("webhook_error", { room: this.room(), error: String(error) });
      } finally {
        await this.wake();
      }
    })();
    this.running = run;
    await run;
  }

  private event(name: WebhookEvent["name"], peer?: Peer): WebhookEvent {
    const event: WebhookEvent = { name, room: this.room(), time_ms: Date.now() };
    if (peer) event.session = peer.id;
    if (peer?.user !== undefined) event.user = peer.user;
    return event;
  }

  private keep(events: WebhookEvent[]): void {
    const now = Date.now();
    const dropped = this.outbox.add(events, now + BATCH_MS, now);
    if (dropped > 0) this.dropped(dropped);
    else if (this.dropping > 0) {
      log("webhook_dropped", { room: this.room(), events: this.dropping, reason: "outbox full" });
      this.dropping = 0;
    }
    this.wake().catch((error: unknown) => {
      log("alarm_error", { room: this.room(), error: String(error) });
    });
  }

  /** Counts what the bound dropped, and logs the first drop of a run; the run's total is logged when it ends. */
  private dropped(events: number): void {
    if (this.dropping === 0) log("webhook_outbox_full", { room: this.room() });
    this.dropping += events;
    this.metrics?.webhooksLost("dropped", events);
  }

  /** Sets the alarm for the outbox's next batch, unless this life set it that early already. */
  private async wake(): Promise<void> {
    const due = this.outbox.due;
    if (due === undefined || (this.armed !== undefined && this.armed <= due)) return;
    this.armed = due;
    await wakeAt(this.storage, due);
  }

  private async deliverDue(): Promise<void> {
    for (let sent = 0; sent < BATCHES_PER_WAKE; sent++) {
      const due = this.outbox.due;
      if (due === undefined || due > Date.now()) return;
      const batch = this.outbox.head();
      if (!batch) return;
      const failure = await this.post(batch);
      if (failure === undefined) this.outbox.delivered(batch);
      else this.failed(batch, failure);
    }
  }

  private failed(batch: Batch, reason: string): void {
    const room = this.room();
    const wait = RETRY_MS[batch.tries];
    const tries = batch.tries + 1;
    if (wait === undefined) {
      this.outbox.gaveUp(batch, Date.now());
      this.metrics?.webhooksLost("givenUp", batch.events.length);
      log("webhook_gave_up", { room, id: batch.id, events: batch.events.length, tries, reason });
      return;
    }
    const jittered = Math.round(wait * (1 + Math.random() * 0.1));
    this.outbox.failed(batch, Date.now() + jittered);
    log("webhook_retry", { room, id: batch.id, tries, reason, retry_in_ms: jittered });
  }

  /** One POST of a batch; undefined when the receiver took it, else why not. */
  private async post(batch: Batch): Promise<string | undefined> {
    const now = Date.now();
    const body = JSON.stringify({ id: batch.id, time_ms: now, events: batch.events });
    // Signed afresh on each try, so a receiver that refuses old timestamps takes a retry.
    const headers = await this.sign(batch.id, Math.floor(now / 1000), body);
    // A timer of our own, cleared with the answer: `AbortSignal.timeout` would keep the room awake.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error("no answer in time")), TIMEOUT_MS);
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        signal: abort.signal,
      });
      await response.body?.cancel();
      return response.ok ? undefined : `status ${response.status}`;
    } catch (error) {
      return String(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
