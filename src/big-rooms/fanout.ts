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
import { type Faults, Link } from "./link";
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
  /** Shards whose queue was dropped, and which batch (once built) tells them so. */
  private readonly lagged = new Map<number, number | undefined>();
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
    if (link.queued >= MAX_QUEUED) {
      // A shard this far behind cannot catch up from its queue: its sessions resume instead.
      link.discard();
      this.lagged.set(shard, undefined);
    }
    link.push(item);
  }

  private track(joiner: Joiner, shard: number, quiet: boolean, term?: Term): Remote {
    const member: Remote = {
      peer: joiner.peer,
      scope: joiner.scope,
      shard,
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
        call: (batch) => {
          if (this.lagged.has(shard) && this.lagged.get(shard) === undefined) {
            this.lagged.set(shard, batch.seq);
          }
          const lagged = this.lagged.has(shard) ? (true as const) : undefined;
          const room = this.room();
          return this.shard(shard).downlink({ room, shard, life: this.life, lagged, ...batch });
        },
        delivered: (batch) => {
          if (this.lagged.get(shard) === batch.seq) this.lagged.delete(shard);
        },
        // Its sessions lost what the batch carried; the next batch tells the shard so.
        lost: () => this.lagged.set(shard, undefined),
      });
      this.links.set(shard, link);
    }
    return link;
  }
}
