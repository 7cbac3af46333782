/**
 * The room's durable log, in the Durable Object's SQLite storage: the epoch,
 * the last seq, recent broadcasts for resume, and recently seen message ids
 * for idempotent publish. Hibernation, eviction and restarts keep all of it.
 *
 * Writes are group-committed: every broadcast and id of one turn of the event
 * loop is written in one commit at the end of the turn, and nothing caused by
 * them (relays, acks, notices) leaves the room before that commit
 * (`whenStored`). A commit per message cost more than everything else the
 * room does (bench/README.md). So no client ever sees a seq that is not
 * stored, and a crash before a commit loses only frames nobody was told of.
 *
 * Nothing is written until the room is first used, so reading a room that
 * never existed (the server API) creates nothing.
 */
import type { Limits } from "./config";
import type { ResumeFailure } from "./frames";
import { moveUnderPrefix } from "./tables";

export type Resume = { recovered: true } | { recovered: false; reason: ResumeFailure };
export type Stored = { seq: number; sender: string; frame: string };

type Row = Stored & { at: number };
type Seen = { scope: string; id: string; seq: number | null; at: number };

const SEEN_INDEX = "CREATE INDEX IF NOT EXISTS relay_seen_at ON relay_seen (at);";
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS relay_meta (epoch TEXT NOT NULL, seq INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS relay_history (
    seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT NOT NULL, frame TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS relay_seen (
    scope TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, at INTEGER NOT NULL,
    PRIMARY KEY (scope, id));
  ${SEEN_INDEX}
`;
/** The last uplink batch of each shard the log holds what it caused of (src/big-rooms/). */
const LINKS = `CREATE TABLE IF NOT EXISTS relay_links (
  shard INTEGER PRIMARY KEY, life TEXT NOT NULL, seq INTEGER NOT NULL)`;

/** A shard's uplink batch, by the shard's life and the batch's number. */
export type Link = { shard: number; life: string; seq: number };

/** The names rooms created before the `relay_` prefix have (src/tables.ts). */
const UNPREFIXED = { meta: "relay_meta", history: "relay_history", seen: "relay_seen" };

/** Expired rows are swept at most this often, off the per-message path. */
const SWEEP_MS = 1000;

export class RoomLog {
  /** What storage holds: the last committed seq. */
  private state: { epoch: string; seq: number } | undefined;
  /** Written this turn, not yet committed, and who waits for the commit. */
  private batch:
    | {
        seq: number;
        rows: Row[];
        seen: Map<string, Seen>;
        links: Map<number, Link>;
        waiting: (() => void)[];
      }
    | undefined;
  private lastSweep = 0;
  /** Whether `relay_links` exists; only rooms with shards have it. */
  private linked: boolean;

  constructor(
    private readonly sql: SqlStorage,
    private readonly limits: Limits,
  ) {
    if (moveUnderPrefix(sql, UNPREFIXED)) sql.exec(`DROP INDEX IF EXISTS seen_at; ${SEEN_INDEX}`);
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_meta'").toArray();
    this.linked =
      sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_links'").toArray().length > 0;
    if (exists.length > 0) {
      this.state = sql
        .exec<{ epoch: string; seq: number }>("SELECT epoch, seq FROM relay_meta")
        .one();
    }
  }

  /** The epoch, or null for a room that was never used. */
  get epoch(): string | null {
    return this.state?.epoch ?? null;
  }

  /** The last committed seq: the one clients may know of. */
  get seq(): number {
    return this.state?.seq ?? 0;
  }

  /** The seq the next broadcast gets. */
  get next(): number {
    return (this.batch?.seq ?? this.seq) + 1;
  }

  /** Makes the room durable: creates its epoch on first use. */
  open(): { epoch: string; seq: number } {
    if (!this.state) {
      this.sql.exec(SCHEMA);
      this.state = { epoch: crypto.randomUUID(), seq: 0 };
      this.sql.exec("INSERT INTO relay_meta (epoch, seq) VALUES (?, 0)", this.state.epoch);
    }
    return this.state;
  }

  /** Takes broadcast `seq` (always `this.next`) and keeps its frame for resumes. */
  append(seq: number, sender: string, frame: string, now: number): void {
    this.open();
    const batch = this.current();
    batch.seq = seq;
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

  /** Committed broadcasts after `after`, oldest first, inside the history window. */
  page(after: number, limit: number, now: number): Stored[] {
    if (!this.state || this.limits.historySize === 0) return [];
    return this.sql
      .exec<Stored>(
        "SELECT seq, sender, frame FROM relay_history WHERE seq > ? AND at >= ? ORDER BY seq LIMIT ?",
        Math.max(after, this.seq - this.limits.historySize),
        this.horizon(now),
        limit,
      )
      .toArray();
  }

  /** The seq a message id was given when first seen (null for a direct). */
  seen(scope: string, id: string, now: number): { seq: number | null } | undefined {
    if (!this.state) return undefined;
    const pending = this.batch?.seen.get(key(scope, id));
    if (pending) return { seq: pending.seq };
    return this.sql
      .exec<{ seq: number | null }>(
        "SELECT seq FROM relay_seen WHERE scope = ? AND id = ? AND at >= ?",
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

  /** Runs `then` once everything written so far is committed, in call order. */
  whenStored(then: () => void): void {
    if (this.batch) this.batch.waiting.push(then);
    else then();
  }

  /**
   * Records a shard's uplink batch as acted on, in the same commit as what it
   * wrote, so a retry that reaches the room after a restart can be told.
   */
  took(link: Link): void {
    this.open();
    this.current().links.set(link.shard, link);
  }

  /** Whether this batch of a shard (or a later one) was acted on and committed. */
  tookBefore(link: Link): boolean {
    if (!this.linked) return false;
    const stored = this.sql
      .exec<Link>("SELECT shard, life, seq FROM relay_links WHERE shard = ?", link.shard)
      .toArray()[0];
    return stored?.life === link.life && link.seq <= stored.seq;
  }

  /** Resolves when nothing is waiting to be committed. */
  async settled(): Promise<void> {
    while (this.batch) await new Promise<void>((resolve) => this.whenStored(resolve));
  }

  /** The open batch, or a new one that commits at the end of this turn. */
  private current(): NonNullable<RoomLog["batch"]> {
    if (!this.batch) {
      this.batch = { seq: this.seq, rows: [], seen: new Map(), links: new Map(), waiting: [] };
      setTimeout(() => this.commit(), 0);
    }
    return this.batch;
  }

  /** Writes the batch's rows, ids and seq, then lets out what waited for them. */
  private commit(): void {
    const batch = this.batch;
    const state = this.state;
    if (!batch || !state) return;
    this.batch = undefined;
    const now = Date.now();
    state.seq = batch.seq;
    this.sql.exec("UPDATE relay_meta SET seq = ?", batch.seq);
    for (const row of batch.rows) {
      this.sql.exec(
        "INSERT INTO relay_history VALUES (?, ?, ?, ?)",
        row.seq,
        row.at,
        row.sender,
        row.frame,
      );
    }
    for (const seen of batch.seen.values()) {
      this.sql.exec(
        "INSERT OR REPLACE INTO relay_seen VALUES (?, ?, ?, ?)",
        seen.scope,
        seen.id,
        seen.seq,
        seen.at,
      );
    }
    if (batch.links.size > 0 && !this.linked) {
      this.sql.exec(LINKS);
      this.linked = true;
    }
    for (const { shard, life, seq } of batch.links.values()) {
      this.sql.exec("INSERT OR REPLACE INTO relay_links VALUES (?, ?, ?)", shard, life, seq);
    }
    this.sql.exec("DELETE FROM relay_history WHERE seq <= ?", batch.seq - this.limits.historySize);
    this.sweep(now);
    for (const then of batch.waiting) then();
  }

  private horizon(now: number): number {
    return now - this.limits.historyTtlSeconds * 1000;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = now;
    this.sql.exec("DELETE FROM relay_history WHERE at < ?", this.horizon(now));
    this.sql.exec("DELETE FROM relay_seen WHERE at < ?", now - this.limits.dedupSeconds * 1000);
  }
}

function key(scope: string, id: string): string {
  return `${scope}\n${id}`;
}

function failed(reason: ResumeFailure): Resume {
  return { recovered: false, reason };
}
