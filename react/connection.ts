/**
 * What the hooks need of a client: the part of `edge-relay/client`'s
 * `RelayClient` they use, so they can be driven by anything of the same shape.
 */
import type {
  Ack,
  ClientEvents,
  ConnectOptions,
  Message,
  RoomsOptions,
  SendOptions,
  Status,
} from "edge-relay/client";
import type { Json, Peer } from "../src/frames.js";

export type { Json, Message, Peer, Status };

/** The client's events, with `presence`: a peer's state changed (the peers map already has it). */
export type RelayEvents = Omit<ClientEvents, "join" | "leave"> & {
  join: Peer;
  leave: Peer;
  presence: Peer;
};

/** The client surface the hooks rely on; `connect()` from `edge-relay/client` returns one. */
export interface RelayConnection {
  /** This connection's session id; it changes on every reconnect. */
  readonly id: string | undefined;
  readonly status: Status;
  /** Everyone else in the room, by session id, each with its presence state. */
  readonly peers: ReadonlyMap<string, Peer>;
  on<K extends keyof RelayEvents>(
    event: K,
    listener: (payload: RelayEvents[K]) => void,
  ): () => void;
  broadcast(data: unknown, options?: SendOptions): Promise<Ack>;
  direct(to: string, data: unknown, options?: SendOptions): Promise<Ack>;
  /** Sets what peers see of this session; resolves on the relay's ack. */
  setPresence(state: Json): Promise<void>;
  close(): void;
}

/** Opens a connection; `connect` from `edge-relay/client` is one. */
export type Connect = (url: string, options: ConnectOptions) => RelayConnection;

/** A multi-room connection as the hooks use it; `connectRooms()` from `edge-relay/client` returns one. */
export interface RelayRoomsConnection {
  /** The handle of one room, joining it if not joined yet; it has the single-room surface. */
  room(name: string): RelayConnection;
  close(): void;
}

/** Opens a multi-room connection; `connectRooms` from `edge-relay/client` is one. */
export type ConnectRooms = (url: string, options: RoomsOptions) => RelayRoomsConnection;
