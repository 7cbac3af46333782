/**
 * What a client holds of one room, whatever socket carries it: who is there,
 * where it stands in the room's log, the sends waiting for their ack, and the
 * token refresher. `RelayClient` has one on its own socket; `RelayRooms` has
 * one per room on a shared socket, where every frame names its room.
 */
import type { ClientFrame, ErrorFrame, Json, Peer, ServerFrame, WelcomeFrame } from "../src/frames";
import type { BackoffOptions } from "./backoff";
import { randomId } from "./ids";
import { type Ack, Outbox, RelayError } from "./outbox";
import { PeerView } from "./peer-view";
import { Refresher } from "./refresh";
import { SequenceTracker } from "./sequence";
import type { ClientEvents, ConnectOptions, SendOptions } from "./types";

/** A frame the client sends: always with an id, so it can be acked and deduplicated. */
type OutgoingFrame = ClientFrame & { id: string };

/** Where a session's frames go while it is live: a batcher, keyed by the frame's id. */
export type Sink = { add(id: string, text: string): void };

export type RoomSessionOptions = {
  /** Set on a shared socket: every frame this session sends names its room. */
  room?: string;
  token: ConnectOptions["token"];
  backoff?: BackoffOptions;
  ackTimeoutMs?: number;
  emit: <K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]) => void;
};

/** Error codes after which a send stays in the outbox, to go again on the next session. */
const KEPT = new Set(["expired", "not_subscribed"]);

export class RoomSession {
  private readonly peerMap = new Map<string, Peer>();
  readonly peers: ReadonlyMap<string, Peer> = new PeerView(this.peerMap);
  private sessionId: string | undefined;
  private headcount = 0;
  private readonly outbox = new Outbox();
  private readonly sequence = new SequenceTracker();
  private readonly idPrefix = randomId(8);
  private counter = 0;
  private sink: Sink | undefined;
  private refresher: Refresher | undefined;
  private closed = false;

  constructor(private readonly options: RoomSessionOptions) {}

  /** This session's id; it changes on every reconnect. */
  get id(): string | undefined {
    return this.sessionId;
  }

  /** Everyone in the room, this session included. */
  get occupancy(): number {
    return this.headcount;
  }

  /** Where to resume from on the next connection, or nothing before the first welcome. */
  resumeParams(): { since: number; epoch: string } | undefined {
    return this.sequence.resumeParams();
  }

  broadcast(data: unknown, options: SendOptions = {}): Promise<Ack> {
    return this.send({ type: "broadcast", data, id: options.id ?? this.nextId() });
  }

  direct(to: string, data: unknown, options: SendOptions = {}): Promise<Ack> {
    return this.send({ type: "direct", to, data, id: options.id ?? this.nextId() });
  }

  setPresence(state: Json): Promise<void> {
    return this.send({ type: "presence", state, id: this.nextId() }).then(() => undefined);
  }

  /**
   * Takes in the room's welcome: from now on frames go to `sink`, starting
   * with every unacknowledged send, again with its id (the relay drops
   * repeats). Returns why history was lost, if a resume failed.
   */
  welcome(frame: WelcomeFrame, sink: Sink): ReturnType<SequenceTracker["welcome"]> {
    const resumed = this.sequence.resumeParams() !== undefined;
    const gap = this.sequence.welcome(frame, resumed);
    this.sessionId = frame.id;
    // A relay older than occupancy counts announced peers only.
    this.headcount = frame.occupancy ?? frame.peers.length + 1;
    this.peerMap.clear();
    for (const peer of frame.peers) {
      if (!this.sequence.isOwnSession(peer.id)) this.peerMap.set(peer.id, peer);
    }
    this.sink = sink;
    this.refresher?.stop();
    this.refresher = new Refresher({
      token: this.options.token,
      backoff: this.options.backoff,
      send: (refresh) => sink.add(refresh.id, this.encode(refresh)),
      failed: (error) => this.options.emit("error", error),
      nextId: () => this.nextId(),
    });
    for (const [id, text] of this.outbox.waiting()) sink.add(id, text);
    return gap;
  }

  /** One of the room's frames other than its welcome. */
  handle(frame: Exclude<ServerFrame, WelcomeFrame>): void {
    const { emit } = this.options;
    switch (frame.type) {
      case "join":
        if (!this.peerMap.has(frame.peer.id)) this.headcount++;
        this.peerMap.set(frame.peer.id, frame.peer);
        emit("join", frame.peer);
        break;
      case "presence":
        if (!this.peerMap.has(frame.peer.id)) break;
        this.peerMap.set(frame.peer.id, frame.peer);
        emit("presence", frame.peer);
        break;
      case "leave":
        this.leave(frame.peer);
        break;
      case "occupancy":
        this.headcount = frame.count;
        emit("occupancy", frame.count);
        break;
      case "message":
        if (this.sequence.accept(frame)) {
          const { type: _type, ...message } = frame;
          emit("message", message);
        }
        break;
      case "expiring":
        this.refresher?.expiring();
        break;
      case "ack":
        if (this.refresher?.acked(frame.id)) break;
        this.sequence.acked(frame.seq);
        this.outbox.resolve(frame.id, ackOf(frame));
        break;
      case "error":
        this.error(frame);
        break;
    }
  }

  /** Frames were written to an open socket: their ack deadlines start. */
  written(id: string): void {
    this.outbox.sent(id, this.options.ackTimeoutMs ?? 10_000);
  }

  /** The refusal the relay would send, made here: the frame would only waste the upload. */
  tooLarge(id: string, bytes: number, limit: number): void {
    const message = `frame is ${bytes} bytes; the limit is ${limit}`;
    this.outbox.reject(id, new RelayError("too_large", message, id));
  }

  /** The socket or the subscription is gone: nothing goes out until the next welcome. */
  detach(): void {
    this.sink = undefined;
    this.refresher?.stop();
    this.refresher = undefined;
    this.outbox.pause();
  }

  /** Ends the session for good: pending sends and any later ones fail with `error`'s code. */
  close(error: RelayError): void {
    this.closed = true;
    this.detach();
    this.outbox.rejectAll(error);
  }

  /**
   * Someone left; the head count follows joins and leaves between the
   * relay's own counts. Our own earlier session may linger until the relay
   * notices it died: it was counted, but is never shown.
   */
  private leave(peer: Peer): void {
    const shown = this.peerMap.delete(peer.id);
    if (shown || this.sequence.isOwnSession(peer.id))
      this.headcount = Math.max(1, this.headcount - 1);
    if (shown) this.options.emit("leave", peer);
  }

  private error(frame: ErrorFrame): void {
    const { id } = frame;
    if (id !== undefined && this.refresher?.refused(id, frame.message)) return;
    // Sent after the token expired, or as the subscription ended: it goes again after the next welcome.
    if (id !== undefined && KEPT.has(frame.code) && this.outbox.has(id)) return;
    const error = new RelayError(frame.code, frame.message, id);
    if (id !== undefined && this.outbox.has(id)) this.outbox.reject(id, error);
    else this.options.emit("error", error);
  }

  private send(frame: OutgoingFrame): Promise<Ack> {
    const { id } = frame;
    if (this.closed) return Promise.reject(new RelayError("closed", "the client was closed", id));
    let text: string;
    try {
      text = this.encode(frame);
    } catch {
      return Promise.reject(new RelayError("bad_message", "data cannot be encoded as JSON", id));
    }
    const waiting = this.outbox.has(id);
    const promise = this.outbox.add(id, text);
    // Otherwise it goes out, in order, right after the next welcome.
    if (!waiting) this.sink?.add(id, text);
    return promise;
  }

  private encode(frame: OutgoingFrame): string {
    const { room } = this.options;
    return JSON.stringify(room === undefined ? frame : { ...frame, room });
  }

  private nextId(): string {
    this.counter++;
    return `${this.idPrefix}-${this.counter}`;
  }
}

function ackOf(frame: Ack): Ack {
  const ack: Ack = {};
  if (frame.seq !== undefined) ack.seq = frame.seq;
  if (frame.duplicate) ack.duplicate = true;
  return ack;
}
