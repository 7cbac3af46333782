/**
 * A hub: connections that each carry many rooms over one WebSocket
 * (`GET /ws`, docs/multiplex.md). For each room its connections subscribe
 * to, the hub keeps one holding (src/big-rooms/holding.ts), the same
 * remote-session mechanism a big room's shards use: the room sees the hub
 * as one more holder of some of its sessions, with one downlink, so a
 * broadcast costs one call per hub rather than one per member, and each
 * room's guarantees (one order, acks, resume exactly once) stay the room's.
 * Here frames are parsed, rate-limited per connection and named by room;
 * subscriptions live in the socket's attachment, so the hub hibernates.
 */
import { DurableObject } from "cloudflare:workers";
import { holderOf, hubHolder, parseHubName } from "../big-rooms/holders";
import { type Held, Holding, type RoomStub } from "../big-rooms/holding";
import { Faults } from "../big-rooms/link";
import type { DownBatch } from "../big-rooms/wire";
import { type HubLimits, type Limits, read, readHubLimits, readLimits } from "../config";
import { helloFrom, offers, scopeOf } from "../hello";
import { InOrder } from "../hooks";
import { answerClose, closeQuietly, Outlet, Turn } from "../outlet";
import {
  type FrameErrorCode,
  NDJSON_PROTOCOL,
  type ProtocolError,
  parseHubFrames,
  type SubscribeFrame,
  utf8Length,
} from "../protocol";
import { RateLimiter } from "../rate-limit";
import { Channel } from "./channel";
import { grant } from "./grants";

/** One room a connection is in: its session's id there, and who the room's grant made it. */
type Subscription = { room: string; id: string; user?: string; name?: string };

/** Who the connection is and its rooms, kept in its socket's attachment through hibernation. */
type Attachment = {
  name: string;
  client?: string;
  address?: string;
  origin?: string;
  batched?: true;
  subs: Subscription[];
  /** This hub's number, kept by a hub without a name, for a life that a sleeping socket's frame wakes. */
  holder?: number;
};

type Connection = {
  ws: WebSocket;
  outlet: Outlet;
  limiter: RateLimiter;
  attachment: Attachment;
  /** Its rooms: a member once granted, "pending" while `authorize` decides. */
  rooms: Map<string, Member | "pending">;
  /** Its frames, handled in the order sent while a subscribe waits for `authorize`. */
  order: InOrder;
};

/** A connection's session in one room. */
type Member = Held & { room: string; connection: Connection };

/** A subscribe's grant: who the room's `authorize` made the session, or why it refused. */
type Granted = Awaited<ReturnType<typeof grant>>;

/** An error for a connection, naming the room it concerns. */
type Refused = ProtocolError & { room?: string };

/** The attachment holds 16 KiB; what a connection's subscriptions may fill of it. */
const MAX_ATTACHMENT_BYTES = 15 * 1024;

/**
 * The hub class. Bind it as `HUBS` next to your room; a room whose binding
 * is not `ROOMS` names it in a subclass.
 *
 * @example
 * export class ChatHub extends Hub<Env> {
 *   static rooms = (env: Env) => env.CHAT;
 * }
 */
export class Hub<E extends object = Cloudflare.Env> extends DurableObject<E> {
  /** The namespace of the rooms this hub's connections subscribe to. */
  static rooms: (env: never) => unknown = (env: object) => read(env, "ROOMS");

  private readonly connections = new WeakMap<WebSocket, Connection>();
  private readonly departed = new WeakSet<WebSocket>();
  private readonly holdings = new Map<string, Holding>();
  private readonly limits: Limits;
  private readonly hubLimits: HubLimits;
  private readonly faults: Faults | undefined;
  private readonly turn = new Turn();
  /** From the hub's name, else from its upgrades, downlinks and sockets (a hub reached by ID alone has none). */
  private holder: number;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    this.limits = readLimits(env);
    this.hubLimits = readHubLimits(env);
    this.faults = Faults.parse(read(env, "LINK_FAULTS"));
    this.holder = hubHolder(parseHubName(ctx.id.name));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    for (const ws of ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const connection = this.remember(ws, ws.deserializeAttachment() as Attachment);
      this.locate(connection.attachment.holder);
      // Every subscription that hibernated was welcomed: a hub is idle only when its streams are.
      for (const sub of connection.attachment.subs) {
        this.holding(sub.room).adopt(this.member(connection, sub));
      }
    }
  }

  // ---- a connection opens ------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    this.locate(holderOf(request, this.ctx.id));
    const hello = helloFrom(new URL(request.url));
    const batched = offers(request, NDJSON_PROTOCOL);
    const { 0: client, 1: server } = new WebSocketPair();
    const attachment: Attachment = { name: hello.name, subs: [] };
    if (hello.client !== undefined) attachment.client = hello.client;
    if (hello.address !== undefined) attachment.address = hello.address;
    const origin = request.headers.get("origin");
    if (origin !== null) attachment.origin = origin;
    if (batched) attachment.batched = true;
    if (this.ctx.id.name === undefined) attachment.holder = this.holder;
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(attachment);
    this.remember(server, attachment);
    const headers = batched ? { "Sec-WebSocket-Protocol": NDJSON_PROTOCOL } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  // ---- a connection speaks ---------------------------------------------------

  async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const connection = this.connections.get(ws);
    if (!connection) return;
    const max = this.limits.maxMessageBytes;
    for (const parsed of parseHubFrames(raw, max, connection.outlet.batched)) {
      if (!parsed.ok) {
        connection.order.run(() => this.refuse(connection, parsed.error));
        continue;
      }
      const { frame, text } = parsed;
      const id = "id" in frame ? frame.id : undefined;
      // One budget for the connection, across all its rooms.
      const verdict = connection.limiter.take(Date.now());
      if (verdict === "flooding")
        return this.close(connection, 1008, "flooding over the rate limit");
      if (verdict === "limited") {
        const error = { code: "rate_limited" as const, message: "over the rate limit", id };
        connection.order.run(() => this.refuse(connection, { ...error, room: frame.room }));
        continue;
      }
      // Each new room's `authorize` starts now, so one frame's subscribes are decided side by side.
      const asks = frame.type === "subscribe" && !connection.rooms.has(frame.room);
      const granted = asks ? this.ask(connection, frame) : undefined;
      connection.order.run(() => {
        if (frame.type === "subscribe") return this.subscribe(connection, frame, granted);
        if (frame.type === "unsubscribe") return this.unsubscribe(connection, frame.room);
        this.speak(connection, frame.room, text, id);
      });
    }
  }

  /**
   * Joins a room once `authorize` grants it: the room's welcome (through the
   * room's downlink) or an error answers. Later frames wait for the room's
   * answer: letting them go first saved little time and raised the hub's
   * memory (bench/README.md, "Many rooms on one connection").
   */
  private async subscribe(
    connection: Connection,
    frame: SubscribeFrame,
    granted: Promise<Granted> | undefined,
  ): Promise<void> {
    const { room } = frame;
    const { rooms } = connection;
    if (rooms.has(room)) return;
    const max = this.hubLimits.roomsPerConnection;
    if (rooms.size >= max) {
      const message = `a connection holds at most ${max} rooms; unsubscribe from one first`;
      return this.refuse(connection, { room, code: "too_many_rooms", message });
    }
    rooms.set(room, "pending");
    const identity = await (granted ?? this.ask(connection, frame));
    // Unsubscribed or closed while `authorize` decided.
    if (rooms.get(room) !== "pending" || this.departed.has(connection.ws)) return;
    if (identity && "code" in identity) {
      rooms.delete(room);
      return this.refuse(connection, { room, ...identity });
    }
    // Read after the grant: a room may have ended meanwhile and changed the attachment.
    const { attachment } = connection;
    const sub: Subscription = { room, id: crypto.randomUUID() };
    if (identity) sub.user = identity.user;
    if (identity?.name !== undefined && identity.name !== attachment.name) sub.name = identity.name;
    if (!this.save(connection, [...attachment.subs, sub])) {
      rooms.delete(room);
      const message = "this connection's rooms fill what it can keep; unsubscribe from one first";
      return this.refuse(connection, { room, code: "too_many_rooms", message });
    }
    const member = this.member(connection, sub);
    const refusal = await this.holding(room).join(member, {
      // A known user is accountable; only anonymous sessions count per address.
      ...(sub.user === undefined &&
        attachment.address !== undefined && {
          address: attachment.address,
        }),
      ...(identity?.expires !== undefined && { expires: identity.expires }),
      ...(attachment.batched && { batched: true as const }),
      ...(frame.since !== undefined && { since: frame.since }),
      ...(frame.epoch !== undefined && { epoch: frame.epoch }),
    });
    if (!refusal || rooms.get(room) !== member) return;
    this.part(member, false);
    // A room refuses a join only with codes that frames share (banned, room_full, …).
    const code = refusal.code as FrameErrorCode;
    this.refuse(connection, { room, code, message: refusal.message });
  }

  /** What the room's `authorize` (or the built-in JWT check) makes of a subscribe. */
  private ask(connection: Connection, frame: SubscribeFrame): Promise<Granted> {
    const { name, client, origin } = connection.attachment;
    const asking = { room: frame.room, token: frame.token, name, client, origin };
    return grant(this.env, (this.constructor as typeof Hub).rooms, asking);
  }

  private unsubscribe(connection: Connection, room: string): void {
    const member = connection.rooms.get(room);
    if (member === undefined) {
      this.notSubscribed(connection, room);
      return;
    }
    if (member === "pending") connection.rooms.delete(room);
    else this.part(member, true);
    this.ended(connection, room, 1000, "unsubscribed");
  }

  /** A room frame: up to its room, which orders, acks and relays it. */
  private speak(connection: Connection, room: string, text: string, id?: string): void {
    const member = connection.rooms.get(room);
    if (member === undefined || member === "pending") {
      this.notSubscribed(connection, room, id);
      return;
    }
    this.holding(room).speak(member, text);
  }

  private notSubscribed(connection: Connection, room: string, id?: string): void {
    const message = `this connection is not subscribed to ${room}`;
    this.refuse(connection, { room, code: "not_subscribed", message, id });
  }

  /**
   * Answers a frame with an error. One for a room the connection is in goes
   * down through the room, in its place among the room's answers.
   */
  private refuse(connection: Connection, { room, ...error }: Refused): void {
    const member = room === undefined ? undefined : connection.rooms.get(room);
    if (member !== undefined && member !== "pending") {
      this.holding(member.room).reject(member, error);
      return;
    }
    const named = room === undefined ? {} : { room };
    connection.outlet.send(JSON.stringify({ ...named, type: "error", ...error }));
  }

  /** Tells the connection that one of its rooms ended; the socket and its other rooms go on. */
  private ended(connection: Connection, room: string, code: number, reason: string): void {
    connection.outlet.send(JSON.stringify({ type: "unsubscribed", room, code, reason }));
  }

  // ---- the rooms' streams ------------------------------------------------

  /** A room's downlink: everything this hub's members of it receive, in the room's order. */
  async downlink(batch: DownBatch): Promise<void> {
    this.locate(batch.shard);
    return this.holding(batch.room).downlink(batch);
  }

  /** Takes this hub's holder number from an upgrade or a downlink that says it, for every room. */
  private locate(holder: number | undefined): void {
    if (holder === undefined || holder === this.holder) return;
    this.holder = holder;
    for (const [room, holding] of this.holdings) holding.locate(room, holder);
  }

  /** How many connections this hub holds and how many rooms each is in, for the console. */
  async describe(): Promise<{ connections: number; rooms: number; perConnection: number[] }> {
    const perConnection = this.ctx
      .getWebSockets()
      .map((ws) => this.connections.get(ws)?.rooms.size ?? 0);
    // A holding outlives its last session (it keeps the room's order): count rooms with members.
    const rooms = [...this.holdings.values()].filter((holding) => holding.sessions.size > 0).length;
    return { connections: perConnection.length, rooms, perConnection };
  }

  /** The holding of `room`: this hub's members of it and the link pair to it. */
  private holding(room: string): Holding {
    let holding = this.holdings.get(room);
    if (!holding) {
      holding = new Holding({
        room,
        holder: this.holder,
        historySize: this.limits.historySize,
        faults: this.faults,
        stub: (name) => this.roomStub(name),
        drop: (held, code, reason) => {
          const member = held as Member;
          if (member.connection.rooms.get(room) !== member) return;
          this.part(member, true);
          this.ended(member.connection, room, code, reason);
        },
      });
      this.holdings.set(room, holding);
    }
    return holding;
  }

  // ---- a connection leaves -------------------------------------------------

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const outlet = this.connections.get(ws)?.outlet;
    this.leave(ws);
    answerClose(ws, outlet, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  private close(connection: Connection, code: number, reason: string): void {
    this.leave(connection.ws);
    connection.outlet.flush();
    closeQuietly(connection.ws, code, reason);
  }

  /** Each of the connection's rooms is told once that its session left. */
  private leave(ws: WebSocket): void {
    if (this.departed.has(ws)) return;
    this.departed.add(ws);
    // A socket that closed while the hub slept was never remembered: its attachment says where it was.
    const subs =
      this.connections.get(ws)?.attachment.subs ??
      (ws.deserializeAttachment() as Attachment | null)?.subs ??
      [];
    for (const sub of subs) this.holding(sub.room).leave(sub.id);
    this.connections.delete(ws);
  }

  /** Takes a member out of its connection; `told` when the room must hear that it left. */
  private part(member: Member, told: boolean): void {
    const { connection, room } = member;
    connection.rooms.delete(room);
    const subs = connection.attachment.subs.filter((sub) => sub.id !== member.peer.id);
    this.save(connection, subs);
    if (told) this.holding(room).leave(member.peer.id);
    else this.holding(room).forget(member.peer.id);
  }

  // ---- plumbing ------------------------------------------------------------

  private remember(ws: WebSocket, attachment: Attachment): Connection {
    const limiter = new RateLimiter(this.limits.ratePerSecond, this.limits.rateBurst, Date.now());
    const outlet = new Outlet(ws, attachment.batched === true, this.turn);
    const connection: Connection = {
      ws,
      outlet,
      limiter,
      attachment,
      rooms: new Map(),
      order: new InOrder(),
    };
    this.connections.set(ws, connection);
    return connection;
  }

  private member(connection: Connection, sub: Subscription): Member {
    const { name, client } = connection.attachment;
    const peer = { id: sub.id, name: sub.name ?? name, user: sub.user };
    const scope = scopeOf({ room: sub.room, name, user: sub.user, client }, sub.id);
    const outlet = new Channel(connection.outlet, sub.room);
    const member: Member = { peer, scope, outlet, welcomed: false, room: sub.room, connection };
    connection.rooms.set(sub.room, member);
    return member;
  }

  /** Keeps a connection's subscriptions in its attachment; false when they would not fit. */
  private save(connection: Connection, subs: Subscription[]): boolean {
    const attachment = { ...connection.attachment, subs };
    if (utf8Length(JSON.stringify(attachment)) > MAX_ATTACHMENT_BYTES) return false;
    connection.ws.serializeAttachment(attachment);
    connection.attachment = attachment;
    return true;
  }

  private roomStub(room: string): RoomStub {
    const rooms = (this.constructor as typeof Hub).rooms as (env: E) => DurableObjectNamespace;
    return rooms(this.env).getByName(room) as unknown as RoomStub;
  }
}
