/**
 * The reconnecting client of one room: one connection at a time, resumed
 * where the last one left off, with every send settled by the relay's ack
 * (docs/client.md). The socket loop is `Link`'s, the room's state `RoomSession`'s.
 */
import {
  CLOSE_CODES,
  type Json,
  type Peer,
  type ServerFrame,
  type WelcomeFrame,
} from "../src/frames";
import { batchLimits } from "./batch";
import { Emitter } from "./emitter";
import { randomId } from "./ids";
import { type Connection, Link, type LinkOwner } from "./link";
import { type Ack, RelayError } from "./outbox";
import { RoomSession } from "./room-session";
import type { ClientEvents, ConnectOptions, Ended, SendOptions, Status } from "./types";
import { socketUrl } from "./url";

export class RelayClient extends Emitter<ClientEvents> {
  /** Random and fixed for this object's life; sent as ?client= so the relay scopes message ids. */
  readonly clientId = randomId();

  private readonly session: RoomSession;
  private readonly link: Link<ServerFrame>;
  private readonly url: URL;

  /** Throws at once if `url` is not a URL or there is no WebSocket to connect with. */
  constructor(
    url: string,
    private readonly options: ConnectOptions,
  ) {
    super();
    this.url = new URL(url);
    this.session = new RoomSession({
      token: options.token,
      backoff: options.backoff,
      ackTimeoutMs: options.ackTimeoutMs,
      emit: (event, payload) => this.emit(event, payload),
    });
    this.link = new Link(options, this.owner());
    this.link.start();
  }

  /** Everyone else in the room, by session id; rebuilt on every welcome. */
  get peers(): ReadonlyMap<string, Peer> {
    return this.session.peers;
  }

  /**
   * Everyone in the room, this session included. In a room past the relay's
   * `PRESENCE_MAX`, `peers` lists only the announced members and this is the
   * way to know how many are there.
   */
  get occupancy(): number {
    return this.session.occupancy;
  }

  /** This connection's session id; it changes on every reconnect. */
  get id(): string | undefined {
    return this.session.id;
  }

  /** The last `status` event. */
  get status(): Status {
    return this.link.status;
  }

  /** Sends to everyone else in the room; resolves with the relay's ack (`seq` = its place in history). */
  broadcast(data: unknown, options: SendOptions = {}): Promise<Ack> {
    return this.session.broadcast(data, options);
  }

  /** Sends to one session of the room (an id from `peers`); resolves with the relay's ack. */
  direct(to: string, data: unknown, options: SendOptions = {}): Promise<Ack> {
    return this.session.direct(to, data, options);
  }

  /**
   * Sets what peers see of this session (`peer.state`, up to 2 KB of JSON);
   * resolves on the relay's ack. The relay keeps it for this session only:
   * after a reconnect, set it again on `welcome` (the React hooks do).
   */
  setPresence(state: Json): Promise<void> {
    return this.session.setPresence(state);
  }

  /** Drops the connection and stays offline until reconnect(); unacked sends wait. */
  disconnect(): void {
    this.link.disconnect();
  }

  /** Connects now, dropping the current connection if any (e.g. when the network came back). */
  reconnect(): void {
    this.link.reconnect();
  }

  /** Closes for good; pending sends are rejected with code `closed`. */
  close(): void {
    if (this.link.status.state === "closed") return;
    this.session.close(new RelayError("closed", "the client was closed"));
    this.link.close();
  }

  private owner(): LinkOwner<ServerFrame> {
    return {
      url: () => socketUrl(this.url, this.options, this.clientId, this.session.resumeParams()),
      resuming: () => this.session.resumeParams() !== undefined,
      // The relay speaks first, with the welcome.
      opened: () => {},
      frame: (connection, frame) =>
        frame.type === "welcome" ? this.onWelcome(connection, frame) : this.session.handle(frame),
      closed: (code, reason) => this.closed(code, reason),
      written: (ids) => {
        for (const id of ids) this.session.written(id);
      },
      tooLarge: (id, bytes, limit) => this.session.tooLarge(id, bytes, limit),
      dropped: () => this.session.detach(),
      status: (status) => this.emit("status", status),
      error: (error) => this.emit("error", error),
    };
  }

  private onWelcome(connection: Connection, frame: WelcomeFrame): void {
    const batcher = this.link.establish(connection, batchLimits(connection.socket, frame));
    const gap = this.session.welcome(frame, batcher);
    // Each listener may close or drop this connection; what follows is then moot.
    this.emit("welcome", frame);
    if (gap && this.link.isCurrent(connection)) this.emit("gap", { reason: gap });
    if (this.link.isCurrent(connection)) this.link.connected();
  }

  /**
   * The relay closed the socket. After an expiry the client reconnects at
   * once (with a fresh token, if the token is a function); after a refusal or
   * a kick it stops for good; anything else is a lost connection.
   */
  private closed(code: number | undefined, reason: string): boolean {
    if (code === CLOSE_CODES.forbidden || code === CLOSE_CODES.kicked) {
      const cause = code === CLOSE_CODES.forbidden ? "forbidden" : "kicked";
      this.end({ cause, code, reason });
      return true;
    }
    if (code === CLOSE_CODES.expired) {
      this.link.reconnect();
      return true;
    }
    return false;
  }

  /** The relay ended the session for good: pending sends fail, and the client stays closed. */
  private end(ended: Ended): void {
    const status: Status = { state: "closed", attempt: this.link.status.attempt, ended };
    this.session.close(new RelayError("closed", `the relay ended the session: ${ended.reason}`));
    this.link.close(status);
    this.emit("ended", ended);
  }
}
