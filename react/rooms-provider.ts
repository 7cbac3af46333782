/**
 * `<RelayRoomsProvider>` and `useRoom(name)`: many rooms over one connection.
 * Every component under the provider that calls `useRoom` shares the
 * provider's one socket, however many rooms they use.
 */
import { connectRooms, type RoomsOptions } from "edge-relay/client";
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from "react";
import type {
  ConnectRooms,
  Json,
  Message,
  Peer,
  RelayConnection,
  RelayRoomsConnection,
  Status,
} from "./connection.js";
import { useSlice } from "./hooks.js";
import { ClientLease } from "./lease.js";
import { RoomRegistry } from "./room-registry.js";
import type { PresenceUpdate } from "./store.js";

export type RelayRoomsProviderProps = {
  /** The relay's address, `http(s)://` or `ws(s)://`, with or without a path prefix. */
  url: string;
  /** Display name shown to peers in every room. */
  name?: string;
  /** A room's grant: a string for all, or a function of the room's name (read at each subscribe and refresh). */
  token?: RoomsOptions["token"];
  /** Other `connectRooms` options (timeouts, backoff, WebSocket); read when connecting. */
  options?: Omit<RoomsOptions, "name" | "token">;
  /** How many recent messages each room keeps for `useRoom`. Default 100; read once. */
  messageLimit?: number;
  /** Opens the connection; `connectRooms` from `edge-relay/client` by default. */
  connect?: ConnectRooms;
  children?: ReactNode;
};

// The check proves the real client fits the surface the hooks use.
const connectClient: ConnectRooms = connectRooms;

const RoomsContext = createContext<RoomRegistry | undefined>(undefined);

/**
 * Opens one connection on mount and closes it on unmount; a change of `url`,
 * `name` or of whether there is a `token` reconnects. Rooms are joined by the
 * components that use them, through `useRoom`.
 *
 * @example
 * ```tsx
 * <RelayRoomsProvider url="https://relay.example.com" name="ada">
 *   <Sidebar />
 *   <Chat room="general" />
 * </RelayRoomsProvider>
 * ```
 */
export function RelayRoomsProvider(props: RelayRoomsProviderProps): ReactNode {
  const { url, name, children } = props;
  const hasToken = props.token !== undefined;
  const [registry] = useState(() => new RoomRegistry(props.messageLimit ?? 100));
  const [lease] = useState(() => new ClientLease<RelayRoomsConnection>());
  const latest = useRef(props);
  useEffect(() => {
    latest.current = props;
  });
  useEffect(() => {
    const key = JSON.stringify([url, name ?? null, hasToken]);
    const client = lease.acquire(key, () => {
      const { options, connect = connectClient } = latest.current;
      const settings: RoomsOptions = { ...options };
      if (name !== undefined) settings.name = name;
      if (hasToken) settings.token = (room) => currentToken(latest.current.token, room);
      return connect(url, settings);
    });
    const detach = registry.attach(client);
    return () => {
      detach();
      lease.release();
    };
  }, [url, name, hasToken, registry, lease]);
  return createElement(RoomsContext.Provider, { value: registry }, children);
}

function currentToken(token: RoomsOptions["token"], room: string): string | Promise<string> {
  return typeof token === "function" ? token(room) : (token ?? "");
}

/** One room as `useRoom` gives it. */
export type RoomView = {
  /** The room's handle, to `broadcast` and `direct`; `undefined` until the provider has connected. */
  room: RelayConnection | undefined;
  status: Status;
  /** Everyone else in the room, each with their presence state. */
  peers: readonly Peer[];
  /** The most recent messages others sent to the room or to you, oldest first. */
  messages: readonly Message[];
  /** Your own presence state in this room, as last set. */
  presence: Json | undefined;
  /** Sets your presence state in this room (sent again after each reconnect). */
  setPresence: (update: PresenceUpdate) => Promise<void>;
};

/**
 * Joins room `name` on the provider's connection while the component is
 * mounted (components using the same room share it) and gives its state.
 *
 * @example
 * ```tsx
 * function Unread({ room }: { room: string }) {
 *   const { messages, status } = useRoom(room);
 *   return <li>{room}: {messages.length} ({status.state})</li>;
 * }
 * ```
 */
export function useRoom(name: string): RoomView {
  const registry = useContext(RoomsContext);
  if (!registry) throw new Error("useRoom must be used inside <RelayRoomsProvider>");
  const store = registry.store(name);
  useEffect(() => registry.acquire(name), [registry, name]);
  const setPresence = useCallback((update: PresenceUpdate) => store.setPresence(update), [store]);
  return {
    room: useSlice(store.client),
    status: useSlice(store.status),
    peers: useSlice(store.peers),
    messages: useSlice(store.messages),
    presence: useSlice(store.presence),
    setPresence,
  };
}
