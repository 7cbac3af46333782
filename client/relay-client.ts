/**
 * The reconnecting client: one connection at a time, resumed where the last
 * one left off, with every send settled by the relay's ack (docs/client.md).
 */
import {
  CLOSE_CODES,
  type ClientFrame,
  type Json,
  NDJSON_PROTOCOL,
  type Peer,
  type ServerFrame,
  type WelcomeFrame,
} from "../src/frames";
import { backoffDelay } from "./backoff";
import { Batcher, type BatchLimits } from "./batch";
import { Emitter } from "./emitter";
import { Heartbeat } from "./heartbeat";
import { randomId } from "./ids";
import { type Ack, Outbox, RelayError } from "./outbox";
import { parseServerFrames } from "./parse";
import { PeerView } from "./peer-view";
import { Refresher } from "./refresh";
import { SequenceTracker } from "./sequence";
import type { SocketFactory, SocketLike } from "./socket";
import { SubprotocolChoice } from "./subprotocol";
import type { ClientEvents, ConnectOptions, Ended, SendOptions, Status } from "./types";
import { socketUrl } from "./url";

/** A frame the client sends: always with an id, so it can be acked and deduplicated. */
type OutgoingFrame = ClientFrame & { id: string };

/** A connection that lived this long counts as stable, and the backoff starts over. */
const STABLE_MS = 5_000;
const OPEN = 1;

/** One socket and what belongs to it; a new one for every attempt. */
type Connection = {
  socket: SocketLike;
  offered: boolean;
  opened: boolean;
  connectTimer: ReturnType<typeof setTimeout>;
  heartbeat?: Heartbeat;
  batcher?: Batcher;
  refresher?: Refresher;
  welcomedAt?: number;
};

export class RelayClient extends Emitter<ClientEvents> {
  /** Random and fixed for this object's life; sent as ?client= so the relay scopes message ids. */
  readonly clientId = randomId();

  private readonly peerMap = new Map<string, Peer>();
  private readonly peerView = new PeerView(this.peerMap);
  private sessionId: string | undefined;
  private headcount = 0;
  private current: Status = Object.freeze({ state: "connecting", attempt: 0 });
  private readonly outbox = new Outbox();
  private readonly sequence = new SequenceTracker();
  private readonly subprotocol: SubprotocolChoice;
  private readonly idPrefix = randomId(8);
  private readonly Socket: SocketFactory;
  private readonly url: URL;
  private connection: Connection | undefined;
  private attempt = 0;
  private counter = 0;
  /** Bumped whenever a pending connection attempt must be abandoned. */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** Throws at once if `url` is not a URL or there is no WebSocket to connect with. */
  constructor(
    url: string,
    private readonly options: ConnectOptions,
  ) {
    super();
    const Socket = options.WebSocket ?? (globalThis.WebSocket as SocketFactory | undefined);
    if (!Socket) throw new Error("no global WebSocket: use Node 22+ or pass options.WebSocket");
    this.Socket = Socket;
    this.url = new URL(url);
    this.subprotocol = new SubprotocolChoice(options.batch ?? true);
    // Let the caller attach listeners before the first status event; a close()
    // or disconnect() before then bumps the generation and cancels it.
    const generation = this.generation;
    queueMicrotask(() => {
      if (generation === this.generation) void this.open();
    });
  }

  /** Everyone else in the room, by session id; rebuilt on every welcome. */
  get peers(): ReadonlyMap<string, Peer> {
    return this.peerView;
  }

  /**
   * Everyone in the room, this session included. In a room past the relay's
   * `PRESENCE_MAX`, `peers` lists only the announced members and this is the
   * way to know how many are there.
   */
  get occupancy(): number {
    return this.headcount;
  }

  /** This connection's session id; it changes on every reconnect. */
  get id(): string | undefined {
    return this.sessionId;
  }

  /** The last `status` event. */
  get status(): Status {
    return this.current;
  }

  /** Sends to everyone else in the room; resolves with the relay's ack (`seq` = its place in history). */
  broadcast(data: unknown, options: SendOptions = {}): Promise<Ack> {
    const id = options.id ?? this.nextId();
    return this.send({ type: "broadcast", data, id });
  }

  /** Sends to one session of the room (an id from `peers`); resolves with the relay's ack. */
  direct(to: string, data: unknown, options: SendOptions = {}): Promise<Ack> {
    const id = options.id ?? this.nextId();
    return this.send({ type: "direct", to, data, id });
  }

  /**
   * Sets what peers see of this session (`peer.state`, up to 2 KB of JSON);
   * resolves on the relay's ack. The relay keeps it for this session only:
   * after a reconnect, set it again on `welcome` (the React hooks do).
   */
  setPresence(state: Json): Promise<void> {
    return this.send({ type: "presence", state, id: this.nextId() }).then(() => undefined);
  }

  /** Drops the connection and stays offline until reconnect(); unacked sends wait. */
  disconnect(): void {
    if (this.current.state === "closed") return;
    this.teardown(1000, "offline");
    this.setStatus({ state: "offline", attempt: this.attempt });
  }

  /** Connects now, dropping the current connection if any (e.g. when the network came back). */
  reconnect(): void {
    if (this.current.state === "closed") return;
    this.teardown(1000, "reconnect");
    this.attempt = 0;
    void this.open();
  }

  /** Closes for good; pending sends are rejected with code `closed`. */
  close(): void {
    if (this.current.state === "closed") return;
    this.teardown(1000, "closed");
    this.outbox.rejectAll(new RelayError("closed", "the client was closed"));
    this.setStatus({ state: "closed", attempt: this.attempt });
  }

  private send(frame: OutgoingFrame): Promise<Ack> {
    const { id } = frame;
    if (this.current.state === "closed") {
      return Promise.reject(new RelayError("closed", "the client was closed", id));
    }
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch {
      return Promise.reject(new RelayError("bad_message", "data cannot be encoded as JSON", id));
    }
    const waiting = this.outbox.has(id);
    const promise = this.outbox.add(id, text);
    // Otherwise it goes out, in order, right after the next welcome.
    if (!waiting) this.connection?.batcher?.add(id, text);
    return promise;
  }

  private nextId(): string {
    this.counter++;
    return `${this.idPrefix}-${this.counter}`;
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    const again = this.attempt > 0 || this.sequence.resumeParams() !== undefined;
    this.setStatus({ state: again ? "reconnecting" : "connecting", attempt: this.attempt });
    let url: string;
    try {
      url = await socketUrl(this.url, this.options, this.clientId, this.sequence.resumeParams());
    } catch (error) {
      if (generation === this.generation)
        this.cannotStart(generation, "cannot build the URL", error);
      return;
    }
    // close(), disconnect() or reconnect() ran while the token was being fetched.
    if (generation !== this.generation) return;
    const protocols = this.subprotocol.offer();
    let socket: SocketLike;
    try {
      socket = new this.Socket(url, protocols);
    } catch (error) {
      // A malformed URL or a blocked scheme or port: the constructor throws instead of closing.
      this.cannotStart(generation, "cannot open a WebSocket", error);
      return;
    }
    this.watch(socket, protocols.length > 0);
  }

  private cannotStart(generation: number, what: string, error: unknown): void {
    this.emit("error", new RelayError("connect_failed", `${what}: ${String(error)}`));
    // A listener may have called close(), disconnect() or reconnect() meanwhile.
    if (generation === this.generation) this.retry();
  }

  private watch(socket: SocketLike, offered: boolean): void {
    const connection: Connection = {
      socket,
      offered,
      opened: false,
      connectTimer: setTimeout(
        () => this.lose(connection, "connect timeout"),
        this.options.connectTimeoutMs ?? 10_000,
      ),
    };
    this.connection = connection;
    // Events from a socket we have let go of are ignored.
    socket.addEventListener("open", () => {
      if (this.connection !== connection) return;
      connection.opened = true;
      this.subprotocol.opened(offered);
    });
    socket.addEventListener("message", (event) => {
      if (this.connection === connection && typeof event.data === "string") {
        this.receive(connection, event.data);
      }
    });
    socket.addEventListener("close", (event) => this.closed(connection, event.code, event.reason));
    socket.addEventListener("error", () => this.lose(connection, "error"));
  }

  private receive(connection: Connection, text: string): void {
    connection.heartbeat?.alive();
    if (text === "pong") return;
    for (const frame of parseServerFrames(text)) {
      // A frame may have closed this connection (e.g. a listener called close()).
      if (this.connection !== connection) return;
      this.handle(connection, frame);
    }
  }

  private handle(connection: Connection, frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        this.onWelcome(connection, frame);
        break;
      case "join":
        this.peerMap.set(frame.peer.id, frame.peer);
        this.emit("join", frame.peer);
        break;
      case "presence":
        if (!this.peerMap.has(frame.peer.id)) break;
        this.peerMap.set(frame.peer.id, frame.peer);
        this.emit("presence", frame.peer);
        break;
      case "leave":
        // Our own earlier session may linger until the relay notices it died: never shown.
        if (this.peerMap.delete(frame.peer.id)) this.emit("leave", frame.peer);
        break;
      case "occupancy":
        this.headcount = frame.count;
        this.emit("occupancy", frame.count);
        break;
      case "message":
        if (this.sequence.accept(frame)) {
          const { type: _type, ...message } = frame;
          this.emit("message", message);
        }
        break;
      case "expiring":
        connection.refresher?.expiring();
        break;
      case "ack":
        if (connection.refresher?.acked(frame.id)) break;
        this.sequence.acked(frame.seq);
        this.outbox.resolve(frame.id, ackOf(frame));
        break;
      case "error":
        if (frame.id !== undefined && connection.refresher?.refused(frame.id, frame.message)) break;
        // Sent after the token expired: it goes again after the reconnect that follows.
        if (frame.code === "expired" && frame.id !== undefined && this.outbox.has(frame.id)) break;
        if (frame.id !== undefined && this.outbox.has(frame.id)) {
          this.outbox.reject(frame.id, new RelayError(frame.code, frame.message, frame.id));
        } else {
          this.emit("error", new RelayError(frame.code, frame.message, frame.id));
        }
        break;
    }
  }

  private onWelcome(connection: Connection, frame: WelcomeFrame): void {
    clearTimeout(connection.connectTimer);
    const resumed = this.sequence.resumeParams() !== undefined;
    const gap = this.sequence.welcome(frame, resumed);
    this.sessionId = frame.id;
    // A relay older than occupancy counts announced peers only.
    this.headcount = frame.occupancy ?? frame.peers.length + 1;
    this.peerMap.clear();
    for (const peer of frame.peers) {
      if (!this.sequence.isOwnSession(peer.id)) this.peerMap.set(peer.id, peer);
    }
    connection.welcomedAt = Date.now();
    connection.heartbeat = new Heartbeat(
      connection.socket,
      this.options.heartbeatIntervalMs ?? 20_000,
      this.options.heartbeatTimeoutMs ?? 10_000,
      () => this.lose(connection, "heartbeat timeout"),
    );
    connection.heartbeat.start();
    const limits = batchLimits(connection.socket, frame);
    const batcher = new Batcher(
      limits,
      (text, ids) => this.write(connection, text, ids),
      (id, bytes) => this.outbox.reject(id, tooLarge(id, bytes, limits.maxBytes)),
    );
    connection.batcher = batcher;
    connection.refresher = new Refresher({
      token: this.options.token,
      backoff: this.options.backoff,
      send: (id, text) => batcher.add(id, text),
      failed: (error) => this.emit("error", error),
      nextId: () => this.nextId(),
    });
    // Everything unacknowledged goes again with its id, before anything a
    // listener sends below; the relay drops repeats.
    for (const [id, text] of this.outbox.waiting()) batcher.add(id, text);
    // Each listener may close or drop this connection; what follows is then moot.
    this.emit("welcome", frame);
    if (gap && this.connection === connection) this.emit("gap", { reason: gap });
    if (this.connection === connection)
      this.setStatus({ state: "connected", attempt: this.attempt });
  }

  private write(connection: Connection, text: string, ids: string[]): void {
    if (this.connection !== connection || connection.socket.readyState !== OPEN) return;
    connection.socket.send(text);
    for (const id of ids) this.outbox.sent(id, this.options.ackTimeoutMs ?? 10_000);
  }

  /**
   * The relay closed the socket. After an expiry the client reconnects at
   * once (with a fresh token, if the token is a function); after a refusal or
   * a kick it stops for good; anything else is a lost connection.
   */
  private closed(connection: Connection, code?: number, reason = ""): void {
    if (this.connection !== connection) return;
    if (code === CLOSE_CODES.forbidden || code === CLOSE_CODES.kicked) {
      const cause = code === CLOSE_CODES.forbidden ? "forbidden" : "kicked";
      this.end({ cause, code, reason });
    } else if (code === CLOSE_CODES.expired) {
      this.teardown(1000, "expired");
      this.attempt = 0;
      void this.open();
    } else this.lose(connection, "closed");
  }

  /** The relay ended the session for good: pending sends fail, and the client stays closed. */
  private end(ended: Ended): void {
    this.teardown(1000, "ended");
    this.outbox.rejectAll(new RelayError("closed", `the relay ended the session: ${ended.reason}`));
    this.emit("ended", ended);
    this.setStatus({ state: "closed", attempt: this.attempt, ended });
  }

  /** A socket died (closed, timed out, or missed its pong): let it go and schedule a retry. */
  private lose(connection: Connection, reason: string): void {
    if (this.connection !== connection) return;
    if (!connection.opened) this.subprotocol.failed(connection.offered);
    const { welcomedAt } = connection;
    const stable = welcomedAt !== undefined && Date.now() - welcomedAt >= STABLE_MS;
    this.teardown(4000, reason);
    if (stable) this.attempt = 0;
    this.retry();
  }

  private retry(): void {
    const attempt = this.attempt++;
    const delay = backoffDelay(attempt, this.options.backoff);
    // Scheduled before the status event, so a listener's close() can cancel it.
    this.retryTimer = setTimeout(() => void this.open(), delay);
    this.setStatus({ state: "reconnecting", attempt, retryInMs: delay });
  }

  /** Stops everything tied to the current connection; the outbox is kept. */
  private teardown(code: number, reason: string): void {
    this.generation++;
    clearTimeout(this.retryTimer);
    const connection = this.connection;
    this.connection = undefined;
    this.outbox.pause();
    if (!connection) return;
    clearTimeout(connection.connectTimer);
    connection.heartbeat?.stop();
    connection.refresher?.stop();
    connection.batcher?.clear();
    // Closing a socket that is still connecting is allowed and aborts it.
    if (connection.socket.readyState <= OPEN) connection.socket.close(code, reason);
  }

  private setStatus(status: Status): void {
    this.current = Object.freeze(status);
    this.emit("status", this.current);
  }
}

/**
 * What one frame to this relay may carry: batches only where the relay echoed
 * the subprotocol; a relay without `limits` in its welcome predates batching.
 */
function batchLimits(socket: SocketLike, welcome: WelcomeFrame): BatchLimits {
  const limits: Partial<WelcomeFrame["limits"]> = welcome.limits ?? {};
  const batching = socket.protocol === NDJSON_PROTOCOL;
  return {
    maxFrames: batching ? (limits.maxBatchFrames ?? 1) : 1,
    maxBytes: limits.maxMessageBytes ?? Number.POSITIVE_INFINITY,
  };
}

/** The refusal the relay would send, made here: the frame would only waste the upload. */
function tooLarge(id: string, bytes: number, limit: number): RelayError {
  return new RelayError("too_large", `frame is ${bytes} bytes; the limit is ${limit}`, id);
}

function ackOf(frame: Ack): Ack {
  const ack: Ack = {};
  if (frame.seq !== undefined) ack.seq = frame.seq;
  if (frame.duplicate) ack.duplicate = true;
  return ack;
}
