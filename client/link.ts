/**
 * One reconnecting socket to the relay: it opens a socket, gives it up when
 * it does not connect in time or stops answering pings, and retries with
 * backoff. What travels on the socket and what a close code means belong to
 * its owner: the single-room `RelayClient`, or the multi-room `RelayRooms`.
 */
import { backoffDelay } from "./backoff";
import { Batcher, type BatchLimits } from "./batch";
import { Heartbeat } from "./heartbeat";
import { RelayError } from "./outbox";
import { parseServerFrames } from "./parse";
import type { SocketFactory, SocketLike } from "./socket";
import { SubprotocolChoice } from "./subprotocol";
import type { ConnectOptions, Status } from "./types";

/** A connection that lived this long counts as stable, and the backoff starts over. */
const STABLE_MS = 5_000;
const OPEN = 1;

/** One socket and what belongs to it; a new one for every attempt. */
export type Connection = {
  socket: SocketLike;
  offered: boolean;
  opened: boolean;
  connectTimer: ReturnType<typeof setTimeout>;
  heartbeat?: Heartbeat;
  batcher?: Batcher;
  establishedAt?: number;
};

/** The options of `connect` that concern the socket rather than a room. */
export type LinkOptions = Pick<
  ConnectOptions,
  | "ackTimeoutMs"
  | "heartbeatIntervalMs"
  | "heartbeatTimeoutMs"
  | "connectTimeoutMs"
  | "backoff"
  | "batch"
  | "WebSocket"
>;

/** What the link asks of its owner; `F` is what the relay sends on this kind of socket. */
export interface LinkOwner<F> {
  /** The URL of the next attempt (it may wait for a token). */
  url(): Promise<string>;
  /** Whether the next attempt resumes something, so its status says `reconnecting`. */
  resuming(): boolean;
  /** The handshake of `connection` succeeded. */
  opened(connection: Connection): void;
  /** One frame from the relay, in order; the connection is still the current one. */
  frame(connection: Connection, frame: F): void;
  /** The relay closed the socket; true if the owner took care of it, else it is a lost connection. */
  closed(code: number | undefined, reason: string): boolean;
  /** Frames with these batch keys were just written to an open socket. */
  written(keys: string[]): void;
  /** A frame too large for the relay; it is not sent. */
  tooLarge(key: string, bytes: number, limit: number): void;
  /** The current connection is gone (for whatever reason); nothing more goes out on it. */
  dropped(): void;
  status(status: Status): void;
  error(error: RelayError): void;
}

export class Link<F extends { type: string }> {
  private current: Status = Object.freeze({ state: "connecting", attempt: 0 });
  private readonly subprotocol: SubprotocolChoice;
  private readonly Socket: SocketFactory;
  private connection: Connection | undefined;
  private attempt = 0;
  /** Bumped whenever a pending connection attempt must be abandoned. */
  private generation = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** Throws at once if there is no WebSocket to connect with. */
  constructor(
    private readonly options: LinkOptions,
    private readonly owner: LinkOwner<F>,
  ) {
    const Socket = options.WebSocket ?? (globalThis.WebSocket as SocketFactory | undefined);
    if (!Socket) throw new Error("no global WebSocket: use Node 22+ or pass options.WebSocket");
    this.Socket = Socket;
    this.subprotocol = new SubprotocolChoice(options.batch ?? true);
  }

  /**
   * Connects a microtask from now, so the caller can attach listeners before
   * the first status event; a close() or disconnect() before then cancels it.
   */
  start(): void {
    const generation = this.generation;
    queueMicrotask(() => {
      if (generation === this.generation) void this.open();
    });
  }

  get status(): Status {
    return this.current;
  }

  /** The current connection, if it is established (welcomed, or open for a multi-room socket). */
  get established(): Connection | undefined {
    return this.connection?.batcher ? this.connection : undefined;
  }

  isCurrent(connection: Connection): boolean {
    return this.connection === connection;
  }

  /**
   * The connection is ready for frames: its connect deadline stops, its
   * heartbeat starts, and its frames are packed within `limits` from now on.
   */
  establish(connection: Connection, limits: BatchLimits): Batcher {
    clearTimeout(connection.connectTimer);
    connection.establishedAt = Date.now();
    connection.heartbeat?.stop();
    connection.heartbeat = new Heartbeat(
      connection.socket,
      this.options.heartbeatIntervalMs ?? 20_000,
      this.options.heartbeatTimeoutMs ?? 10_000,
      () => this.lose(connection, "heartbeat timeout"),
    );
    connection.heartbeat.start();
    connection.batcher = new Batcher(
      limits,
      (text, keys) => this.write(connection, text, keys),
      (key, bytes, limit) => this.owner.tooLarge(key, bytes, limit),
    );
    return connection.batcher;
  }

  /** Drops the connection and stays offline until reconnect(). */
  disconnect(): void {
    if (this.current.state === "closed") return;
    this.teardown(1000, "offline");
    this.setStatus({ state: "offline", attempt: this.attempt });
  }

  /** Connects now, dropping the current connection if any. */
  reconnect(): void {
    if (this.current.state === "closed") return;
    this.teardown(1000, "reconnect");
    this.attempt = 0;
    void this.open();
  }

  /** Closes for good with `status` (`closed`, maybe with why). */
  close(status: Status = { state: "closed", attempt: this.attempt }): void {
    if (this.current.state === "closed") return;
    this.teardown(1000, status.ended ? "ended" : "closed");
    this.setStatus(status);
  }

  /** A socket died (closed, timed out, or missed its pong): let it go and schedule a retry. */
  lose(connection: Connection, reason: string): void {
    if (this.connection !== connection) return;
    if (!connection.opened) this.subprotocol.failed(connection.offered);
    const { establishedAt } = connection;
    const stable = establishedAt !== undefined && Date.now() - establishedAt >= STABLE_MS;
    this.teardown(4000, reason);
    if (stable) this.attempt = 0;
    this.retry();
  }

  setStatus(status: Status): void {
    this.current = Object.freeze(status);
    this.owner.status(this.current);
  }

  /** Marks the current state connected, at the current attempt count. */
  connected(): void {
    this.setStatus({ state: "connected", attempt: this.attempt });
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    const again = this.attempt > 0 || this.owner.resuming();
    this.setStatus({ state: again ? "reconnecting" : "connecting", attempt: this.attempt });
    let url: string;
    try {
      url = await this.owner.url();
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
    this.owner.error(new RelayError("connect_failed", `${what}: ${String(error)}`));
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
      this.owner.opened(connection);
    });
    socket.addEventListener("message", (event) => {
      if (this.connection === connection && typeof event.data === "string") {
        this.receive(connection, event.data);
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.connection !== connection) return;
      if (!this.owner.closed(event.code, event.reason ?? "")) this.lose(connection, "closed");
    });
    socket.addEventListener("error", () => this.lose(connection, "error"));
  }

  private receive(connection: Connection, text: string): void {
    connection.heartbeat?.alive();
    if (text === "pong") return;
    for (const frame of parseServerFrames<F>(text)) {
      // A frame may have closed this connection (e.g. a listener called close()).
      if (this.connection !== connection) return;
      this.owner.frame(connection, frame);
    }
  }

  private write(connection: Connection, text: string, keys: string[]): void {
    if (this.connection !== connection || connection.socket.readyState !== OPEN) return;
    connection.socket.send(text);
    this.owner.written(keys);
  }

  private retry(): void {
    const attempt = this.attempt++;
    const delay = backoffDelay(attempt, this.options.backoff);
    // Scheduled before the status event, so a listener's close() can cancel it.
    this.retryTimer = setTimeout(() => void this.open(), delay);
    this.setStatus({ state: "reconnecting", attempt, retryInMs: delay });
  }

  /** Stops everything tied to the current connection. */
  private teardown(code: number, reason: string): void {
    this.generation++;
    clearTimeout(this.retryTimer);
    const connection = this.connection;
    this.connection = undefined;
    this.owner.dropped();
    if (!connection) return;
    clearTimeout(connection.connectTimer);
    connection.heartbeat?.stop();
    connection.batcher?.clear();
    // Closing a socket that is still connecting is allowed and aborts it.
    if (connection.socket.readyState <= OPEN) connection.socket.close(code, reason);
  }
}
