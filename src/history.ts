/**
 * The room's durable log, in the Durable Object's SQLite storage: the epoch,
 * the last seq, recent broadcasts for resume, and recently seen message ids
 * for idempotent publish. Hibernation, eviction and restarts keep all of it.
 *
 * Nothing is written until the room is first used, so reading a room that
 * never existed (the server API) creates nothing.
 */
import type { Limits } from "./config";
import type { ResumeFailure } from "./protocol";

export type Resume = { recovered: true } | { recovered: false; reason: ResumeFailure };
export type Stored = { seq: number; sender: string; frame: string };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (epoch TEXT NOT NULL, seq INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT NOT NULL, frame TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS seen (
    scope TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, at INTEGER NOT NULL,
    PRIMARY KEY (scope, id));
  CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
`;

/** Expired rows are swept at most this often, off the per-message path. */
const SWEEP_MS = 1000;

export class RoomLog {
  private state: { epoch: string; seq: number } | undefined;
  private lastSweep = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly limits: Limits,
  ) {
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'meta'").toArray().length;
    if (exists) {
      this.state = sql.exec<{ epoch: string; seq: number }>("SELECT epoch, seq FROM meta").one();
    }
  }

  /** The epoch, or null for a room that was never used. */
  get epoch(): string | null {
    return this.state?.epoch ?? null;
  }

  get seq(): number {
    return this.state?.seq ?? 0;
  }

  /** Makes the room durable: creates its epoch on first use. */
  open(): { epoch: string; seq: number } {
    if (!this.state) {
      this.sql.exec(SCHEMA);
      this.state = { epoch: crypto.randomUUID(), seq: 0 };
      this.sql.exec("INSERT INTO meta (epoch, seq) VALUES (?, ?)", this.state.epoch, 0);
    }
    return this.state;
  }

  /** Records broadcast `seq` (always `this.seq + 1`) and keeps its frame for resumes. */
  append(seq: number, sender: string, frame: string, now: number): void {
    const state = this.open();
    this.sql.exec("UPDATE meta SET seq = ?", seq);
    state.seq = seq;
    if (this.limits.historySize > 0) {
      this.sql.exec("INSERT INTO history VALUES (?, ?, ?, ?)", seq, now, sender, frame);
      this.sql.exec("DELETE FROM history WHERE seq <= ?", seq - this.limits.historySize);
    }
    this.sweep(now);
  }

  /** Decides whether a client that last saw `since` in `epoch` can catch up. */
  resume(since: number, epoch: string | undefined, now: number): Resume {
    const state = this.open();
    if (epoch !== state.epoch || since > state.seq) return failed("epoch_changed");
    if (since === state.seq) return { recovered: true };
    if (state.seq - since > this.limits.historySize) return failed("too_many");
    const first = this.sql
      .exec<{ at: number }>("SELECT at FROM history WHERE seq = ?", since + 1)
      .toArray()[0];
    if (!first || first.at < this.horizon(now)) return failed("expired");
    return { recovered: true };
  }

  /** Stored broadcasts after `after`, oldest first, still inside the history window. */
  page(after: number, limit: number, now: number): Stored[] {
    if (!this.state || this.limits.historySize === 0) return [];
    return this.sql
      .exec<Stored>(
        "SELECT seq, sender, frame FROM history WHERE seq > ? AND at >= ? ORDER BY seq LIMIT ?",
        after,
        this.horizon(now),
        limit,
      )
      .toArray();
  }

  /** The seq a message id was given when first seen (null for a direct). */
  seen(scope: string, id: string, now: number): { seq: number | null } | undefined {
    if (!this.state) return undefined;
    return this.sql
      .exec<{ seq: number | null }>(
        "SELECT seq FROM seen WHERE scope = ? AND id = ? AND at >= ?",
        scope,
        id,
        now - this.limits.dedupSeconds * 1000,
      )
      .toArray()[0];
  }

  remember(scope: string, id: string, seq: number | null, now: number): void {
    this.open();
    this.sql.exec("INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?)", scope, id, seq, now);
    this.sweep(now);
  }

  private horizon(now: number): number {
    return now - this.limits.historyTtlSeconds * 1000;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = now;
    this.sql.exec("DELETE FROM history WHERE at < ?", this.horizon(now));
    this.sql.exec("DELETE FROM seen WHERE at < ?", now - this.limits.dedupSeconds * 1000);
  }
}

function failed(reason: ResumeFailure): Resume {
  return { recovered: false, reason };
}
