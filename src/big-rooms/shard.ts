/**
 * A shard: one slice of a big room's sockets. It accepts, parses,
 * rate-limits and sends, like a room, but orders nothing: every frame goes
 * up to the room (the sequencer), and everything a session receives comes
 * down from it in one stream, in the room's order. It writes no storage
 * (only socket attachments), so its sends never wait on a commit, and it
 * keeps a ring of recent broadcasts so most resumes never ask the room.
 * See docs/large-rooms.md.
 */
import { DurableObject } from "cloudflare:workers";
import type { Refusal } from "../auth";
import { type Limits, read, readLimits } from "../config";
import { type Hello, helloFrom, offers, scopeOf } from "../hello";
import { log } from "../log";
import { answerClose, Outlet, sendEach, Turn } from "../outlet";
import {
  errorFrame,
  errorResponse,
  NDJSON_PROTOCOL,
  type Peer,
  type ProtocolError,
  parseClientBatch,
  parseClientFrame,
} from "../protocol";
import { RateLimiter } from "../rate-limit";
import { Replay } from "../replay";
import { History } from "./history";
import { parseShardName } from "./layout";
import { Faults, Link } from "./link";
import { Ring } from "./ring";
import type { Down, DownBatch, LogRow, Up, UpBatch, UpResult } from "./wire";

/** Kept in each socket's attachment, so it survives hibernation. */
type Attachment = { peer: Peer; scope: string; batched?: true };

type Session = Attachment & {
  ws: WebSocket;
  outlet: Outlet;
  limiter: RateLimiter;
  /** The room's welcome has arrived: from here on the session receives the room's stream. */
  welcomed: boolean;
  replay?: Replay;
};

/** What a shard needs of its room. */
export type RoomStub = {
  uplink(batch: UpBatch): Promise<UpResult>;
  logPage(after: number, limit: number): Promise<LogRow[]>;
};

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

  private readonly sessions = new Map<string, Session>();
  private readonly bySocket = new WeakMap<WebSocket, Session>();
  private readonly departed = new WeakSet<WebSocket>();
  private readonly limits: Limits;
  private readonly turn = new Turn();
  private readonly ring: Ring;
  private readonly history: History;
  private readonly up: Link<Up, UpResult>;
  private readonly room: string;
  private readonly index: number;
  /** This life of the shard; a new one tells the room which sessions survived. */
  private life = crypto.randomUUID();
  /** The room has not yet answered this life: each batch says what the shard holds. */
  private unconfirmed = true;
  /** This life has said hello, so the room learns of sessions a restart took. */
  private greeted = false;
  /** Joins waiting for the room's verdict. */
  private readonly joining = new Map<string, (refusal: Refusal | undefined) => void>();
  /** The last broadcast every welcomed session has been given; undefined until known. */
  private lastSeq: number | undefined;
  private roomLife: string | undefined;
  private lastDown = 0;
  /** Downlink batches, taken strictly one after another. */
  private stream: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    this.limits = readLimits(env);
    ({ room: this.room, index: this.index } = parseShardName(ctx.id.name ?? "#0"));
    this.ring = new Ring(Math.max(1, Math.min(this.limits.historySize, 1000)));
    const faults = Faults.parse(read(env, "LINK_FAULTS"));
    this.up = new Link<Up, UpResult>({
      name: `up-${this.index}`,
      faults,
      call: (batch) =>
        this.roomStub().uplink({
          room: this.room,
          shard: this.index,
          life: this.life,
          seq: batch.seq,
          holds: this.unconfirmed ? [...this.sessions.keys()] : undefined,
          events: batch.items,
        }),
      delivered: (batch, result) => this.answered(batch.items, result),
      lost: (batch) => this.upLost(batch.items),
    });
    this.history = new History((after, limit) => this.roomStub().logPage(after, limit));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    for (const ws of ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      // A socket that hibernated was welcomed: a shard is idle only when its stream is.
      this.remember(ws, ws.deserializeAttachment() as Attachment).welcomed = true;
    }
  }

  // ---- a session connects ------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const hello = helloFrom(new URL(request.url));
    const batched = offers(request, NDJSON_PROTOCOL);
    const { client, session } = this.accept(hello, batched);
    const { peer, scope } = session;
    const refusal = await this.join({
      peer,
      scope,
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
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  private accept(hello: Hello, batched: boolean): { client: WebSocket; session: Session } {
    const { 0: client, 1: server } = new WebSocketPair();
    const peer: Peer = { id: crypto.randomUUID(), name: hello.name, user: hello.user };
    const attachment: Attachment = { peer, scope: scopeOf(hello, peer.id) };
    if (batched) attachment.batched = true;
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(attachment);
    const session = this.remember(server, attachment);
    // Nothing reaches the session before the room's welcome.
    session.outlet.hold();
    return { client, session };
  }

  private join(joiner: Extract<Up, { kind: "join" }>["joiner"]): Promise<Refusal | undefined> {
    return new Promise((resolve) => {
      this.joining.set(joiner.peer.id, resolve);
      this.up.push({ kind: "join", joiner });
    });
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
        this.reject(sender, one.error);
        continue;
      }
      const verdict = sender.limiter.take(Date.now());
      if (verdict === "flooding") return this.drop(sender, 1008, "flooding over the rate limit");
      if (verdict === "limited") {
        const { id } = one.frame;
        this.reject(sender, { code: "rate_limited", message: "over the rate limit", id });
        continue;
      }
      this.up.push({ kind: "frame", from: sender.peer.id, text: texts[index] ?? "" });
    }
  }

  private reject(session: Session, error: ProtocolError): void {
    log("protocol_error", { room: this.room, session: session.peer.id, code: error.code });
    this.up.push({ kind: "answer", to: session.peer.id, text: errorFrame(error) });
  }

  // ---- the room's stream -------------------------------------------------

  /** The room's downlink: batches are taken in order, a repeated one is ignored. */
  async downlink(batch: DownBatch): Promise<void> {
    const taken = this.stream.then(() => this.take(batch));
    this.stream = taken.catch((error: unknown) => {
      log("shard_error", { room: this.room, shard: this.index, error: String(error) });
    });
    return taken;
  }

  private async take(batch: DownBatch): Promise<void> {
    if (batch.life !== this.roomLife) this.roomRestarted(batch.life);
    else if (batch.seq <= this.lastDown) return;
    this.lastDown = batch.seq;
    if (this.unconfirmed && !this.greeted) {
      // Woken by the room: a life that lost sessions to a restart must say so unasked.
      this.greeted = true;
      this.up.push({ kind: "hello" });
    }
    if (batch.lagged) this.closeAll(1013, "fell behind the room; resume");
    for (const item of batch.items) await this.apply(item);
  }

  private async apply(item: Down): Promise<void> {
    switch (item.kind) {
      case "broadcast":
        return this.relay(item.row);
      case "all":
        sendEach(
          this.sessions.values(),
          item.text,
          (s) => !s.welcomed || s.peer.id === item.except,
        );
        return;
      case "to":
        this.sessions.get(item.to)?.outlet.send(item.text);
        return;
      case "welcome":
        return this.welcome(item);
      case "close": {
        const session = this.sessions.get(item.to);
        if (session) this.drop(session, item.code, item.reason);
      }
    }
  }

  /** A numbered broadcast: the gap before it (if any) first, then it, once and in order. */
  private async relay(row: LogRow): Promise<void> {
    await this.reach(row.seq - 1);
    if (this.lastSeq !== undefined && row.seq <= this.lastSeq) return;
    this.deliver(row);
  }

  /** Brings `lastSeq` up to `seq`, from the room's log when there is anyone to deliver to. */
  private async reach(seq: number): Promise<void> {
    if (this.lastSeq === undefined || !this.anyoneLive()) {
      // Nobody here needs what came before: the ring starts over at this point.
      if (this.lastSeq === undefined || seq > this.lastSeq) {
        this.ring.clear();
        this.lastSeq = seq;
      }
      return;
    }
    while (this.lastSeq < seq) {
      const rows = await this.history.read(this.lastSeq);
      const next = rows?.[0];
      if (rows === undefined) continue;
      if (!next || next.seq !== this.lastSeq + 1) {
        // The room's history no longer covers the gap: these sessions must resume.
        this.closeAll(4000, "fell behind");
        this.ring.clear();
        this.lastSeq = seq;
        return;
      }
      for (const one of rows) if (one.seq <= seq && one.seq === this.lastSeq + 1) this.deliver(one);
    }
  }

  private deliver(row: LogRow): void {
    this.ring.push(row);
    this.lastSeq = row.seq;
    const skip = (s: Session) => !s.welcomed || s.replay !== undefined || s.peer.id === row.sender;
    sendEach(this.sessions.values(), row.frame, skip);
  }

  private async welcome(item: Extract<Down, { kind: "welcome" }>): Promise<void> {
    await this.reach(item.seq);
    const session = this.sessions.get(item.to);
    if (!session || session.welcomed) return;
    session.outlet.replayed(item.text);
    session.welcomed = true;
    // What it missed: a resume's gap, or broadcasts this shard had taken past the welcome's seq.
    const from = item.replayFrom ?? item.seq;
    if (from >= (this.lastSeq ?? from)) {
      session.outlet.release();
      return;
    }
    const source = {
      rows: (after: number) => this.ring.after(after) ?? this.history.read(after),
      last: () => this.lastSeq ?? from,
    };
    const alive = () => this.sessions.get(session.peer.id) === session;
    Replay.start(session, from, source, alive, (code, reason) => this.drop(session, code, reason));
  }

  // ---- the room's answers -------------------------------------------------

  private answered(events: Up[], result: UpResult): void {
    this.unconfirmed = false;
    if (result.life !== this.roomLife) this.roomRestarted(result.life);
    for (const event of events) {
      if (event.kind !== "join") continue;
      const id = event.joiner.peer.id;
      this.joining.get(id)?.(result.refused[id]);
      this.joining.delete(id);
    }
  }

  /** The room could not be reached: every session resumes, and a new life tells the room who is left. */
  private upLost(events: Up[]): void {
    for (const event of events) {
      if (event.kind !== "join") continue;
      const id = event.joiner.peer.id;
      const refusal: Refusal = {
        status: 503,
        code: "internal",
        message: "the room is unreachable; retry",
      };
      this.joining.get(id)?.(refusal);
      this.joining.delete(id);
    }
    this.closeAll(1012, "the room is unreachable; resume");
    this.life = crypto.randomUUID();
    this.unconfirmed = true;
    this.greeted = false;
  }

  /** A new life of the room may have lost what it had queued: welcomes that never came, above all. */
  private roomRestarted(life: string): void {
    const before = this.roomLife;
    this.roomLife = life;
    this.lastDown = 0;
    if (before === undefined) return;
    for (const session of [...this.sessions.values()]) {
      if (!session.welcomed && !this.joining.has(session.peer.id)) {
        this.drop(session, 1012, "the room restarted; reconnect");
      }
    }
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

  private closeAll(code: number, reason: string): void {
    for (const session of [...this.sessions.values()]) this.drop(session, code, reason);
  }

  /** Tells the room once that a session left. */
  private leave(ws: WebSocket): void {
    if (this.departed.has(ws)) return;
    // A socket that closed while the shard slept was never remembered: its attachment says who.
    const id =
      this.forget(ws)?.peer.id ?? (ws.deserializeAttachment() as Attachment | null)?.peer.id;
    if (id !== undefined) this.up.push({ kind: "leave", id });
  }

  private forget(ws: WebSocket): Session | undefined {
    if (this.departed.has(ws)) return undefined;
    this.departed.add(ws);
    const session = this.bySocket.get(ws);
    if (!session) return undefined;
    this.sessions.delete(session.peer.id);
    this.bySocket.delete(ws);
    return session;
  }

  // ---- plumbing ------------------------------------------------------------

  private remember(ws: WebSocket, attachment: Attachment): Session {
    const limiter = new RateLimiter(this.limits.ratePerSecond, this.limits.rateBurst, Date.now());
    const outlet = new Outlet(ws, attachment.batched === true, this.turn);
    const session: Session = { ...attachment, ws, outlet, limiter, welcomed: false };
    this.sessions.set(attachment.peer.id, session);
    this.bySocket.set(ws, session);
    return session;
  }

  private anyoneLive(): boolean {
    for (const session of this.sessions.values()) if (session.welcomed) return true;
    return false;
  }

  private roomStub(): RoomStub {
    const rooms = (this.constructor as typeof Shard).rooms as (env: E) => DurableObjectNamespace;
    return rooms(this.env).getByName(this.room) as unknown as RoomStub;
  }
}
