/**
 * One Durable Object per room. It holds the room's sessions and routes frames
 * between them. It uses the WebSocket Hibernation API, so an idle room is
 * evicted from memory and costs nothing; each socket's attachment keeps who
 * the session is, and the session map is rebuilt from the sockets on wake.
 * Broadcasts get a seq and go to the room's log, from which resumes replay.
 * Every frame leaves through the session's outlet, the one guarded way to a
 * socket, which also coalesces a turn's frames for clients that batch.
 */
import { DurableObject } from "cloudflare:workers";
import { checkToken, isRefusal, type Refusal } from "./auth";
import { Bans, bannedMessage } from "./bans";
import { Fanout, type Remote, type ShardStub } from "./big-rooms/fanout";
import { hubName, hubOf } from "./big-rooms/holders";
import { Layout, SHARDS_HEADER, shardName } from "./big-rooms/layout";
import { Faults } from "./big-rooms/link";
import type { LogRow, UpBatch, UpResult } from "./big-rooms/wire";
import { type Limits, read, readLimits, readShardLimits, secret } from "./config";
import type { KickTarget } from "./ending";
import {
  dueAt,
  expired,
  type RefreshVerdict,
  stepOf,
  type Term,
  termOf,
  verdictOf,
  wakeAt,
} from "./expiry";
import { type Hello, helloFrom, offers, scopeOf } from "./hello";
import { RoomLog } from "./history";
import { InOrder, judge, type Message, type MessageVerdict, notify } from "./hooks";
import { log } from "./log";
import { Observers } from "./observe/observers";
import { Watch } from "./observe/watch";
import { Occupancy } from "./occupancy";
import { answerClose, Outlet, sendEach, Turn } from "./outlet";
import {
  CLOSE_CODES,
  type ClientFrame,
  encode,
  errorFrame,
  errorResponse,
  type Json,
  MAX_BATCH_FRAMES,
  MAX_PRESENCE_BYTES,
  NDJSON_PROTOCOL,
  type Parsed,
  type Peer,
  type ProtocolError,
  parseClientBatch,
  parseClientFrame,
  type RefreshFrame,
  tryEncode,
  utf8Length,
} from "./protocol";
import { RateLimiter } from "./rate-limit";
import { Replay } from "./replay";
import { RemoteMembers } from "./room/remote-members";
import { type Routed, ServerApi } from "./room/server-api";
import { type Member, Roster } from "./roster";

/** Kept in each socket's attachment, so it survives hibernation. */
type Attachment = {
  peer: Peer;
  scope: string;
  batched?: true;
  address?: string;
  quiet?: true;
  /** When its token must be refreshed and when it ends (src/expiry.ts). */
  term?: Term;
};

/** A member whose socket this object holds. */
type Session = Member &
  Attachment & {
    ws: WebSocket;
    outlet: Outlet;
    limiter: RateLimiter;
    replay?: Replay;
  };

const REPLAY_PAGE = 100;

/**
 * The room. Extend it to add rules: override `onMessage`, `onJoin` and
 * `onLeave` (see docs/server.md), and `static limits` to fix limits in code.
 *
 * @example
 * export class ChatRoom extends Room {
 *   onMessage(sender: Peer, frame: Message) {
 *     const text = frame.data;
 *     if (typeof text !== "string") throw new Rejection("bad_message", "this room takes text");
 *     return { ...frame, data: text.trim() };
 *   }
 * }
 */
export class Room<E extends object = Cloudflare.Env> extends DurableObject<E> {
  /** Limits that override the `[vars]`, for a subclass that wants them in code. */
  static limits: Partial<Limits> = {};
  /**
   * The namespace of shard `index` of a big room (docs/large-rooms.md);
   * without one, a room never shards. Default: the `SHARDS` binding.
   */
  static shards: (env: never, index: number) => unknown = (env: object) => read(env, "SHARDS");
  /**
   * The namespace of the hubs that carry many rooms on one connection
   * (docs/multiplex.md). Default: the `HUBS` binding.
   */
  static hubs: (env: never) => unknown = (env: object) => read(env, "HUBS");

  private readonly sessions = new Map<string, Session>();
  /** The same sessions by socket, so a frame finds its sender without reading the attachment. */
  private readonly bySocket = new WeakMap<WebSocket, Session>();
  /** Sockets whose leave was announced; close and error may both arrive. */
  private readonly departed = new WeakSet<WebSocket>();
  private readonly limits: Limits;
  private readonly log: RoomLog;
  private readonly turn: Turn;
  /** Members on shards, and the links to them (src/big-rooms/). */
  private readonly fanout: Fanout;
  private readonly layout: Layout;
  private readonly occupancy: Occupancy;
  /** Who is announced, and sessions per address, here and on shards. */
  private readonly roster: Roster;
  /** The directory of live rooms, metrics and webhooks (src/observe/), as configured. */
  private readonly watch: Watch;
  /** The debug console's read-only watchers, who are never sessions. */
  private readonly observers: Observers;
  private readonly bans: Bans;
  /** The room's half of the sessions that shards and hubs hold. */
  private readonly remote: RemoteMembers;
  /** What a backend asks of the room. */
  private readonly api: ServerApi;
  /** The name a shard called this room by, for a room whose ID came without one. */
  private named: string | undefined;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    const own = (this.constructor as typeof Room).limits;
    this.limits = { ...readLimits(env), ...own };
    this.roster = new Roster(this.limits.presenceMax);
    this.log = new RoomLog(ctx.storage.sql, this.limits);
    this.bans = new Bans(ctx.storage.sql);
    this.turn = new Turn((end) => this.log.whenStored(end));
    const shards = (this.constructor as typeof Room).shards as (env: E, index: number) => unknown;
    const namespace = (index: number) => shards(env, index) as DurableObjectNamespace | undefined;
    const hubs = (this.constructor as typeof Room).hubs as (env: E) => unknown;
    const holderStub = (holder: number) => {
      const hub = hubOf(holder);
      if (hub === undefined) return namespace(holder)?.getByName(shardName(this.roomName, holder));
      return (hubs(env) as DurableObjectNamespace | undefined)?.getByName(hubName(hub));
    };
    const faults = Faults.parse(read(env, "LINK_FAULTS"));
    const endOfTurn = (run: () => void) => setTimeout(() => this.log.whenStored(run), 0);
    this.fanout = new Fanout(
      ctx.storage.sql,
      (holder) => holderStub(holder) as unknown as ShardStub,
      faults,
      endOfTurn,
      () => this.roomName,
    );
    this.layout = new Layout(ctx.storage.sql, readShardLimits(env), namespace(0) !== undefined);
    this.occupancy = new Occupancy(
      () => this.headcount,
      () => this.headcount > this.roster.announcedCount,
      (text) => this.sendToAll(text),
    );
    this.watch = Watch.of(
      env,
      "room",
      () => this.roomName,
      () => this.headcount,
      ctx.storage,
    );
    this.observers = new Observers(ctx);
    this.remote = new RemoteMembers(this.fanout, this.log, {
      admits: (address, user) => this.admits(address, user),
      crowded: () => this.roster.crowded,
      arrived: (member, term) => {
        this.roster.arrived(member);
        this.keep(term);
        this.joined(member);
      },
      welcome: (member, batched, since, epoch) => this.welcome(member, batched, since, epoch),
      hear: (sender, text) => this.hear(sender, text),
      deliver: (member, text) => this.deliver(member, text),
      left: (member) => this.farewell(member, 1000),
    });
    this.api = new ServerApi({
      log: this.log,
      bans: this.bans,
      maxMessageBytes: this.limits.maxMessageBytes,
      members: () => this.members(),
      end: (member, code, reason) => this.end(member, code, reason),
      route: (from, scope, frame) => this.route(from, scope, frame),
      holders: () => this.fanout.shards,
      sharding: () => this.layout.shards > 0,
      webhooks: () => this.watch.webhookStatus(),
    });
    for (const member of this.fanout.members.values()) this.roster.arrived(member);
    // Heartbeats are answered by the runtime without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    for (const ws of ctx.getWebSockets()) {
      if (ws.readyState === WebSocket.OPEN && !this.observers.has(ws))
        this.roster.arrived(this.remember(ws, attachmentOf(ws)));
    }
  }

  // ---- hooks: override them in a subclass ---------------------------------

  /**
   * Runs inside the room before a session's broadcast or direct is routed,
   * in the order the session sent them (an async hook holds that session's
   * later frames back, not other sessions'). Return nothing to route the
   * frame as it came, or a frame to route instead (stored and replayed as
   * returned); throw a `Rejection` to refuse it with a code of your choice.
   * Any other throw refuses it with `rejected`. Not called for a repeated id.
   *
   * @example
   * onMessage(sender: Peer, frame: Message) {
   *   return { ...frame, data: { text: frame.data, by: sender.name } };
   * }
   */
  onMessage(_sender: Peer, _frame: Message): MessageVerdict | Promise<MessageVerdict> {
    return undefined;
  }

  /**
   * Runs after a session joined and the others were told. Nobody waits for
   * it; a throw is logged.
   *
   * @example
   * async onJoin(peer: Peer) { await this.env.EVENTS.send({ joined: peer.id }); }
   */
  onJoin(_peer: Peer): void | Promise<void> {}

  /** Runs once per session, after the others were told it left. A throw is logged. */
  onLeave(_peer: Peer): void | Promise<void> {}

  /**
   * Checks a token a session sent in-band to extend its grant (a `refresh`
   * frame). Return the identity it proves (its `user` must be the session's,
   * its `expires` becomes the session's new expiry; other fields are
   * ignored), or a refusal: status 403 ends the session as forbidden, any
   * other refuses this refresh and the session runs on to its expiry. A throw
   * refuses it too. By default, the built-in JWT check with `AUTH_SECRET`;
   * override it when your `authorize` is your own.
   *
   * @example
   * async onRefresh(peer: Peer, token: string) {
   *   const session = await lookUp(this.env, token);
   *   return session ? { user: session.userId, expires: session.expiresAt } : { status: 401, code: "unauthorized", message: "unknown session" };
   * }
   */
  onRefresh(_peer: Peer, token: string): RefreshVerdict | Promise<RefreshVerdict> {
    const key = secret(this.env, "AUTH_SECRET");
    if (key) return checkToken(token, key, this.roomName);
    return { status: 401, code: "unauthorized", message: "this room checks no tokens" };
  }

  // ---- a session connects ------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    if (Observers.asks(request)) return this.observers.open(request, Date.now());
    // Welcome with a seq that is stored and after every frame it covers went out.
    await this.log.settled();
    const hello = helloFrom(new URL(request.url));
    const shards = this.layout.decide(this.headcount);
    if (shards > 0) {
      // The Worker takes this connection to a shard, and remembers for a while that it may.
      return new Response(null, { status: 307, headers: { [SHARDS_HEADER]: String(shards) } });
    }
    const refusal = this.admits(hello.address, hello.user);
    if (refusal) return errorResponse(refusal.status, refusal.code, refusal.message);
    // Storage first: if it fails, no socket was accepted and nobody was told of one.
    this.log.open();
    const batched = offers(request, NDJSON_PROTOCOL);
    const { client, session } = this.accept(hello, batched);
    const { since } = hello;
    const welcome = this.welcome(session, batched, since, hello.epoch);
    session.outlet.send(welcome.text);
    this.joined(session);
    if (welcome.replayFrom !== undefined) this.startReplay(session, welcome.replayFrom);
    const headers = batched ? { "Sec-WebSocket-Protocol": NDJSON_PROTOCOL } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Refuses a banned user, a connection the room has no room for, or one address too many. */
  private admits(address: string | undefined, user: string | undefined): Refusal | undefined {
    const room = this.roomName;
    const ban = this.bans.of(user, Date.now());
    if (ban) {
      log("refused", { room, code: "banned" });
      return { status: 403, code: "banned", message: bannedMessage(ban) };
    }
    if (this.headcount >= this.limits.maxConnectionsPerRoom) {
      log("refused", { room, code: "room_full", connections: this.headcount });
      return { status: 503, code: "room_full", message: "this room is full; try again later" };
    }
    if (address !== undefined && this.roster.from(address) >= this.limits.maxConnectionsPerIp) {
      log("refused", { room, code: "too_many_connections" });
      const max = this.limits.maxConnectionsPerIp;
      const message = `at most ${max} sessions per address`;
      return { status: 429, code: "too_many_connections", message };
    }
  }

  /**
   * A member's welcome: the others it may know of, the log's position, and
   * whether its resume can replay. Made when it is sent, after the log's
   * commit, so its seq is stored and after every frame sent before it.
   */
  private welcome(
    member: Member,
    batched: boolean,
    since: number | undefined,
    epoch: string | undefined,
  ): { text: string; seq: number; replayFrom?: number } {
    const { seq, epoch: current } = this.log.open();
    const resume = since === undefined ? undefined : this.log.resume(since, epoch, Date.now());
    const peers = this.roster.peers().filter((peer) => peer.id !== member.peer.id);
    const limits = {
      maxMessageBytes: this.limits.maxMessageBytes,
      maxBatchFrames: batched ? MAX_BATCH_FRAMES : 1,
    };
    const text = encode({
      type: "welcome",
      id: member.peer.id,
      room: this.roomName,
      peers,
      seq,
      epoch: current,
      limits,
      occupancy: this.headcount,
      ...resume,
    });
    const replays = since !== undefined && resume?.recovered && since < seq;
    return replays ? { text, seq, replayFrom: since } : { text, seq };
  }

  /** Tells the others of a member who just joined (if it is announced), then the hook. */
  private joined(member: Member): void {
    if (!member.quiet) this.sendToAll(encode({ type: "join", peer: member.peer }), member.peer.id);
    this.occupancy.changed();
    this.watch.joined(member.peer);
    notify(() => this.onJoin(member.peer), this.roomName, "onJoin");
    log("connect", { room: this.roomName, session: member.peer.id, connections: this.headcount });
  }

  /** Accepts the socket for hibernation, with who it is in its attachment. */
  private accept(hello: Hello, batched: boolean): { client: WebSocket; session: Session } {
    const { 0: client, 1: server } = new WebSocketPair();
    const peer: Peer = { id: crypto.randomUUID(), name: hello.name, user: hello.user };
    const scope = scopeOf(hello, peer.id);
    const attachment: Attachment = batched ? { peer, scope, batched } : { peer, scope };
    if (hello.address !== undefined) attachment.address = hello.address;
    if (this.roster.crowded) attachment.quiet = true;
    const term = termOf(hello.expires, Date.now());
    if (term) attachment.term = term;
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(attachment);
    const session = this.remember(server, attachment);
    this.roster.arrived(session);
    this.keep(term);
    return { client, session };
  }

  private startReplay(session: Session, since: number): void {
    const source = {
      rows: (after: number) => this.log.page(after, REPLAY_PAGE, Date.now()),
      last: () => this.log.seq,
    };
    const alive = () => this.sessions.get(session.peer.id) === session;
    Replay.start(session, since, source, alive, (code, reason) => this.drop(session, code, reason));
  }

  // ---- a session speaks --------------------------------------------------

  async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const sender = this.bySocket.get(ws);
    if (!sender) return; // the room already let this session go
    this.watch.metrics?.received(raw);
    const max = this.limits.maxMessageBytes;
    if (!sender.batched) {
      this.speak(sender, parseClientFrame(raw, max));
      return;
    }
    for (const parsed of parseClientBatch(raw, max)) {
      if (!this.speak(sender, parsed)) return;
    }
  }

  /** Handles one client frame as if it came alone; false when the session was dropped. */
  private speak(sender: Session, parsed: Parsed): boolean {
    if (!parsed.ok) {
      this.reject(sender, parsed.error);
      return true;
    }
    const { id } = parsed.frame;
    const verdict = sender.limiter.take(Date.now());
    if (verdict === "flooding") {
      this.drop(sender, 1008, "flooding over the rate limit");
      return false;
    }
    if (verdict === "limited") {
      this.reject(sender, { code: "rate_limited", message: "over the rate limit", id });
      return true;
    }
    const { frame } = parsed;
    this.layout.counted(1);
    sender.order.run(() => this.act(sender, frame));
    return true;
  }

  /** A frame a shard or hub parsed and let through its rate limit, from a member it holds. */
  private hear(sender: Member, text: string): void {
    this.watch.metrics?.received(text);
    const parsed = parseClientFrame(text, Number.MAX_SAFE_INTEGER);
    this.layout.counted(1);
    if (!parsed.ok) this.reject(sender, parsed.error);
    else sender.order.run(() => this.act(sender, parsed.frame));
  }

  /** Acts on a frame that passed the limits: presence, a repeat, or the hook and then routing. */
  private act(sender: Member, frame: ClientFrame): void | Promise<void> {
    if (frame.type === "refresh") return this.refresh(sender, frame);
    if (expired(sender.term, Date.now())) {
      const message = "the session's token expired; send a refresh";
      return this.reject(sender, { code: "expired", message, id: frame.id });
    }
    if (frame.type === "presence") {
      return this.answer(sender, frame.id, this.present(sender, frame.state));
    }
    const repeated = frame.id === undefined ? undefined : this.repeat(sender.scope, frame.id);
    if (repeated) return this.answer(sender, frame.id, repeated);
    const verdict = judge(() => this.onMessage(sender.peer, frame), this.roomName);
    if (verdict instanceof Promise) return verdict.then((v) => this.conclude(sender, frame, v));
    this.conclude(sender, frame, verdict);
  }

  /** Routes what the hook let through: the frame as it came, or the hook's replacement. */
  private conclude(sender: Member, frame: Message, verdict: MessageVerdict | ProtocolError) {
    if (verdict && "code" in verdict) return this.answer(sender, frame.id, verdict);
    const chosen = verdict ? { ...verdict, id: frame.id } : frame;
    this.answer(sender, frame.id, this.routeNew(sender.peer.id, sender.scope, chosen));
  }

  private answer(sender: Member, id: string | undefined, routed: Routed | ProtocolError): void {
    if ("code" in routed) this.reject(sender, { ...routed, id });
    else if (id !== undefined) this.deliver(sender, encode({ type: "ack", id, ...ackOf(routed) }));
  }

  /** A token sent in-band: one for the same user extends the session's term (src/expiry.ts). */
  private async refresh(sender: Member, frame: RefreshFrame): Promise<void> {
    const verdict = await verdictOf(() => this.onRefresh(sender.peer, frame.token), this.roomName);
    if (!this.holds(sender)) return; // it ended while the token was checked
    const { id } = frame;
    if (isRefusal(verdict)) {
      if (verdict.status === 403) return this.end(sender, CLOSE_CODES.forbidden, verdict.message);
      return this.reject(sender, { code: "unauthorized", message: verdict.message, id });
    }
    if (verdict.user !== sender.peer.user) {
      return this.reject(sender, {
        code: "unauthorized",
        message: "the token is another user's",
        id,
      });
    }
    const term = termOf(verdict.expires, Date.now());
    // A token no newer than the last earns no new warning: it would only ask again.
    if (term && sender.term && term.expires <= sender.term.expires) delete term.notice;
    this.saveTerm(sender, term);
    this.keep(term);
    this.answer(sender, id, { delivered: true });
  }

  /** What a repeated id was answered the first time; undefined for a new id. */
  private repeat(scope: string, id: string): Routed | undefined {
    const seen = this.log.seen(scope, id, Date.now());
    if (!seen) return undefined;
    return seen.seq === null
      ? { delivered: true, duplicate: true }
      : { seq: seen.seq, duplicate: true };
  }

  /** Routes a frame once; a repeated id is answered from the log instead. */
  private route(from: string, scope: string, frame: Message): Routed | ProtocolError {
    const repeated = frame.id === undefined ? undefined : this.repeat(scope, frame.id);
    return repeated ?? this.routeNew(from, scope, frame);
  }

  /** Routes a frame whose id (if any) is new, and remembers the id. */
  private routeNew(from: string, scope: string, frame: Message): Routed | ProtocolError {
    const now = Date.now();
    const routed =
      frame.type === "broadcast"
        ? this.broadcast(from, frame.data, now)
        : this.direct(from, frame.to, frame.data, now);
    if (frame.id !== undefined && !("code" in routed)) {
      this.log.remember(scope, frame.id, "seq" in routed ? routed.seq : null, now);
    }
    return routed;
  }

  /** Serialized once, stored, and the same text sent to every receiver. */
  private broadcast(from: string, data: unknown, ts: number): Routed | ProtocolError {
    const seq = this.log.next;
    const text = tryEncode({ type: "message", from, data, ts, seq });
    if (typeof text !== "string") return text;
    this.log.append(seq, from, text, ts);
    this.sendToAll(text, from, seq);
    return { seq };
  }

  private direct(from: string, to: string, data: unknown, ts: number): Routed | ProtocolError {
    const target = this.sessions.get(to) ?? this.fanout.members.get(to);
    if (!target) return { code: "unknown_recipient", message: `no session ${to} in this room` };
    const text = tryEncode({ type: "message", from, to, data, ts });
    if (typeof text !== "string") return text;
    this.deliver(target, text);
    if (this.observers.watching) this.log.whenStored(() => this.observers.send(text));
    return { delivered: true };
  }

  /** Sets a session's presence state where hibernation keeps it, and tells the others. */
  private present(session: Member, state: Json): Routed | ProtocolError {
    const peer = { ...session.peer, state };
    const text = tryEncode({ type: "presence", peer });
    if (typeof text !== "string") return text;
    const bytes = utf8Length(JSON.stringify(state));
    if (bytes > MAX_PRESENCE_BYTES) {
      const message = `presence state is ${bytes} bytes; the limit is ${MAX_PRESENCE_BYTES}`;
      return { code: "too_large", message };
    }
    session.peer = peer;
    const here = this.sessions.get(peer.id);
    if (here) here.ws.serializeAttachment({ ...attachmentOf(here.ws), peer });
    else this.fanout.update(session as Remote);
    if (!session.quiet) this.sendToAll(text, peer.id);
    return { delivered: true };
  }

  private reject(session: Member, error: ProtocolError): void {
    log("protocol_error", { room: this.roomName, session: session.peer.id, code: error.code });
    this.watch.metrics?.refused();
    this.deliver(session, errorFrame(error));
  }

  // ---- time: tokens that expire ---------------------------------------------

  /**
   * Warns the sessions whose tokens expire soon and ends those whose expired,
   * sends the webhooks that are due (src/observe/webhooks.ts), and sets the
   * alarm for the earliest next moment of either. A subclass that sets alarms of its own
   * calls `super.alarm()` and sets them with `wakeAt` (docs/server.md).
   */
  async alarm(): Promise<void> {
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const member of [...this.members()]) {
      const { term } = member;
      if (!term) continue;
      const step = stepOf(term, now);
      if (step === "end") {
        this.end(member, CLOSE_CODES.expired, "the token expired");
        continue;
      }
      if (step === "warn") {
        this.deliver(member, encode({ type: "expiring", at: term.expires }));
        this.saveTerm(member, { expires: term.expires });
      }
      next = Math.min(next, dueAt(member.term ?? term));
    }
    if (next < Number.POSITIVE_INFINITY) await this.wakeAt(next);
    await this.watch.alarm();
  }

  /**
   * Sets the object's alarm to `at` unless it is set earlier already: the
   * one way to set an alarm that the relay's own expiry alarm shares.
   */
  protected wakeAt(at: number): Promise<void> {
    return wakeAt(this.ctx.storage, at);
  }

  /** Makes sure the room wakes when a term next needs it. */
  private keep(term: Term | undefined): void {
    if (!term) return;
    this.wakeAt(dueAt(term)).catch((error: unknown) => {
      log("alarm_error", { room: this.roomName, error: String(error) });
    });
  }

  /** Keeps a member's term where hibernation and eviction keep it. */
  private saveTerm(member: Member, term: Term | undefined): void {
    member.term = term;
    const here = this.sessions.get(member.peer.id);
    if (here) here.ws.serializeAttachment({ ...attachmentOf(here.ws), term });
    else this.fanout.update(member as Remote);
  }

  // ---- the server API (src/room/server-api.ts) ------------------------------

  kick(target: KickTarget, reason: string) {
    return this.api.kick(target, reason);
  }
  ban(user: string, seconds: number, reason: string) {
    return this.api.ban(user, seconds, reason);
  }
  unban(user: string) {
    return this.api.unban(user);
  }
  banned() {
    return this.api.banned();
  }
  publishBody(body: string) {
    return this.api.publishBody(body);
  }
  publish(frame: Message) {
    return this.api.publish(frame);
  }
  describe() {
    return this.api.describe();
  }
  history(since: number, limit: number) {
    return this.api.history(since, limit);
  }

  /** A one-time ticket for a watcher's socket (src/observe/observers.ts). */
  async observeTicket(): Promise<string> {
    return this.observers.ticket(Date.now());
  }

  /** Members in the room now, here and on shards: the directory's check of a stale entry. */
  async liveCount(): Promise<number> {
    return this.headcount;
  }

  // ---- members on shards and hubs (src/room/remote-members.ts) ---------------

  /** A holder's batch of what happened on it: joins, frames, answers, leaves. */
  async uplink(batch: UpBatch): Promise<UpResult> {
    this.named ??= batch.room;
    return this.remote.receive(batch);
  }

  /** Committed broadcasts after `after`, for a holder filling a gap or a resume. */
  async logPage(after: number, limit: number): Promise<LogRow[]> {
    return this.remote.page(after, limit);
  }

  /** Ends a member's session from the room's side: here its socket closes, on a holder it is told to. */
  private end(member: Member, code: number, reason: string): void {
    const here = this.sessions.get(member.peer.id);
    if (here) this.drop(here, code, reason);
    else this.remote.end(member.peer.id, code, reason);
  }

  // ---- a session leaves --------------------------------------------------

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const outlet = this.bySocket.get(ws)?.outlet;
    this.leave(ws, code);
    answerClose(ws, outlet, code, reason);
  }

  async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.leave(ws, 1011, String(error));
  }

  /** The room ends a session itself; frames it sent after this are ignored. */
  private drop(session: Session, code: number, reason: string): void {
    this.leave(session.ws, code, reason);
    session.outlet.close(code, reason);
  }

  private leave(ws: WebSocket, code: number, error?: string): void {
    if (this.departed.has(ws)) return;
    this.departed.add(ws);
    if (this.observers.forget(ws)) return;
    // A socket whose session this life of the room never knew is counted nowhere.
    const known = this.bySocket.get(ws);
    const member = known ?? { ...attachmentOf(ws), address: undefined };
    this.sessions.delete(member.peer.id);
    this.bySocket.delete(ws);
    this.farewell(member as Member, code, error, known !== undefined);
  }

  /** Tells the others a member left (once, and only if its join was announced), then the hook. */
  private farewell(member: Member, code: number, error?: string, counted = true): void {
    const { peer } = member;
    if (counted) this.roster.left(member);
    if (!member.quiet) this.sendToAll(encode({ type: "leave", peer }));
    this.occupancy.changed();
    this.watch.left(peer);
    notify(() => this.onLeave(peer), this.roomName, "onLeave");
    log("close", {
      room: this.roomName,
      session: peer.id,
      code,
      error,
      connections: this.headcount,
    });
  }

  // ---- plumbing ------------------------------------------------------------

  /** The room's name, for hooks that make rules per room. */
  protected get roomName(): string {
    return this.ctx.id.name ?? this.named ?? "";
  }

  /** Everyone in the room: sessions here, then members on shards. */
  private *members(): Iterable<Member> {
    yield* this.sessions.values();
    yield* this.fanout.members.values();
  }

  /** Whether this member is still in the room, as this very object. */
  private holds(member: Member): boolean {
    const id = member.peer.id;
    return this.sessions.get(id) === member || this.fanout.members.get(id) === member;
  }

  private get headcount(): number {
    return this.sessions.size + this.fanout.members.size;
  }

  private remember(ws: WebSocket, attachment: Attachment): Session {
    const limiter = new RateLimiter(this.limits.ratePerSecond, this.limits.rateBurst, Date.now());
    const outlet = new Outlet(ws, attachment.batched === true, this.turn);
    const send = (text: string) => outlet.send(text);
    const session: Session = { ...attachment, ws, outlet, limiter, order: new InOrder(), send };
    this.sessions.set(attachment.peer.id, session);
    this.bySocket.set(ws, session);
    return session;
  }

  /**
   * Sends one serialized frame to every member but `except` (here, on shards,
   * and to watchers), once the log has committed what came before it. A
   * broadcast (`seq`) comes from `except`; a session that is replaying gets it
   * from the log instead, in its place.
   */
  private sendToAll(text: string, except?: string, seq?: number): void {
    this.log.whenStored(() => {
      this.sendHere(text, except, seq !== undefined);
      if (seq === undefined) this.fanout.all(text, except);
      else this.fanout.broadcast(seq, except ?? "", text);
      this.observers.send(text);
      this.watch.metrics?.sent(this.headcount - (except === undefined ? 0 : 1), text);
    });
  }

  /** Sends to the sessions this object holds; `fromLog` skips those replaying (they read the log). */
  private sendHere(text: string, except?: string, fromLog = false): void {
    sendEach(this.sessions.values(), text, (s) => s.peer.id === except || (fromLog && !!s.replay));
  }

  /** Sends to one member once the log has committed what came before it. */
  private deliver(member: Member, text: string): void {
    this.log.whenStored(() => member.send(text));
    this.watch.metrics?.sent(1, text);
  }
}

function attachmentOf(ws: WebSocket): Attachment {
  return ws.deserializeAttachment() as Attachment;
}

function ackOf(routed: Routed): { seq?: number; duplicate?: true } {
  return { seq: "seq" in routed ? routed.seq : undefined, duplicate: routed.duplicate };
}
