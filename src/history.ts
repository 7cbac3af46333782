/**
 * The room's durable log, in the Durable Object's SQLite storage: the epoch,
 * the last seq, recent broadcasts for resume, and recently seen message ids
 * for idempotent publish. Hibernation, eviction and restarts keep all of it.
 *
 * Writes are batched: a broadcast is relayed at once, and its row is written
 * with every other row of the same turn of the event loop, in one commit.
 * One commit per message cost more than everything else the room does
 * (bench/README.md). Acks wait for the commit (`whenStored`), so an
 * acknowledged message is always in the log. A crash between relay and
 * commit can lose a few unacknowledged rows; the seqs they had are then never
 * handed out again, and a resume across them reports `expired`, not silence.
 *
 * Nothing is written until the room is first used, so reading a room that
 * never existed (the server API) creates nothing.
 */
import type { Limits } from "./config";
import { warn } from "./log";
import type { ResumeFailure } from "./protocol";

export type Resume = { recovered: true } | { recovered: false; reason: ResumeFailure };
export type Stored = { seq: number; sender: string; frame: string };

type Row = Stored & { at: number };
type Seen = { scope: string; id: string; seq: number | null; at: number };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (epoch TEXT NOT NULL, seq INTEGER NOT NULL, reserved INTEGER);
  CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT NOT NULL, frame TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS seen (
    scope TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, at INTEGER NOT NULL,
    PRIMARY KEY (scope, id));
  CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
`;

/** Seqs a batch may use before it must commit; a crash skips at most this many. */
const BATCH_SEQS = 1000;
/** Expired rows are swept at most this often, off the per-message path. */
const SWEEP_MS = 1000;

export class RoomLog {
  private state: { epoch: string; seq: number } | undefined;
  /** Rows and ids written since the last commit, and who waits for it. */
  private batch:
    | { rows: Row[]; seen: Map<string, Seen>; reserved: number; waiting: (() => void)[] }
    | undefined;
  private lastSweep = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly limits: Limits,
  ) {
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'meta'").toArray().length;
    if (!exists) return;
    const meta = sql
      .exec<{ epoch: string; seq: number; reserved: number | null }>("SELECT * FROM meta")
      .one();
    this.state = { epoch: meta.epoch, seq: meta.seq };
    if (meta.reserved !== null) {
      // The last batch never committed: skip every seq it may have handed out.
      warn("history_lost", { from: meta.seq + 1, to: meta.reserved });
      this.state.seq = meta.reserved;
      sql.exec("UPDATE meta SET seq = ?, reserved = NULL", meta.reserved);
    }
  }

  /** The epoch, or null for a room that was never used. */
  get epoch(): string | null {
    return this.state?.epoch ?? null;
  }

  /** The last seq handed out, committed or not. */
  get seq(): number {
    return this.state?.seq ?? 0;
  }

  /** Makes the room durable: creates its epoch on first use. */
  open(): { epoch: string; seq: number } {
    if (!this.state) {
      this.sql.exec(SCHEMA);
      this.state = { epoch: crypto.randomUUID(), seq: 0 };
      this.sql.exec("INSERT INTO meta (epoch, seq) VALUES (?, 0)", this.state.epoch);
    }
    return this.state;
  }

  /** Hands out broadcast `seq` (always `this.seq + 1`) and keeps its frame for resumes. */
  append(seq: number, sender: string, frame: string, now: number): void {
    const state = this.open();
    const batch = seq > (this.batch?.reserved ?? 0) ? this.startBatch(seq) : this.current();
    state.seq = seq;
    if (this.limits.historySize > 0) batch.rows.push({ seq, sender, frame, at: now });
  }

  /** Decides whether a client that last saw `since` in `epoch` can catch up. */
  resume(since: number, epoch: string | undefined, now: number): Resume {
    const state = this.open();
    if (epoch !== state.epoch || since > state.seq) return failed("epoch_changed");
    if (since === state.seq) return { recovered: true };
    if (state.seq - since > this.limits.historySize) return failed("too_many");
    const first = this.page(since, 1, now)[0];
    if (first?.seq !== since + 1) return failed("expired");
    return { recovered: true };
  }

  /** Broadcasts after `after`, oldest first, inside the history window. */
  page(after: number, limit: number, now: number): Stored[] {
    if (!this.state || this.limits.historySize === 0) return [];
    const oldest = Math.max(after, this.seq - this.limits.historySize);
    const stored = this.sql
      .exec<Stored>(
        "SELECT seq, sender, frame FROM history WHERE seq > ? AND at >= ? ORDER BY seq LIMIT ?",
        oldest,
        this.horizon(now),
        limit,
      )
      .toArray();
    const pending = this.batch?.rows.filter((row) => row.seq > oldest) ?? [];
    return [...stored, ...pending.slice(0, limit - stored.length)];
  }

  /** The seq a message id was given when first seen (null for a direct). */
  seen(scope: string, id: string, now: number): { seq: number | null } | undefined {
    if (!this.state) return undefined;
    const pending = this.batch?.seen.get(key(scope, id));
    if (pending) return { seq: pending.seq };
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
    this.current().seen.set(key(scope, id), { scope, id, seq, at: now });
  }

  /** Runs `then` once everything written so far is committed. */
  whenStored(then: () => void): void {
    if (this.batch) this.batch.waiting.push(then);
    else then();
  }

  /** Commits the batch: its rows, its ids and the new seq, in one transaction. */
  private commit(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    const now = Date.now();
    this.sql.exec("UPDATE meta SET seq = ?, reserved = NULL", this.seq);
    for (const row of batch.rows) {
      this.sql.exec(
        "INSERT INTO history VALUES (?, ?, ?, ?)",
        row.seq,
        row.at,
        row.sender,
        row.frame,
      );
    }
    for (const seen of batch.seen.values()) {
      this.sql.exec(
        "INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?)",
        seen.scope,
        seen.id,
        seen.seq,
        seen.at,
      );
    }
    this.sql.exec("DELETE FROM history WHERE seq <= ?", this.seq - this.limits.historySize);
    this.sweep(now);
    for (const then of batch.waiting) then();
  }

  /** The open batch, or a new one that commits at the end of this turn. */
  private current(): NonNullable<RoomLog["batch"]> {
    return this.batch ?? this.startBatch(this.seq + 1);
  }

  /** Records, before relaying anything, which seqs the new batch may hand out. */
  private startBatch(firstSeq: number): NonNullable<RoomLog["batch"]> {
    this.commit();
    const reserved = firstSeq + BATCH_SEQS - 1;
    this.sql.exec("UPDATE meta SET reserved = ?", reserved);
    this.batch = { rows: [], seen: new Map(), reserved, waiting: [] };
    setTimeout(() => this.commit(), 0);
    return this.batch;
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

function key(scope: string, id: string): string {
  return `${scope}\n${id}`;
}

function failed(reason: ResumeFailure): Resume {
  return { recovered: false, reason };
}
