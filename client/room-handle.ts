/**
 * One room of a multi-room connection (`RelayRooms.room(name)`): the API of a
 * single-room `RelayClient` (sends acked by promise, peers, presence, events,
 * `gap`, status), over the connection's shared socket. It decides what the
 * relay's answers to its subscription mean: a welcome, a refusal to retry or
 * to accept, a subscription ended by the relay.
 */
import {
  CLOSE_CODES,
  type ErrorFrame,
  type FrameErrorCode,
  type Json,
  type Peer,
  type ServerFrame,
  type SubscribeFrame,
  type WelcomeFrame,
} from "../src/frames";
import { backoffDelay } from "./backoff";
import { Emitter } from "./emitter";
import { type Ack, RelayError } from "./outbox";
import { RoomSession, type Sink } from "./room-session";
import type { ClientEvents, Ended, RoomsOptions, SendOptions, Status } from "./types";

/** What a room needs of the connection that carries it. */
export interface RoomHost {
  /** The connection's status, which a room shares until it is welcomed. */
  readonly status: Status;
  /** Sends this room's subscribe as soon as the socket allows, batched with others of the tick. */
  subscribe(room: RoomHandle): void;
  /** The room is done: forget it, and tell the relay if it had subscribed. */
  release(room: RoomHandle, subscribed: boolean): void;
}

/**
 * Where a room stands on the current socket: `waiting` for its subscribe to
 * go out, `subscribing` (sent, no answer yet), `live` (welcomed), `retrying`
 * after a refusal or an end that allow a retry, `closed` for good.
 */
type Phase = "waiting" | "subscribing" | "live" | "retrying" | "closed";

/**
 * Refusals of a subscribe that may pass later (a subscribe past the
 * connection's rate budget among them); every other refusal is final.
 */
const RETRIED: ReadonlySet<FrameErrorCode> = new Set([
  "room_full",
  "too_many_connections",
  "internal",
  "rate_limited",
]);

/** A room frame as the handle gets it: any but its welcome. */
type RoomFrame = Exclude<ServerFrame, WelcomeFrame>;

export class RoomHandle extends Emitter<ClientEvents> {
  private readonly session: RoomSession;
  private phase: Phase = "waiting";
  private current: Status;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomed = false;

  constructor(
    /** The room's name. */
    readonly name: string,
    private readonly host: RoomHost,
    private readonly options: RoomsOptions,
    private readonly token: (() => Promise<string>) | undefined,
  ) {
    super();
    const { state, attempt } = host.status;
    this.current = Object.freeze({ state: state === "connected" ? "connecting" : state, attempt });
    this.session = new RoomSession({
      room: name,
      token,
      backoff: options.backoff,
      ackTimeoutMs: options.ackTimeoutMs,
      emit: (event, payload) => this.emit(event, payload),
    });
  }

  /** Everyone else in the room, by session id; rebuilt on every welcome. */
  get peers(): ReadonlyMap<string, Peer> {
    return this.session.peers;
  }

  /** Everyone in the room, this session included (the way to count past `PRESENCE_MAX`). */
  get occupancy(): number {
    return this.session.occupancy;
  }

  /** This room's session id; it changes on every resubscribe. */
  get id(): string | undefined {
    return this.session.id;
  }

  /** The room's last `status` event: the connection's until the room is welcomed, then `connected`. */
  get status(): Status {
    return this.current;
  }

  /** Sends to everyone else in the room; resolves with the relay's ack (`seq`). */
  broadcast(data: unknown, options: SendOptions = {}): Promise<Ack> {
    return this.session.broadcast(data, options);
  }

  /** Sends to one session of the room (an id from `peers`); resolves with the relay's ack. */
  direct(to: string, data: unknown, options: SendOptions = {}): Promise<Ack> {
    return this.session.direct(to, data, options);
  }

  /** Sets what peers see of this session in this room; send it again on `welcome`. */
  setPresence(state: Json): Promise<void> {
    return this.session.setPresence(state);
  }

  /**
   * Leaves the room (the socket and the other rooms stay); pending sends
   * reject with `closed`. `room(name)` afterwards makes a new handle.
   */
  leave(): void {
    if (this.phase === "closed") return;
    const subscribed = this.phase === "subscribing" || this.phase === "live";
    this.stop(new RelayError("closed", "the room was left"));
    this.host.release(this, subscribed);
    this.setStatus({ state: "closed", attempt: this.retries });
  }

  /** The same as `leave()`, so a room can stand in for a single-room client. */
  close(): void {
    this.leave();
  }

  // ---- what the connection tells the room ----------------------------------

  /** Whether the room wants a subscribe on the socket now open. */
  get wanted(): boolean {
    return this.phase === "waiting";
  }

  /**
   * The subscribe frame, with this room's token and resume position; nothing
   * if the token could not be had (the room retries by itself) or it was left.
   */
  async subscribeFrame(): Promise<SubscribeFrame | undefined> {
    const frame: SubscribeFrame = { type: "subscribe", room: this.name };
    if (this.token) {
      try {
        frame.token = await this.token();
      } catch (error) {
        if (this.phase !== "waiting") return undefined;
        this.emit("error", new RelayError("token_failed", `the token function failed: ${error}`));
        this.retry();
        return undefined;
      }
    }
    if (this.phase !== "waiting") return undefined;
    const resume = this.session.resumeParams();
    if (resume) Object.assign(frame, resume);
    return frame;
  }

  /** The subscribe went out on the socket. */
  subscribed(): void {
    this.phase = "subscribing";
  }

  welcome(frame: WelcomeFrame, sink: Sink): void {
    if (this.phase !== "subscribing") return;
    this.phase = "live";
    this.retries = 0;
    this.welcomed = true;
    const gap = this.session.welcome(frame, sink);
    // Each listener may leave the room; what follows is then moot.
    this.emit("welcome", frame);
    if (gap && this.phase === "live") this.emit("gap", { reason: gap });
    if (this.phase === "live") this.setStatus({ state: "connected", attempt: 0 });
  }

  frame(frame: RoomFrame): void {
    const error = frame.type === "error";
    // Before its welcome, an error with no id is the answer to the subscribe.
    if (error && frame.id === undefined && this.phase === "subscribing") this.refused(frame);
    else if (this.phase === "live" || (error && frame.id !== undefined)) this.session.handle(frame);
  }

  /**
   * The relay ended the subscription: 4403 and 4410 are final; after 4001
   * (expired) the room subscribes again at once with a fresh token; after
   * any other code (a restart, a session that fell behind) with backoff.
   * 1000 only answers our own unsubscribe.
   */
  unsubscribed(code: number, reason: string): void {
    if (this.phase !== "live" || code === 1000) return;
    this.session.detach();
    if (code === CLOSE_CODES.forbidden || code === CLOSE_CODES.kicked) {
      this.end({ cause: code === CLOSE_CODES.forbidden ? "forbidden" : "kicked", code, reason });
    } else if (code === CLOSE_CODES.expired) {
      this.phase = "waiting";
      this.setStatus({ state: "reconnecting", attempt: 0 });
      this.host.subscribe(this);
    } else this.retry();
  }

  /** One of this room's frames went out on an open socket: its ack deadline starts. */
  written(id: string): void {
    this.session.written(id);
  }

  /** One of this room's frames is over the relay's size limit; it is not sent. */
  tooLarge(id: string, bytes: number, limit: number): void {
    this.session.tooLarge(id, bytes, limit);
  }

  /** The socket is gone: the room waits for the next one. */
  dropped(): void {
    if (this.phase === "closed") return;
    clearTimeout(this.retryTimer);
    this.session.detach();
    this.phase = "waiting";
  }

  /** The connection's status changed; the room shows it until it is welcomed again. */
  linkStatus(status: Status): void {
    if (this.phase === "closed" || this.phase === "live") return;
    if (status.state !== "connected") this.setStatus(status);
    else this.setStatus({ state: this.welcomed ? "reconnecting" : "connecting", attempt: 0 });
  }

  /** The connection closed for good. */
  shutdown(): void {
    if (this.phase === "closed") return;
    this.stop(new RelayError("closed", "the client was closed"));
    this.setStatus({ state: "closed", attempt: this.retries });
  }

  private refused(frame: ErrorFrame): void {
    this.emit("error", new RelayError(frame.code, frame.message));
    if (this.phase !== "subscribing") return;
    if (RETRIED.has(frame.code)) this.retry();
    else this.end({ cause: "refused", code: frame.code, reason: frame.message });
  }

  private retry(): void {
    const attempt = this.retries++;
    const delay = backoffDelay(attempt, this.options.backoff);
    this.phase = "retrying";
    this.retryTimer = setTimeout(() => {
      this.phase = "waiting";
      this.host.subscribe(this);
    }, delay);
    this.setStatus({ state: "reconnecting", attempt, retryInMs: delay });
  }

  /** The relay ended this room for good. */
  private end(ended: Ended): void {
    this.stop(new RelayError("closed", `the relay ended the session: ${ended.reason}`));
    this.host.release(this, false);
    this.setStatus({ state: "closed", attempt: this.retries, ended });
    this.emit("ended", ended);
  }

  private stop(error: RelayError): void {
    this.phase = "closed";
    clearTimeout(this.retryTimer);
    this.session.close(error);
  }

  private setStatus(status: Status): void {
    this.current = Object.freeze(status);
    this.emit("status", this.current);
  }
}
