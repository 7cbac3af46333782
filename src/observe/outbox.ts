/**
 * The webhook outbox: a room's events wait in its SQLite (`relay_webhooks`)
 * until the receiver took them, so eviction, restarts and a receiver that is
 * down for hours lose nothing. An event is inserted in the turn of the join
 * or leave that caused it, so it commits with what that turn wrote. Events go
 * out in order, in batches: the oldest batch is the only one in flight, and
 * it keeps its id and its events across every try. Losses (the bound, a
 * batch given up) are counted in `relay_webhook_losses`, so the console can
 * show them after any restart.
 */
import type { WebhookEvent } from "./webhooks";

/** Events held at most; past it new events are dropped and counted. About 200 bytes each. */
export const OUTBOX_MAX = 100_000;
/** Events per POST at most. */
export const BATCH_MAX = 100;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS relay_webhooks (
    seq INTEGER PRIMARY KEY, event TEXT NOT NULL, batch TEXT,
    tries INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS relay_webhook_losses (
    reason TEXT PRIMARY KEY, events INTEGER NOT NULL, at INTEGER NOT NULL);
`;

/** Why events were lost: the outbox was full, or their batch ran out of tries. */
export type LossReason = "outbox_full" | "gave_up";

/** The oldest batch: what goes out next, and how often it went out before. */
export type Batch = { id: string; events: WebhookEvent[]; tries: number; last: number };

/** What the console and `describe` show of a room's webhooks. */
export type OutboxStatus = {
  /** Events waiting to be delivered. */
  pending: number;
  /** Events lost, by reason, and when the last was lost (ms since the epoch). */
  lost: Partial<Record<LossReason, { events: number; at: number }>>;
};

export class Outbox {
  /** Rows held, known once the table is read; undefined while it does not exist. */
  private size: number | undefined;

  constructor(private readonly sql: SqlStorage) {
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_webhooks'").toArray();
    if (exists.length > 0) this.size = this.count();
  }

  /**
   * Keeps `events`, due to go out at `due` (unless older ones hold them
   * back). Answers how many did not fit under `OUTBOX_MAX`.
   */
  add(events: WebhookEvent[], due: number, now: number): number {
    if (this.size === undefined) {
      this.sql.exec(SCHEMA);
      this.size = 0;
    }
    const room = Math.max(0, OUTBOX_MAX - this.size);
    for (const event of events.slice(0, room)) {
      this.sql.exec(
        "INSERT INTO relay_webhooks (event, due) VALUES (?, ?)",
        JSON.stringify(event),
        due,
      );
    }
    this.size += Math.min(room, events.length);
    const dropped = events.length - Math.min(room, events.length);
    if (dropped > 0) this.lose("outbox_full", dropped, now);
    return dropped;
  }

  /** When the oldest event's batch is due, or undefined when nothing waits. */
  get due(): number | undefined {
    if (!this.size) return undefined;
    return this.sql
      .exec<{ due: number }>("SELECT due FROM relay_webhooks ORDER BY seq LIMIT 1")
      .toArray()[0]?.due;
  }

  /** The oldest batch, formed now from the oldest events if none is in flight. */
  head(): Batch | undefined {
    if (!this.size) return undefined;
    // A batch is always a prefix of the table, so every query here reads a range of seqs.
    const rows = this.sql
      .exec<{ seq: number; event: string; batch: string | null; tries: number }>(
        "SELECT seq, event, batch, tries FROM relay_webhooks ORDER BY seq LIMIT ?",
        BATCH_MAX,
      )
      .toArray();
    const first = rows[0];
    if (!first) return undefined;
    const id = first.batch ?? crypto.randomUUID();
    const members = rows.filter((row) => row.batch === first.batch);
    const last = members.at(-1)?.seq ?? first.seq;
    if (first.batch === null) {
      this.sql.exec("UPDATE relay_webhooks SET batch = ? WHERE seq <= ?", id, last);
    }
    const events = members.map((row) => JSON.parse(row.event) as WebhookEvent);
    return { id, events, tries: first.tries, last };
  }

  /** The receiver took `batch`. */
  delivered(batch: Batch): void {
    this.remove(batch);
  }

  /** `batch` failed; it is tried again at `due`. */
  failed(batch: Batch, due: number): void {
    const tries = batch.tries + 1;
    this.sql.exec(
      "UPDATE relay_webhooks SET tries = ?, due = ? WHERE seq <= ?",
      tries,
      due,
      batch.last,
    );
  }

  /** `batch` ran out of tries: it is dropped and counted. */
  gaveUp(batch: Batch, now: number): void {
    this.remove(batch);
    this.lose("gave_up", batch.events.length, now);
  }

  status(): OutboxStatus {
    if (this.size === undefined) return { pending: 0, lost: {} };
    const rows = this.sql
      .exec<{ reason: LossReason; events: number; at: number }>(
        "SELECT reason, events, at FROM relay_webhook_losses",
      )
      .toArray();
    const lost = Object.fromEntries(rows.map(({ reason, events, at }) => [reason, { events, at }]));
    return { pending: this.size, lost };
  }

  private remove(batch: Batch): void {
    this.sql.exec("DELETE FROM relay_webhooks WHERE seq <= ?", batch.last);
    this.size = Math.max(0, (this.size ?? 0) - batch.events.length);
  }

  private count(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM relay_webhooks").one().n;
  }

  private lose(reason: LossReason, events: number, now: number): void {
    this.sql.exec(
      `INSERT INTO relay_webhook_losses VALUES (?, ?, ?)
       ON CONFLICT (reason) DO UPDATE SET events = events + excluded.events, at = excluded.at`,
      reason,
      events,
      now,
    );
  }
}
