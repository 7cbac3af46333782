/**
 * What a backend asks of a room over RPC: the admin routes (src/admin.ts,
 * src/ending.ts) and `edge-relay/api` call these through the room's stub.
 * Kick and ban end sessions as the room ends them; publish routes a frame as
 * "server" exactly as a member's frame is routed, stored and acked.
 */
import type { Ban, Bans } from "../bans";
import { hubOf } from "../big-rooms/holders";
import { type KickTarget, kicks } from "../ending";
import type { RoomLog } from "../history";
import type { Message } from "../hooks";
import type { OutboxStatus } from "../observe/outbox";
import {
  CLOSE_CODES,
  type Peer,
  type ProtocolError,
  parseServerPublish,
  tryEncode,
  utf8Length,
} from "../protocol";
import type { Member } from "../roster";

/** What routing a frame did: a broadcast's seq, or a direct's delivery. */
export type Routed = { seq: number; duplicate?: true } | { delivered: true; duplicate?: true };

/** A peer as the server API hands it over; RPC's types cannot follow the recursive `Json`. */
type PeerView = Omit<Peer, "state"> & { state?: object | string | number | boolean | null };

/** A room as `describe()` tells it. */
export type RoomView = {
  connections: number;
  peers: PeerView[];
  seq: number;
  epoch: string | null;
  mode: "single" | "sharded";
  shards: { index: number; sessions: number }[];
  hubs: { index: number; sessions: number }[];
  webhooks?: OutboxStatus;
};

/** What the server API reads of the room, and the acts it asks of it. */
export type ApiSide = {
  log: RoomLog;
  bans: Bans;
  maxMessageBytes: number;
  members(): Iterable<Member>;
  end(member: Member, code: number, reason: string): void;
  route(from: string, scope: string, frame: Message): Routed | ProtocolError;
  /** Sessions per holder (shards and hubs, as src/big-rooms/holders.ts numbers them). */
  holders(): { index: number; sessions: number }[];
  /** Whether the room decided to shard, whether or not a shard holds anyone yet. */
  sharding(): boolean;
  webhooks(): OutboxStatus | undefined;
};

export class ServerApi {
  constructor(private readonly room: ApiSide) {}

  /**
   * Ends one session, or every session of a user, with `reason` (close code
   * 4410); the others see one leave for each. Answers how many ended.
   */
  async kick(target: KickTarget, reason: string): Promise<{ closed: number }> {
    const ending = [...this.room.members()].filter((m) => kicks(target, m.peer.id, m.peer.user));
    for (const member of ending) this.room.end(member, CLOSE_CODES.kicked, reason);
    await this.room.log.settled();
    return { closed: ending.length };
  }

  /** Keeps `user` out for `seconds` (stored, so restarts keep it) and ends their sessions now. */
  async ban(
    user: string,
    seconds: number,
    reason: string,
  ): Promise<{ until: number; closed: number }> {
    const until = this.room.bans.ban(user, seconds, reason, Date.now());
    const { closed } = await this.kick({ user }, reason || "banned");
    return { until, closed };
  }

  async unban(user: string): Promise<{ lifted: boolean }> {
    return { lifted: this.room.bans.lift(user) };
  }

  /** The bans in force. */
  async banned(): Promise<Ban[]> {
    return this.room.bans.list(Date.now());
  }

  /**
   * Publish, given the request body as it came: parsed here, because data
   * nested thousands deep overflows RPC's structured clone.
   */
  async publishBody(body: string): Promise<Routed | ProtocolError> {
    const parsed = parseServerPublish(body);
    if (!parsed.ok) return parsed.error;
    const { data, to, id } = parsed.body;
    return this.publish(
      to === undefined ? { type: "broadcast", data, id } : { type: "direct", to, data, id },
    );
  }

  /** Publishes as "server"; the relayed frame is measured like a client's frame. */
  async publish(frame: Message): Promise<Routed | ProtocolError> {
    const to = frame.type === "direct" ? frame.to : undefined;
    const seq = frame.type === "broadcast" ? this.room.log.next : undefined;
    const ts = Date.now();
    const probe = tryEncode({ type: "message", from: "server", to, data: frame.data, ts, seq });
    if (typeof probe !== "string") return probe;
    const bytes = utf8Length(probe);
    const max = this.room.maxMessageBytes;
    if (bytes > max)
      return { code: "too_large", message: `message is ${bytes} bytes; the limit is ${max}` };
    const routed = this.room.route("server", "server", frame);
    await this.room.log.settled();
    return routed;
  }

  /** Who is in the room, its log's position, and where its members' sockets are. */
  async describe(): Promise<RoomView> {
    const peers = [...this.room.members()].map((member) => member.peer);
    const holders = this.room.holders();
    const shards = holders.filter(({ index }) => hubOf(index) === undefined);
    const hubs = holders.flatMap(({ index, sessions }) => {
      const hub = hubOf(index);
      return hub === undefined ? [] : [{ index: hub, sessions }];
    });
    const { log } = this.room;
    return {
      connections: peers.length,
      peers,
      seq: log.seq,
      epoch: log.epoch,
      mode: this.room.sharding() || shards.length > 0 ? "sharded" : "single",
      shards,
      hubs,
      webhooks: this.room.webhooks(),
    };
  }

  /** Stored broadcasts after `since`, as frames, and where the next page starts. */
  async history(
    since: number,
    limit: number,
  ): Promise<{ messages: unknown[]; next: number | null }> {
    const { log } = this.room;
    const page = log.page(since, limit, Date.now());
    const last = page.at(-1)?.seq;
    const next = last !== undefined && last < log.seq ? last : null;
    return { messages: page.map((row) => JSON.parse(row.frame)), next };
  }
}
