/**
 * A reconnecting client for the edge-relay protocol (docs/protocol.md, and
 * docs/client.md for how it behaves). Runs in browsers and in Node 22+, using
 * the global WebSocket.
 */
import { type BackoffOptions, backoffDelay } from "./backoff";
import { Emitter } from "./emitter";
import { randomId } from "./ids";
import { type Ack, Outbox, RelayError } from "./outbox";
import {
  type GapReason,
  type OutgoingFrame,
  type Peer,
  parseServerFrame,
  type ServerFrame,
  type WelcomeFrame,
} from "./protocol";
import { SequenceTracker } from "./sequence";

export type { Ack, BackoffOptions, GapReason, Peer, WelcomeFrame };
export { RelayError };

/** The part of a WebSocket the client uses; the global WebSocket of browsers and Node fits. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: () => void): void;
}

export type SocketFactory = new (url: string) => SocketLike;

export type ConnectOptions = {
  room: string;
  /** Display name shown to peers. */
  name?: string;
  /** JWT for relays with AUTH_SECRET; a function is called before every connection, to refresh it. */
  token?: string | (() => string | Promise<string>);
  /** How long the relay has to ack a frame once it is written to an open socket. Default 10 s. */
  ackTimeoutMs?: number;
  /** How often to send `ping` on an idle connection. Default 20 s. */
  heartbeatIntervalMs?: number;
  /** How long to wait for `pong` (or any frame) before calling the connection dead. Default 10 s. */
  heartbeatTimeoutMs?: number;
  /** How long a connection attempt may take, until the welcome. Default 10 s. */
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Defaults to the global WebSocket. */
  WebSocket?: SocketFactory;
};

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline" | "closed";

export type Status = {
  state: ConnectionState;
  /** Failed attempts since the connection was last stable. */
  attempt: number;
  /** Set while waiting to retry. */
  retryInMs?: number;
};

export type Message = { from: string; to?: string; data: unknown; ts: number; seq?: number };

export type ClientEvents = {
  welcome: WelcomeFrame;
  join: Peer;
  leave: Peer;
  message: Message;
  /** Error frames not tied to a pending send, and failures to build a connection URL. */
  error: RelayError;
  status: Status;
  /** A resume could not replay what was missed: messages between the two connections are lost. */
  gap: { reason: GapReason };
};

export type SendOptions = {
  /** Your own idempotency id (1-64 characters); by default the client makes one. */
  id?: string;
};

const OPEN = 1;
/** A connection that lived this long counts as stable, and the backoff starts over. */
const STABLE_MS = 5_000;

export function connect(url: string, options: ConnectOptions): RelayClient {
  return new RelayClient(url, options);
}

export class RelayClient extends Emitter<ClientEvents> {
  /** Random and fixed for this object's life; sent as ?client= so the relay scopes message ids. */
  readonly clientId = randomId();
  /** Everyone else in the room, by session id; rebuilt on every welcome. */
  readonly peers = new Map<string, Peer>();
  /** This connection's session id; it changes on every reconnect. */
  id: string | undefined;
  status: Status = { state: "connecting", attempt: 0 };

  private readonly outbox = new Outbox();
  private readonly sequence = new SequenceTracker();
  private readonly idPrefix = randomId(8);
  private readonly Socket: SocketFactory;
  private socket: SocketLike | undefined;
  private welcomed = false;
  private welcomedAt = 0;
  private attempt = 0;
  private counter = 0;
  /** Bumped whenever a pending connection attempt must be abandoned. */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly options: ConnectOptions,
  ) {
    super();
    const Socket = options.WebSocket ?? (globalThis.WebSocket as SocketFactory | undefined);
    if (!Socket) throw new Error("no global WebSocket: use Node 22+ or pass options.WebSocket");
    this.Socket = Socket;
    // Let the caller attach listeners before the first status event.
    queueMicrotask(() => void this.open());
  }

  /** Sends to everyone else in the room; resolves with the relay's ack (`seq` = its place in history). */
  broadcast(data: unknown, options: SendOptions = {}): Promise<Ack> {
    const id = options.id ?? this.nextId();
    return this.send(id, { type: "broadcast", data, id });
  }

  /** Sends to one session of the room (an id from `peers`); resolves with the relay's ack. */
  direct(to: string, data: unknown, options: SendOptions = {}): Promise<Ack> {
    const id = options.id ?? this.nextId();
    return this.send(id, { type: "direct", to, data, id });
  }

  /** Drops the connection and stays offline until reconnect(); unacked sends wait. */
  disconnect(): void {
    if (this.status.state === "closed") return;
    this.teardown(1000, "offline");
    this.setStatus({ state: "offline", attempt: this.attempt });
  }

  /** Connects now, dropping the current connection if any (e.g. when the network came back). */
  reconnect(): void {
    if (this.status.state === "closed") return;
    this.teardown(1000, "reconnect");
    this.attempt = 0;
    void this.open();
  }

  /** Closes for good; pending sends are rejected with code `closed`. */
  close(): void {
    if (this.status.state === "closed") return;
    this.teardown(1000, "closed");
    this.outbox.rejectAll(new RelayError("closed", "the client was closed"));
    this.setStatus({ state: "closed", attempt: this.attempt });
  }

  private send(id: string, frame: OutgoingFrame): Promise<Ack> {
    if (this.status.state === "closed") {
      return Promise.reject(new RelayError("closed", "the client was closed", id));
    }
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch {
      return Promise.reject(new RelayError("bad_message", "data cannot be encoded as JSON", id));
    }
    const promise = this.outbox.add(id, text);
    // Otherwise it goes out, in order, right after the next welcome.
    if (this.welcomed) this.write(id, text);
    return promise;
  }

  private write(id: string, text: string): void {
    this.socket?.send(text);
    this.outbox.sent(id, this.options.ackTimeoutMs ?? 10_000);
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
      url = await this.connectUrl();
    } catch (error) {
      if (generation !== this.generation) return;
      this.emit(
        "error",
        new RelayError("connect_failed", `cannot build the URL: ${String(error)}`),
      );
      this.retry();
      return;
    }
    // close(), disconnect() or reconnect() ran while the token was being fetched.
    if (generation !== this.generation) return;
    const socket = new this.Socket(url);
    this.socket = socket;
    this.connectTimer = setTimeout(
      () => this.lose(socket, "connect timeout"),
      this.options.connectTimeoutMs ?? 10_000,
    );
    // Events from a socket we have let go of are ignored.
    socket.addEventListener("message", (event) => {
      if (this.socket === socket && typeof event.data === "string") this.receive(event.data);
    });
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.lose(socket, "closed");
    });
  }

  private async connectUrl(): Promise<string> {
    const url = new URL(this.url);
    url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/rooms/${encodeURIComponent(this.options.room)}/ws`;
    const params = url.searchParams;
    if (this.options.name !== undefined) params.set("name", this.options.name);
    params.set("client", this.clientId);
    const token = this.options.token;
    if (token !== undefined)
      params.set("token", typeof token === "function" ? await token() : token);
    const resume = this.sequence.resumeParams();
    if (resume) {
      params.set("since", String(resume.since));
      params.set("epoch", resume.epoch);
    }
    return url.href;
  }

  private receive(text: string): void {
    // Any frame proves the connection is alive, not only a pong.
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (text === "pong") return;
    const frame = parseServerFrame(text);
    if (frame) this.handle(frame);
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        this.onWelcome(frame);
        break;
      case "join":
        this.peers.set(frame.peer.id, frame.peer);
        this.emit("join", frame.peer);
        break;
      case "leave":
        // Our own earlier session may linger until the relay notices it died: never shown.
        if (this.peers.delete(frame.peer.id)) this.emit("leave", frame.peer);
        break;
      case "message":
        if (this.sequence.accept(frame)) {
          const { type: _type, ...message } = frame;
          this.emit("message", message);
        }
        break;
      case "ack":
        this.sequence.acked(frame.seq);
        this.outbox.resolve(frame.id, ackOf(frame));
        break;
      case "error":
        if (frame.id !== undefined && this.outbox.has(frame.id)) {
          this.outbox.reject(frame.id, new RelayError(frame.code, frame.message, frame.id));
        } else {
          this.emit("error", new RelayError(frame.code, frame.message, frame.id));
        }
        break;
    }
  }

  private onWelcome(frame: WelcomeFrame): void {
    clearTimeout(this.connectTimer);
    const resumed = this.sequence.resumeParams() !== undefined;
    const gap = this.sequence.welcome(frame, resumed);
    this.id = frame.id;
    this.peers.clear();
    for (const peer of frame.peers) {
      if (!this.sequence.isOwnSession(peer.id)) this.peers.set(peer.id, peer);
    }
    this.welcomed = true;
    this.welcomedAt = Date.now();
    this.startHeartbeat();
    this.emit("welcome", frame);
    if (gap) this.emit("gap", { reason: gap });
    this.setStatus({ state: "connected", attempt: this.attempt });
    // Everything unacknowledged goes again with its id; the relay drops repeats.
    for (const [id, text] of this.outbox.waiting()) this.write(id, text);
  }

  private startHeartbeat(): void {
    const socket = this.socket;
    const interval = this.options.heartbeatIntervalMs ?? 20_000;
    const timeout = this.options.heartbeatTimeoutMs ?? 10_000;
    this.pingTimer = setInterval(() => {
      if (!socket || this.pongTimer !== undefined || socket.readyState !== OPEN) return;
      socket.send("ping");
      this.pongTimer = setTimeout(() => this.lose(socket, "heartbeat timeout"), timeout);
    }, interval);
  }

  /** A socket died (closed, timed out, or missed its pong): let it go and schedule a retry. */
  private lose(socket: SocketLike, reason: string): void {
    if (this.socket !== socket) return;
    const stable = this.welcomed && Date.now() - this.welcomedAt >= STABLE_MS;
    this.teardown(4000, reason);
    if (stable) this.attempt = 0;
    this.retry();
  }

  private retry(): void {
    const delay = backoffDelay(this.attempt, this.options.backoff);
    this.setStatus({ state: "reconnecting", attempt: this.attempt, retryInMs: delay });
    this.attempt++;
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  /** Stops everything tied to the current connection; the outbox is kept. */
  private teardown(code: number, reason: string): void {
    this.generation++;
    const socket = this.socket;
    this.socket = undefined;
    this.welcomed = false;
    for (const timer of [this.retryTimer, this.connectTimer, this.pongTimer]) clearTimeout(timer);
    clearInterval(this.pingTimer);
    this.pongTimer = undefined;
    this.outbox.pause();
    // Closing a socket that is still connecting is allowed and aborts it.
    if (socket && socket.readyState <= OPEN) socket.close(code, reason);
  }

  private setStatus(status: Status): void {
    this.status = status;
    this.emit("status", status);
  }
}

function ackOf(frame: { seq?: number; duplicate?: boolean }): Ack {
  const ack: Ack = {};
  if (frame.seq !== undefined) ack.seq = frame.seq;
  if (frame.duplicate) ack.duplicate = true;
  return ack;
}
