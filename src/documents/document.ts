/**
 * One Durable Object per collaborative document, speaking the y-websocket
 * protocol so the stock provider works unchanged. A socket connects (it gets
 * the document's sync step 1 and every awareness state known), speaks (step 1
 * is answered with step 2; updates are applied, stored, then relayed to the
 * others; awareness goes to everyone, the sender included, which is what keeps
 * a lone provider's 30 s watchdog fed), and leaves (the awareness ids it owned
 * are removed for everyone at once). Idle documents hibernate: no timers.
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
import { CLOSE_CODES } from "../frames";
import { log } from "../log";
import { Watch } from "../observe/watch";
import { answerClose, Outlet, Turn } from "../outlet";
import { RateLimiter } from "../rate-limit";
import { Awareness, type OwnedEntry } from "./awareness";
import { CLOSE, closedSocket } from "./close";
import {
  type AwarenessEntry,
  awarenessMessage,
  type DocMessage,
  readMessage,
  syncStep1,
  syncStep2,
  syncUpdate,
} from "./messages";
import { DocStore } from "./store";

/** Kept in each socket's attachment, so hibernation keeps who owns which presence, and who it is. */
type Attachment = { owned: OwnedEntry[]; id?: string; user?: string };

/** A turn's updates, their bytes, who sent them, and what waits for their commit. */
type Batch = {
  updates: Uint8Array[];
  bytes: number;
  senders: Set<Socket>;
  waiting: (() => void)[];
};

/** `limiter` counts frames other than updates; `updates` counts update bytes. */
type Socket = {
  ws: WebSocket;
  outlet: Outlet;
  limiter: RateLimiter;
  updates: RateLimiter;
  id: string;
  user?: string;
};

export class Document<E extends object = Cloudflare.Env> extends DurableObject<E> {
  private readonly sockets = new Map<WebSocket, Socket>();
  private readonly awareness = new Awareness();
  private readonly limits: Limits;
  private readonly docLimits: DocLimits;
  private readonly store: DocStore;
  private readonly bans: Bans;
  private readonly turn = new Turn();
  /** The document in memory, as stored; loaded on first use. */
  private loaded: Y.Doc | undefined;
  /** Updates received this turn, waiting for its one commit, and who sent them. */
  private batch: Batch | undefined;
  /** The directory of live documents and metrics (src/observe/), as configured. */
  private readonly watch: Watch;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    this.limits = readLimits(env);
    this.docLimits = readDocLimits(env);
    this.store = new DocStore(ctx.storage.sql, this.docLimits.maxDocBytes);
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
    const who = { id: crypto.randomUUID(), ...(user !== undefined && { user }) };
    server.serializeAttachment({ owned: [], ...who } satisfies Attachment);
    const { outlet } = this.remember(server);
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
        // After the turn's commit, like relays: step 2 carries the batch too.
        this.whenStored(() => socket.outlet.sendBinary(syncStep2(this.doc, message.stateVector)));
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

  /** Stages an update for the turn's commit; one that would pass MAX_DOC_BYTES is refused. */
  private update(socket: Socket, update: Uint8Array): void {
    // Raw bytes overestimate what an update adds, so this never lets too much in.
    const unstored = this.batch?.bytes ?? 0;
    if (!this.store.fits(update.byteLength + unstored, 0, this.doc)) {
      const max = this.docLimits.maxDocBytes;
      this.drop(socket, CLOSE.tooLarge, `the document would pass ${max} bytes`);
      return;
    }
    if (!this.batch) {
      this.batch = { updates: [], bytes: 0, senders: new Set(), waiting: [] };
      setTimeout(() => this.commit(), 0);
    }
    this.batch.updates.push(update);
    this.batch.bytes += update.byteLength;
    this.batch.senders.add(socket);
  }

  /**
   * Updates are group-committed: those of one turn are applied in one
   * transaction, which yields one update of what was new, stored in one commit
   * and relayed after it, so nobody hears of an update that could be lost.
   * Merging a burst's updates one by one (Y.mergeUpdates) grew with the
   * square of their number; one transaction grows with their bytes.
   */
  private commit(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    const { senders, waiting } = batch;
    const delta = this.applyTurn(batch.updates, senders);
    try {
      if (delta) this.store.append(delta, this.doc);
    } catch (error) {
      this.loaded = undefined;
      log("doc_storage_error", { doc: this.name, error: String(error) });
      // Their providers resync what was lost when they reconnect.
      for (const sender of senders) this.drop(sender, CLOSE.internal, "could not store");
      // The document is storage alone again; what waited is answered from it.
      for (const then of waiting) then();
      return;
    }
    // A lone sender has it all already; with several, each also hears its own.
    const only = senders.size === 1 ? [...senders][0]?.ws : undefined;
    if (delta) this.sendToAll(syncUpdate(delta), only);
    for (const then of waiting) then();
  }

  /**
   * Applies a turn's updates; answers what they added (undefined if nothing).
   * An update that fails to apply is left out: the document may have taken
   * part of it, so it is rebuilt from storage and the others applied again.
   */
  private applyTurn(updates: Uint8Array[], senders: Set<Socket>): Uint8Array | undefined {
    const first = applied(this.doc, updates);
    if (!(first instanceof Failure)) return first;
    this.ignore(`update failed to apply: ${first.error.message}`);
    this.loaded = undefined;
    const again = applied(
      this.doc,
      updates.filter((_, i) => i !== first.index),
    );
    if (!(again instanceof Failure)) return again;
    this.loaded = undefined;
    for (const sender of senders) this.drop(sender, CLOSE.internal, "could not apply");
    return undefined;
  }

  /** Runs `then` once the updates received so far are stored. */
  private whenStored(then: () => void): void {
    if (this.batch) this.batch.waiting.push(then);
    else then();
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
    this.loaded ??= this.store.load();
    return this.loaded;
  }

  private get name(): string {
    return this.ctx.id.name ?? "";
  }

  private remember(ws: WebSocket): Socket {
    const { ratePerSecond, rateBurst, updateBytesPerSecond, updateBytesBurst } = this.docLimits;
    const now = Date.now();
    const { id = crypto.randomUUID(), user } = attachmentOf(ws);
    const socket: Socket = {
      id,
      ...(user !== undefined && { user }),
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

/** Which update of a turn failed to apply, and why. */
class Failure {
  constructor(
    readonly index: number,
    readonly error: Error,
  ) {}
}

/** Applies updates in one transaction; answers what they added (undefined if nothing). */
function applied(doc: Y.Doc, updates: Uint8Array[]): Uint8Array | undefined | Failure {
  let delta: Uint8Array | undefined;
  const capture = (update: Uint8Array) => {
    delta = update;
  };
  doc.on("update", capture);
  try {
    let failure: Failure | undefined;
    doc.transact(() => {
      updates.forEach((update, i) => {
        if (failure) return;
        try {
          Y.applyUpdate(doc, update);
        } catch (error) {
          failure = new Failure(i, error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    return failure ?? delta;
  } finally {
    doc.off("update", capture);
  }
}

function attachmentOf(ws: WebSocket): Attachment {
  return (ws.deserializeAttachment() as Attachment | null) ?? { owned: [] };
}
