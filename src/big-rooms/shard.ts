/**
 * A shard: one slice of a big room's sockets. It accepts, parses and
 * rate-limits like a room, but orders nothing: its one holding (holding.ts)
 * sends every frame up to the room (the sequencer) and takes everything a
 * session receives down from it, in the room's order. It writes no storage
 * (only socket attachments), so its sends never wait on a commit.
 * See docs/large-rooms.md.
 */
import { DurableObject } from "cloudflare:workers";
import { type Limits, read, readLimits } from "../config";
import { type Hello, helloFrom, offers, scopeOf } from "../hello";
import { answerClose, Outlet, Turn } from "../outlet";
import {
  errorResponse,
  NDJSON_PROTOCOL,
  type Peer,
  parseClientBatch,
  parseClientFrame,
} from "../protocol";
import { RateLimiter } from "../rate-limit";
import { holderOf } from "./holders";
import { type Held, Holding, type Place, type RoomStub } from "./holding";
import { parseShardName } from "./layout";
import { Faults } from "./link";
import type { DownBatch } from "./wire";

/** Kept in each socket's attachment, so it survives hibernation. */
type Attachment = {
  peer: Peer;
  scope: string;
  batched?: true;
  /** Where a shard without a name is (see `locate`), for a life that a sleeping socket's frame wakes. */
  at?: Place;
};

type Session = Held & Attachment & { ws: WebSocket; outlet: Outlet; limiter: RateLimiter };

/**
 * The shard class. Bind it as `SHARDS` next to your room; a room whose
 * binding is not `ROOMS` names it in a subclass.
 *
 * @example
 * export class ChatShard extends Shard<Env> {
 *   static rooms = (env: Env) => env.CHAT;
 * }
 */
export class Shard<E extends object = Cloudflare.Env> extends DurableObject<E> {
  /** The namespace of the room this shard serves. */
  static rooms: (env: never) => unknown = (env: object) => read(env, "ROOMS");

  private readonly bySocket = new WeakMap<WebSocket, Session>();
  private readonly departed = new WeakSet<WebSocket>();
  private readonly limits: Limits;
  private readonly turn = new Turn();
  private readonly holding: Holding;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    this.limits = readLimits(env);
    // Reached by ID alone, a shard has no name: its upgrades and downlinks say where it is.
    const { room, index } = parseShardName(ctx.id.name ?? "#0");
    this.holding = new Holding({
      room,
      holder: index,
      historySize: this.limits.historySize,
      faults: Faults.parse(read(env, "LINK_FAULTS")),
      stub: (name) => this.roomStub(name),
      drop: (held, code, reason) => this.drop(held as Session, code, reason),
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    for (const ws of ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const attachment = ws.deserializeAttachment() as Attachment;
      if (attachment.at) this.holding.locate(attachment.at.room, attachment.at.holder);
      // A socket that hibernated was welcomed: a shard is idle only when its stream is.
      this.holding.adopt(this.remember(ws, attachment));
    }
  }

  // ---- a session connects ------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const hello = helloFrom(new URL(request.url));
    this.holding.locate(hello.room, holderOf(request, this.ctx.id));
    const batched = offers(request, NDJSON_PROTOCOL);
    const session = this.accept(hello, batched);
    const refusal = await this.holding.join(session, {
      ...(hello.address !== undefined && { address: hello.address }),
      ...(hello.expires !== undefined && { expires: hello.expires }),
      ...(batched && { batched: true as const }),
      ...(hello.since !== undefined && { since: hello.since }),
      ...(hello.epoch !== undefined && { epoch: hello.epoch }),
    });
    if (refusal) {
      // The room never counted this session: it goes without a leave.
      this.forget(session.ws);
      session.outlet.close(1000, "refused");
      return errorResponse(refusal.status, refusal.code, refusal.message);
    }
    const headers = batched ? { "Sec-WebSocket-Protocol": NDJSON_PROTOCOL } : undefined;
    return new Response(null, { status: 101, webSocket: session.client, headers });
  }

  private accept(hello: Hello, batched: boolean): Session & { client: WebSocket } {
    const { 0: client, 1: server } = new WebSocketPair();
    const peer: Peer = { id: crypto.randomUUID(), name: hello.name, user: hello.user };
    const attachment: Attachment = { peer, scope: scopeOf(hello, peer.id) };
    if (this.ctx.id.name === undefined) attachment.at = this.holding.place;
    if (batched) attachment.batched = true;
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(attachment);
    return Object.assign(this.remember(server, attachment), { client });
  }

  // ---- a session speaks: parsed and limited here, ordered by the room -----

  async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const sender = this.bySocket.get(ws);
    if (!sender) return;
    const max = this.limits.maxMessageBytes;
    const parsed = sender.batched ? parseClientBatch(raw, max) : [parseClientFrame(raw, max)];
    // The room gets each frame's own text: re-encoding deeply nested data could overflow.
    const texts = parsed.length > 1 ? String(raw).split("\n").filter(Boolean) : [String(raw)];
    for (const [index, one] of parsed.entries()) {
      if (!one.ok) {
        this.holding.reject(sender, one.error);
        continue;
      }
      const verdict = sender.limiter.take(Date.now());
      if (verdict === "flooding") return this.drop(sender, 1008, "flooding over the rate limit");
      if (verdict === "limited") {
        const { id } = one.frame;
        this.holding.reject(sender, { code: "rate_limited", message: "over the rate limit", id });
        continue;
      }
      this.holding.speak(sender, texts[index] ?? "");
    }
  }

  /** The room's downlink: everything this shard's sessions receive, in the room's order. */
  async downlink(batch: DownBatch): Promise<void> {
    return this.holding.downlink(batch);
  }

  // ---- a session leaves --------------------------------------------------

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const outlet = this.bySocket.get(ws)?.outlet;
    this.leave(ws);
    answerClose(ws, outlet, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  private drop(session: Session, code: number, reason: string): void {
    this.leave(session.ws);
    session.outlet.close(code, reason);
  }

  /** Tells the room once that a session left. */
  private leave(ws: WebSocket): void {
    if (this.departed.has(ws)) return;
    // A socket that closed while the shard slept was never remembered: its attachment says who.
    const id =
      this.forget(ws)?.peer.id ?? (ws.deserializeAttachment() as Attachment | null)?.peer.id;
    if (id !== undefined) this.holding.leave(id);
  }

  private forget(ws: WebSocket): Session | undefined {
    if (this.departed.has(ws)) return undefined;
    this.departed.add(ws);
    const session = this.bySocket.get(ws);
    if (!session) return undefined;
    this.holding.forget(session.peer.id);
    this.bySocket.delete(ws);
    return session;
  }

  // ---- plumbing ------------------------------------------------------------

  private remember(ws: WebSocket, attachment: Attachment): Session {
    const limiter = new RateLimiter(this.limits.ratePerSecond, this.limits.rateBurst, Date.now());
    const outlet = new Outlet(ws, attachment.batched === true, this.turn);
    const session: Session = { ...attachment, ws, outlet, limiter, welcomed: false };
    this.bySocket.set(ws, session);
    return session;
  }

  private roomStub(room: string): RoomStub {
    const rooms = (this.constructor as typeof Shard).rooms as (env: E) => DurableObjectNamespace;
    return rooms(this.env).getByName(room) as unknown as RoomStub;
  }
}
