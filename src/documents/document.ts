/**
 * One Durable Object per collaborative document, speaking the y-websocket
 * protocol so the stock provider works unchanged. A socket connects (it gets
 * the document's sync step 1 and every awareness state known), speaks (step 1
 * is answered with step 2; updates are applied and relayed to the others,
 * and stored in one commit per turn (./edits.ts); awareness goes to everyone,
 * the sender included, which is what keeps
 * a lone provider's 30 s watchdog fed), and leaves (the awareness ids it owned
 * are removed for everyone at once). A socket opened with a token that
 * expires is warned before and closed at expiry, as room sessions are
 * (src/expiry.ts). Idle documents hibernate: no timers.
 * Every frame leaves through the socket's outlet, the one guarded send path.
 */
import { DurableObject } from "cloudflare:workers";
import * as Y from "yjs";
import { type Ban, Bans } from "../bans";
import {
  type DocLimits,
  type Limits,
  readDocLimits,
  readLimits,
  UPDATE_FLOOR_BYTES,
} from "../config";
import { type KickTarget, kicks } from "../ending";
import { dueAt, expired, stepOf, type Term, termOf, wakeAt } from "../expiry";
import { CLOSE_CODES } from "../frames";
import { log } from "../log";
import { Watch } from "../observe/watch";
import { answerClose, Outlet, Turn } from "../outlet";
import { RateLimiter } from "../rate-limit";
import { Awareness, type OwnedEntry } from "./awareness";
import { CLOSE, closedSocket } from "./close";
import { Edits } from "./edits";
import {
  type AwarenessEntry,
  awarenessMessage,
  type DocMessage,
  expiringMessage,
  readMessage,
  syncStep1,
  syncStep2,
  syncUpdate,
} from "./messages";
import { DocStore } from "./store";

/**
 * Kept in each socket's attachment, so hibernation keeps who owns which
 * presence, who it is, and when its token must be refreshed and ends.
 */
type Attachment = { owned: OwnedEntry[]; id?: string; user?: string; term?: Term };

/** `limiter` counts frames other than updates; `updates` counts update bytes. */
type Socket = {
  ws: WebSocket;
  outlet: Outlet;
  limiter: RateLimiter;
  updates: RateLimiter;
  id: string;
  user?: string;
  term?: Term;
};

export class Document<E extends object = Cloudflare.Env> extends DurableObject<E> {
  private readonly sockets = new Map<WebSocket, Socket>();
  private readonly awareness = new Awareness();
  private readonly limits: Limits;
  private readonly docLimits: DocLimits;
  private readonly store: DocStore;
  private readonly bans: Bans;
  private readonly turn = new Turn();
  private readonly edits: Edits<Socket>;
  /** The directory of live documents and metrics (src/observe/), as configured. */
  private readonly watch: Watch;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    this.limits = readLimits(env);
    this.docLimits = readDocLimits(env);
    this.store = new DocStore(ctx.storage.sql, this.docLimits.maxDocBytes);
    this.edits = new Edits(this.store, {
      relay: (update, except) => this.sendToAll(syncUpdate(update), except?.ws),
      refused: (reason) => this.ignore(reason),
      unapplied: (senders) => {
        for (const sender of senders) this.drop(sender, CLOSE.internal, "could not apply");
      },
      unstored: (error) => {
        log("doc_storage_error", { doc: this.name, error: String(error) });
        // Every socket may hold what was lost; each resyncs it when it reconnects.
        for (const socket of [...this.sockets.values()]) {
          this.drop(socket, CLOSE.internal, "could not store");
        }
      },
    });
    this.watch = Watch.of(
      env,
      "doc",
      () => this.name,
      () => this.sockets.size,
    );
    this.bans = new Bans(ctx.storage.sql);
    for (const ws of ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      this.remember(ws);
      this.awareness.restore(ws, attachmentOf(ws).owned);
    }
  }

  // ---- a socket connects ---------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const params = new URL(request.url).searchParams;
    const name = params.get("doc") ?? "";
    const user = params.get("user") ?? undefined;
    const expires = params.has("expires") ? Number(params.get("expires")) : undefined;
    const ban = this.bans.of(user, Date.now());
    if (ban) {
      log("refused", { doc: name, code: "banned" });
      // The reason stays out: a close reason holds 123 bytes.
      return closedSocket(CLOSE.forbidden, `banned until ${new Date(ban.until).toISOString()}`);
    }
    if (this.sockets.size >= this.limits.maxConnectionsPerRoom) {
      log("refused", { doc: name, code: "doc_full", connections: this.sockets.size });
      return closedSocket(CLOSE.tryAgain, "this document is full; try again later");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const term = termOf(expires, Date.now());
    const who = {
      id: crypto.randomUUID(),
      ...(user !== undefined && { user }),
      ...(term && { term }),
    };
    server.serializeAttachment({ owned: [], ...who } satisfies Attachment);
    const { outlet } = this.remember(server);
    if (term) await wakeAt(this.ctx.storage, dueAt(term));
    // The joiner answers step 1 with what the document lacks: its offline edits.
    outlet.sendBinary(syncStep1(this.doc));
    const states = this.awareness.all();
    if (states.length > 0) outlet.sendBinary(awarenessMessage(states));
    this.watch.changed();
    log("doc_connect", { doc: name, connections: this.sockets.size });
    return new Response(null, { status: 101, webSocket: client });
  }

  // ---- a socket speaks -----------------------------------------------------

  async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const socket = this.sockets.get(ws);
    if (!socket) return; // the document already let this socket go
    this.watch.metrics?.received(raw);
    if (typeof raw === "string") return this.ignore("text frame");
    const max = this.limits.maxMessageBytes;
    if (raw.byteLength > max) {
      return this.drop(socket, CLOSE.tooLarge, `frame is ${raw.byteLength} bytes; limit ${max}`);
    }
    // Not applied: the provider reconnects with a fresh token and resyncs it.
    if (expired(socket.term, Date.now())) return this.drop(socket, CLOSE.expired, EXPIRED);
    const read = readMessage(new Uint8Array(raw));
    if (!read.ok) return this.ignore(read.reason);
    const refusal = this.overLimit(socket, read.message, raw.byteLength);
    if (refusal === "ignore") return this.ignore("over the rate limit");
    if (refusal) return this.drop(socket, refusal.code, refusal.reason);
    this.speak(socket, read.message);
  }

  /**
   * Updates are charged their bytes: a closed socket loses the edits in
   * flight, so the budget is sized to take bursts whole, and only an update
   * past it closes the socket (1013: the provider reconnects and resyncs).
   * Presence over its frame budget is dropped: it renews itself.
   */
  private overLimit(
    socket: Socket,
    message: DocMessage,
    bytes: number,
  ): { code: number; reason: string } | "ignore" | undefined {
    const now = Date.now();
    if (message.type === "update") {
      const cost = Math.max(bytes, UPDATE_FLOOR_BYTES);
      if (socket.updates.take(now, cost) === "ok") return undefined;
      return { code: CLOSE.tryAgain, reason: "over the rate limit" };
    }
    const verdict = socket.limiter.take(now);
    if (verdict === "flooding") return { code: CLOSE.flooding, reason: "flooding" };
    return verdict === "limited" ? "ignore" : undefined;
  }

  private speak(socket: Socket, message: DocMessage): void {
    switch (message.type) {
      case "step1":
        // From memory, stored or not, as relays are (./edits.ts says why that is safe).
        socket.outlet.sendBinary(syncStep2(this.doc, message.stateVector));
        break;
      case "update":
        this.update(socket, message.update);
        break;
      case "awareness":
        this.announce(socket, message.entries);
        break;
      case "query-awareness":
        socket.outlet.sendBinary(awarenessMessage(this.awareness.all()));
        break;
    }
  }

  /** Takes an update; one that would pass MAX_DOC_BYTES is refused. */
  private update(socket: Socket, update: Uint8Array): void {
    // Raw bytes overestimate what an update adds, so this never lets too much in.
    const unstored = this.edits.unstoredBytes();
    if (!this.store.fits(update.byteLength + unstored, 0, this.doc)) {
      const max = this.docLimits.maxDocBytes;
      this.drop(socket, CLOSE.tooLarge, `the document would pass ${max} bytes`);
      return;
    }
    this.edits.receive(socket, update);
  }

  private announce(socket: Socket, entries: AwarenessEntry[]): void {
    const accepted = this.awareness.apply(socket.ws, entries);
    if (accepted.length === 0) return;
    socket.ws.serializeAttachment({
      ...attachmentOf(socket.ws),
      owned: this.awareness.ownedBy(socket.ws),
    } satisfies Attachment);
    this.sendToAll(awarenessMessage(accepted));
  }

  private ignore(reason: string): void {
    log("doc_bad_input", { doc: this.name, reason });
    this.watch.metrics?.refused();
  }

  // ---- the server API --------------------------------------------------------

  /** The document as one Yjs update; null when nothing was ever stored. */
  async snapshot(): Promise<Uint8Array | null> {
    if (!this.store.exists()) return null;
    return Y.encodeStateAsUpdate(this.doc);
  }

  /** Sockets open now: the directory's check of a stale entry. */
  async liveCount(): Promise<number> {
    return this.sockets.size;
  }

  /** The sockets open on this document, with who opened them. */
  async describe(): Promise<{ sessions: { id: string; user?: string }[] }> {
    const sessions = [...this.sockets.values()].map(({ id, user }) => ({ id, user }));
    return { sessions };
  }

  /** Ends one socket, or every socket of a user, with code 4410 and `reason`. */
  async kick(target: KickTarget, reason: string): Promise<{ closed: number }> {
    const ending = [...this.sockets.values()].filter((s) => kicks(target, s.id, s.user));
    for (const socket of ending) this.drop(socket, CLOSE_CODES.kicked, reason);
    return { closed: ending.length };
  }

  /** Keeps `user` out for `seconds` (stored, so restarts keep it) and closes their sockets now. */
  async ban(
    user: string,
    seconds: number,
    reason: string,
  ): Promise<{ until: number; closed: number }> {
    const until = this.bans.ban(user, seconds, reason, Date.now());
    const { closed } = await this.kick({ user }, reason || "banned");
    return { until, closed };
  }

  async unban(user: string): Promise<{ lifted: boolean }> {
    return { lifted: this.bans.lift(user) };
  }

  async banned(): Promise<Ban[]> {
    return this.bans.list(Date.now());
  }

  // ---- time: tokens that expire ---------------------------------------------

  /**
   * Warns the sockets whose tokens expire soon and closes those whose expired
   * (4001, which the provider retries: with a fresh token in its `params`, it
   * reconnects and resyncs), then sets the alarm for the next. A subclass
   * with alarms of its own calls `super.alarm()` and sets them with `wakeAt`.
   */
  async alarm(): Promise<void> {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const socket of [...this.sockets.values()]) {
      const { term } = socket;
      if (!term) continue;
      const step = stepOf(term, now);
      if (step === "end") {
        this.drop(socket, CLOSE.expired, EXPIRED);
        continue;
      }
      if (step === "warn") {
        socket.outlet.sendBinary(expiringMessage(term.expires));
        socket.term = { expires: term.expires };
        socket.ws.serializeAttachment({ ...attachmentOf(socket.ws), term: socket.term });
      }
      next = Math.min(next, dueAt(socket.term ?? term));
    }
    if (next < Number.POSITIVE_INFINITY) await wakeAt(this.ctx.storage, next);
  }

  // ---- a socket leaves -----------------------------------------------------

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const outlet = this.sockets.get(ws)?.outlet;
    this.leave(ws, code);
    answerClose(ws, outlet, code, reason);
  }

  async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.leave(ws, 1011, String(error));
  }

  private drop(socket: Socket, code: number, reason: string): void {
    this.leave(socket.ws, code, reason);
    socket.outlet.close(code, reason);
  }

  private leave(ws: WebSocket, code: number, error?: string): void {
    if (!this.sockets.delete(ws)) return;
    const removals = this.awareness.release(ws);
    if (removals.length > 0) this.sendToAll(awarenessMessage(removals));
    this.watch.changed();
    log("doc_close", { doc: this.name, code, error, connections: this.sockets.size });
  }

  // ---- plumbing ------------------------------------------------------------

  private get doc(): Y.Doc {
    return this.edits.doc;
  }

  private get name(): string {
    return this.ctx.id.name ?? "";
  }

  private remember(ws: WebSocket): Socket {
    const { ratePerSecond, rateBurst, updateBytesPerSecond, updateBytesBurst } = this.docLimits;
    const now = Date.now();
    const { id = crypto.randomUUID(), user, term } = attachmentOf(ws);
    const socket: Socket = {
      id,
      ...(user !== undefined && { user }),
      ...(term && { term }),
      ws,
      outlet: new Outlet(ws, false, this.turn),
      limiter: new RateLimiter(ratePerSecond, rateBurst, now),
      updates: new RateLimiter(updateBytesPerSecond, updateBytesBurst, now),
    };
    this.sockets.set(ws, socket);
    return socket;
  }

  private sendToAll(message: Uint8Array, except?: WebSocket): void {
    this.watch.metrics?.sent(this.sockets.size - (except === undefined ? 0 : 1), message);
    for (const socket of this.sockets.values()) {
      if (socket.ws !== except) socket.outlet.sendBinary(message);
    }
  }
}

const EXPIRED = "the token expired";

function attachmentOf(ws: WebSocket): Attachment {
  return (ws.deserializeAttachment() as Attachment | null) ?? { owned: [] };
}
