/**
 * The room's side of its remote sessions, on shards and hubs alike (both are
 * "shards" here, numbered as holders.ts says): who is in the room through which holder (kept
 * in the room's SQLite, so an evicted room wakes knowing its members), one
 * downlink per shard, and the bookkeeping that makes a shard's retried or
 * doubled uplink calls act once.
 */
import type { Term } from "../expiry";
import type { Peer } from "../frames";
import { InOrder } from "../hooks";
import { type Batch, type Faults, Link } from "./link";
import type { Down, DownBatch, Joiner, UpBatch, UpResult } from "./wire";

/** A member whose socket is on a shard; the room reaches it through that shard's downlink. */
export type Remote = {
  peer: Peer;
  scope: string;
  shard: number;
  address?: string;
  /** Not announced to the others: the room was past `PRESENCE_MAX` when it joined. */
  quiet?: true;
  /** When its token must be refreshed and when it ends (src/expiry.ts). */
  term?: Term;
  /** The first downlink batch that may carry its items: a batch lost before it cost it nothing. */
  downFrom: number;
  order: InOrder;
  send(text: string): void;
};

type Row = {
  id: string;
  shard: number;
  scope: string;
  peer: string;
  address: string | null;
  quiet: number;
  /** The member's term as JSON, or null without an expiry. */
  term: string | null;
};

const SCHEMA = `CREATE TABLE IF NOT EXISTS relay_members (
  id TEXT PRIMARY KEY, shard INTEGER NOT NULL, scope TEXT NOT NULL, peer TEXT NOT NULL,
  address TEXT, quiet INTEGER NOT NULL, term TEXT)`;

/** Items a downlink may queue for a shard that does not answer before it is told to start over. */
const MAX_QUEUED = 50_000;

export type ShardStub = { downlink(batch: DownBatch): Promise<void> };

export class Fanout {
  /** Which life of the room this is; a shard that sees it change knows queued items may be lost. */
  readonly life = crypto.randomUUID();
  readonly members = new Map<string, Remote>();
  private readonly perShard = new Map<number, number>();
  private readonly links = new Map<number, Link<Down, void>>();
  /**
   * Sessions of a shard that could not even be told of a loss: named ahead
   * of the next item pushed, not retried on their own, so an unreachable
   * shard costs the room one more batch, not a call every second forever.
   */
  private readonly owed = new Map<number, string[]>();
  /** The last uplink batch of each shard, answered again when it is repeated. */
  private readonly ups = new Map<
    number,
    { life: string; seq: number; result: Promise<UpResult> }
  >();
  private created = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly shard: (index: number) => ShardStub,
    private readonly faults: Faults | undefined,
    /** When a turn's items are all queued: the room's turn ends after its log's commit. */
    private readonly schedule: (run: () => void) => void,
    /** The room's name, which every downlink batch carries. */
    private readonly room: () => string,
  ) {
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_members'").toArray();
    if (exists.length === 0) return;
    this.created = true;
    // Tables made before terms existed get the column once.
    const columns = sql.exec(
      "SELECT 1 FROM pragma_table_info('relay_members') WHERE name = 'term'",
    );
    if (columns.toArray().length === 0) sql.exec("ALTER TABLE relay_members ADD COLUMN term TEXT");
    for (const row of sql.exec<Row>("SELECT * FROM relay_members")) {
      const joiner: Joiner = { peer: JSON.parse(row.peer) as Peer, scope: row.scope };
      if (row.address !== null) joiner.address = row.address;
      const term = row.term === null ? undefined : (JSON.parse(row.term) as Term);
      this.track(joiner, row.shard, row.quiet === 1, term);
    }
  }

  /** How many sessions each shard holds, by index. */
  get shards(): { index: number; sessions: number }[] {
    return [...this.perShard].map(([index, sessions]) => ({ index, sessions }));
  }

  /**
   * Takes a shard's uplink batch once: a repeat gets the first answer. A new
   * life of the shard that says what it holds ends the sessions it lost.
   * `act` learns whether this life of the room has heard from the shard: if
   * not, the batch may be a retry of one taken before a restart.
   */
  receive(
    batch: UpBatch,
    act: (batch: UpBatch, lost: Remote[], heard: boolean) => Promise<UpResult>,
  ): Promise<UpResult> {
    const last = this.ups.get(batch.shard);
    if (last && last.life === batch.life && batch.seq <= last.seq) return last.result;
    const held = batch.holds && new Set(batch.holds);
    const lost = held
      ? [...this.members.values()].filter((m) => m.shard === batch.shard && !held.has(m.peer.id))
      : [];
    const result = act(batch, lost, last !== undefined);
    this.ups.set(batch.shard, { life: batch.life, seq: batch.seq, result });
    return result;
  }

  add(joiner: Joiner, shard: number, quiet: boolean, term?: Term): Remote {
    if (!this.created) this.sql.exec(SCHEMA);
    this.created = true;
    this.sql.exec(
      "INSERT OR REPLACE INTO relay_members (id, shard, scope, peer, address, quiet, term) VALUES (?, ?, ?, ?, ?, ?, ?)",
      joiner.peer.id,
      shard,
      joiner.scope,
      JSON.stringify(joiner.peer),
      joiner.address ?? null,
      quiet ? 1 : 0,
      term ? JSON.stringify(term) : null,
    );
    return this.track(joiner, shard, quiet, term);
  }

  /** Keeps a member's new presence state and term where an eviction cannot lose them. */
  update(member: Remote): void {
    const peer = JSON.stringify(member.peer);
    const term = member.term ? JSON.stringify(member.term) : null;
    this.sql.exec(
      "UPDATE relay_members SET peer = ?, term = ? WHERE id = ?",
      peer,
      term,
      member.peer.id,
    );
  }

  remove(id: string): Remote | undefined {
    const member = this.members.get(id);
    if (!member) return undefined;
    this.members.delete(id);
    const left = (this.perShard.get(member.shard) ?? 1) - 1;
    if (left > 0) this.perShard.set(member.shard, left);
    else this.perShard.delete(member.shard);
    this.sql.exec("DELETE FROM relay_members WHERE id = ?", id);
    return member;
  }

  /** A broadcast, for every shard that holds someone. */
  broadcast(seq: number, from: string, text: string): void {
    const row = { seq, sender: from, frame: text };
    for (const shard of this.perShard.keys()) this.push(shard, { kind: "broadcast", row });
  }

  /** A notice for every session but `except`. */
  all(text: string, except?: string): void {
    for (const shard of this.perShard.keys()) this.push(shard, { kind: "all", text, except });
  }

  push(shard: number, item: Down): void {
    const link = this.link(shard);
    const owed = this.owed.get(shard);
    if (owed) {
      this.owed.delete(shard);
      link.first(this.lost(shard, owed));
    }
    if (link.queued >= MAX_QUEUED) {
      // A shard this far behind cannot catch up from its queue: its sessions resume instead.
      link.discard();
      link.first(this.lost(shard, this.joinedBy(shard, link.built + 1)));
    }
    link.push(item);
  }

  /**
   * The sessions on `shard` whose items batch `seq` (or an earlier one) may
   * have carried. One that joined later lost nothing, so a new life of a
   * holder is never closed for what its old life missed.
   */
  private joinedBy(shard: number, seq: number): string[] {
    const ids: string[] = [];
    for (const m of this.members.values()) {
      if (m.shard === shard && m.downFrom <= seq) ids.push(m.peer.id);
    }
    return ids;
  }

  /** The notice that leads a batch: which of `ids` lost items, among those still on `shard`. */
  private lost(shard: number, ids: string[]): Down {
    return { kind: "lost", ids: ids.filter((id) => this.members.get(id)?.shard === shard) };
  }

  /** Its sessions lost what the batch carried: the next batch tells the shard so, first. */
  private gaveUp(shard: number, batch: Batch<Down>): void {
    const link = this.link(shard);
    const notices = batch.items.flatMap((item) => (item.kind === "lost" ? [item] : []));
    if (notices.length < batch.items.length) {
      link.first(this.lost(shard, this.joinedBy(shard, batch.seq)));
      return;
    }
    // Only the notice was lost: say it again with what comes next, or now if something waits.
    const ids = [...new Set(notices.flatMap((notice) => notice.ids))];
    if (link.queued > 0) link.first(this.lost(shard, ids));
    else this.owed.set(shard, ids);
  }

  private track(joiner: Joiner, shard: number, quiet: boolean, term?: Term): Remote {
    const member: Remote = {
      peer: joiner.peer,
      scope: joiner.scope,
      shard,
      downFrom: (this.links.get(shard)?.built ?? 0) + 1,
      order: new InOrder(),
      send: (text) => this.push(shard, { kind: "to", to: joiner.peer.id, text }),
    };
    if (joiner.address !== undefined) member.address = joiner.address;
    if (quiet) member.quiet = true;
    if (term) member.term = term;
    this.members.set(joiner.peer.id, member);
    this.perShard.set(shard, (this.perShard.get(shard) ?? 0) + 1);
    return member;
  }

  private link(shard: number): Link<Down, void> {
    let link = this.links.get(shard);
    if (!link) {
      link = new Link<Down, void>({
        name: `down-${shard}`,
        faults: this.faults,
        schedule: this.schedule,
        call: (batch) =>
          this.shard(shard).downlink({ room: this.room(), shard, life: this.life, ...batch }),
        delivered: () => {},
        lost: (batch) => this.gaveUp(shard, batch),
      });
      this.links.set(shard, link);
    }
    return link;
  }
}
