/**
 * The room's half of the sessions that shards and hubs hold (src/big-rooms/,
 * src/hubs/). A holder's uplink brings its sessions' joins, frames, its own
 * answers and leaves; the room admits, hears and lets go of them as it does
 * its own sessions, and what it owes them (a welcome, a close) goes down the
 * holder's downlink once the log holds what came before.
 */
import type { Refusal } from "../auth";
import type { Fanout, Remote } from "../big-rooms/fanout";
import type { Joiner, LogRow, UpBatch, UpResult } from "../big-rooms/wire";
import { type Term, termOf } from "../expiry";
import type { RoomLog } from "../history";
import type { Member } from "../roster";

/** What the room lends its remote members: the same admission, welcome, hearing and farewell as its own. */
export type RoomSide = {
  admits(address: string | undefined, user: string | undefined): Refusal | undefined;
  /** Whether a newcomer now would join unannounced (past `PRESENCE_MAX`). */
  crowded(): boolean;
  /** Counts a member in, keeps its term's alarm, and tells the others. */
  arrived(member: Remote, term: Term | undefined): void;
  welcome(
    member: Member,
    batched: boolean,
    since: number | undefined,
    epoch: string | undefined,
  ): { text: string; seq: number; replayFrom?: number };
  /** A frame its holder parsed and let through its rate limit. */
  hear(sender: Member, text: string): void;
  deliver(member: Member, text: string): void;
  /** Tells the others it left, and runs the hook. */
  left(member: Member): void;
};

export class RemoteMembers {
  constructor(
    private readonly fanout: Fanout,
    private readonly log: RoomLog,
    private readonly room: RoomSide,
  ) {}

  /**
   * A holder's batch of what happened on it, in order: joins, frames, leaves.
   * Answered once the log has committed what the batch caused; the welcomes,
   * acks and relays themselves go down the holder's downlink, in the room's order.
   */
  receive(batch: UpBatch): Promise<UpResult> {
    return this.fanout.receive(batch, async ({ shard, life, seq, events }, lost, heard) => {
      // A retry reaching a restarted room: its frames and answers went out already; joins and leaves repeat safely.
      const again = !heard && this.log.tookBefore({ shard, life, seq });
      this.log.took({ shard, life, seq });
      for (const member of lost) this.depart(member.peer.id);
      const refused: Record<string, Refusal> = {};
      for (const event of events) {
        if (event.kind === "join") {
          const refusal = this.admit(event.joiner, shard);
          if (refusal) refused[event.joiner.peer.id] = refusal;
        } else if (event.kind === "leave") this.depart(event.id);
        else if (again) continue;
        else if (event.kind === "answer") this.answer(event.to, event.text);
        else if (event.kind === "frame") this.speak(event.from, event.text);
      }
      // After the commit that holds what this batch wrote, not every later one.
      await new Promise<void>((resolve) => this.log.whenStored(resolve));
      return { life: this.fanout.life, refused };
    });
  }

  /** Committed broadcasts after `after`, for a holder filling a gap or a resume. */
  page(after: number, limit: number): LogRow[] {
    return this.log.page(after, limit, Date.now());
  }

  /** Tells the member's holder to close it, and lets it go at once: what it sends meanwhile is ignored. */
  end(id: string, code: number, reason: string): void {
    const member = this.fanout.members.get(id);
    if (!member) return;
    const close = { kind: "close" as const, to: id, code, reason };
    this.log.whenStored(() => this.fanout.push(member.shard, close));
    this.depart(id);
  }

  private admit(joiner: Joiner, shard: number): Refusal | undefined {
    const known = this.fanout.members.get(joiner.peer.id);
    // A join retried after a restart of the room: its welcome may have been lost with the queue.
    if (known) {
      this.welcome(known, joiner);
      return undefined;
    }
    const refusal = this.room.admits(joiner.address, joiner.peer.user);
    if (refusal) return refusal;
    this.log.open();
    const term = termOf(joiner.expires, Date.now());
    const member = this.fanout.add(joiner, shard, this.room.crowded(), term);
    this.welcome(member, joiner);
    this.room.arrived(member, term);
  }

  /** Sends the member its welcome once the log holds what came before; its holder ignores a repeat. */
  private welcome(member: Remote, joiner: Joiner): void {
    this.log.whenStored(() => {
      const { since, epoch } = joiner;
      const welcome = this.room.welcome(member, joiner.batched === true, since, epoch);
      this.fanout.push(member.shard, { kind: "welcome", to: member.peer.id, ...welcome });
    });
  }

  private speak(from: string, text: string): void {
    const sender = this.fanout.members.get(from);
    if (sender) this.room.hear(sender, text);
  }

  /** A holder's own answer to a frame, kept in order behind the room's answers to earlier ones. */
  private answer(to: string, text: string): void {
    const member = this.fanout.members.get(to);
    if (member) member.order.run(() => this.room.deliver(member, text));
  }

  private depart(id: string): void {
    const member = this.fanout.remove(id);
    if (member) this.room.left(member);
  }
}
