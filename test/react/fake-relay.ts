/**
 * A client of the shape the hooks use (react/connection.ts), driven by the
 * test: it records what the hooks ask of it and emits what the test tells it to,
 * updating `peers` before each event as the real client does.
 */
import type { ConnectOptions } from "edge-relay/client";
import type {
  Connect,
  Json,
  Message,
  Peer,
  RelayConnection,
  RelayEvents,
  Status,
} from "../../react/index";

type Listener = (payload: never) => void;
type PresenceSend = { state: Json; ack: () => void; refuse: (error: Error) => void };

export class FakeRelay implements RelayConnection {
  id: string | undefined;
  status: Status = { state: "connecting", attempt: 0 };
  readonly peers = new Map<string, Peer>();
  closed = false;
  readonly presenceSent: PresenceSend[] = [];
  readonly broadcasts: unknown[] = [];
  private readonly listeners = new Map<keyof RelayEvents, Set<Listener>>();

  constructor(
    readonly url: string,
    readonly options: ConnectOptions,
  ) {}

  on<K extends keyof RelayEvents>(event: K, listener: (payload: RelayEvents[K]) => void) {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  listenerCount(): number {
    return [...this.listeners.values()].reduce((sum, set) => sum + set.size, 0);
  }

  broadcast(data: unknown) {
    this.broadcasts.push(data);
    return Promise.resolve({ seq: this.broadcasts.length });
  }

  direct() {
    return Promise.resolve({});
  }

  setPresence(state: Json): Promise<void> {
    return new Promise((ack, refuse) => this.presenceSent.push({ state, ack, refuse }));
  }

  close(): void {
    this.closed = true;
    this.setStatus({ state: "closed", attempt: 0 });
  }

  // ---- what the relay would cause ----

  welcome(id: string, peers: Peer[] = []): void {
    this.id = id;
    this.peers.clear();
    for (const peer of peers) this.peers.set(peer.id, peer);
    const limits = { maxMessageBytes: 65536, maxBatchFrames: 100 };
    const room = this.options.room;
    this.emit("welcome", {
      type: "welcome",
      id,
      room,
      peers,
      seq: 0,
      epoch: "e",
      limits,
      occupancy: peers.length + 1,
    });
    this.setStatus({ state: "connected", attempt: 0 });
  }

  join(peer: Peer): void {
    this.peers.set(peer.id, peer);
    this.emit("join", peer);
  }

  leave(peer: Peer): void {
    this.peers.delete(peer.id);
    this.emit("leave", peer);
  }

  presence(peer: Peer): void {
    this.peers.set(peer.id, peer);
    this.emit("presence", peer);
  }

  message(message: Message): void {
    this.emit("message", message);
  }

  setStatus(status: Status): void {
    this.status = status;
    this.emit("status", status);
  }

  private emit<K extends keyof RelayEvents>(event: K, payload: RelayEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      (listener as (payload: RelayEvents[K]) => void)(payload);
    }
  }
}

/** A `connect` that hands out fakes and keeps every one it opened, in order. */
export function fakeConnect(): { connect: Connect; opened: FakeRelay[] } {
  const opened: FakeRelay[] = [];
  const connect: Connect = (url, options) => {
    const relay = new FakeRelay(url, options);
    opened.push(relay);
    return relay;
  };
  return { connect, opened };
}
