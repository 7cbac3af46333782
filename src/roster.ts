/**
 * Who is in a room, wherever their sockets are (in the room object, or on
 * its shards): the members it announces one by one, at most `PRESENCE_MAX`
 * (later joiners are only counted, docs/protocol.md "Presence at scale"),
 * and how many sessions each client address holds, for the per-address cap.
 */
import type { Term } from "./expiry";
import type { Peer } from "./frames";
import type { InOrder } from "./hooks";

/** Anyone in the room, whether its socket is here or on a shard. */
export type Member = {
  peer: Peer;
  scope: string;
  address?: string;
  /** Not announced to the others: the room was past `PRESENCE_MAX` when it joined. */
  quiet?: true;
  /** When its token must be refreshed and when it ends; none without an expiry. */
  term?: Term;
  /** Keeps this member's frames in order while hooks are async. */
  order: InOrder;
  send(text: string): void;
};

export class Roster {
  private readonly announced = new Map<string, Member>();
  private readonly addresses = new Map<string, number>();

  constructor(private readonly presenceMax: number) {}

  /** True when a newcomer would not be announced: `PRESENCE_MAX` members already are. */
  get crowded(): boolean {
    return this.announced.size >= this.presenceMax;
  }

  /** How many members are announced one by one. */
  get announcedCount(): number {
    return this.announced.size;
  }

  /** The announced members, as a welcome lists them. */
  peers(): Peer[] {
    return [...this.announced.values()].map((member) => member.peer);
  }

  /** Sessions in this room from one client address. */
  from(address: string): number {
    return this.addresses.get(address) ?? 0;
  }

  /** Counts a member that is in the room, new or found again on waking. */
  arrived(member: Member): void {
    if (member.address !== undefined) this.count(member.address, 1);
    if (!member.quiet) this.announced.set(member.peer.id, member);
  }

  /** Stops counting a member that left. */
  left(member: Member): void {
    if (member.address !== undefined) this.count(member.address, -1);
    this.announced.delete(member.peer.id);
  }

  private count(address: string, change: number): void {
    const sessions = this.from(address) + change;
    if (sessions > 0) this.addresses.set(address, sessions);
    else this.addresses.delete(address);
  }
}
