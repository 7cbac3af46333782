/**
 * `<RelayProvider>`: owns one client for one room while it is mounted, and
 * gives the hooks below it that client's state.
 */
import { type ConnectOptions, connect } from "edge-relay/client";
import { createContext, createElement, type ReactNode, useEffect, useRef, useState } from "react";
import type { Connect, RelayConnection } from "./connection.js";
import { ClientLease } from "./lease.js";
import { RelayStore } from "./store.js";

export type RelayProviderProps = {
  /** The relay's address, `http(s)://` or `ws(s)://`, with or without a path prefix. */
  url: string;
  room: string;
  /** Display name shown to peers. */
  name?: string;
  /**
   * JWT for relays with AUTH_SECRET, or a function returning one. Read before
   * every connection and whenever the relay warns that the session's token
   * expires (it is then sent in-band), so a new token is used without
   * dropping the current connection.
   */
  token?: ConnectOptions["token"];
  /** Other `connect` options (timeouts, backoff, WebSocket); read when connecting. */
  options?: Omit<ConnectOptions, "room" | "name" | "token">;
  /** How many recent messages `useMessages` keeps. Default 100; read once. */
  messageLimit?: number;
  /** Opens the connection; `connect` from `edge-relay/client` by default. */
  connect?: Connect;
  children?: ReactNode;
};

// The check proves the real client fits the surface the hooks use.
const connectClient: Connect = connect;

export const RelayContext = createContext<RelayStore | undefined>(undefined);

/**
 * Connects to `room` on mount and closes on unmount; a change of `url`, `room`,
 * `name` or of whether there is a `token` reconnects. StrictMode's extra
 * unmount and mount keep the one connection.
 *
 * @example
 * ```tsx
 * <RelayProvider url="https://relay.example.com" room="lobby" name="ada">
 *   <Chat />
 * </RelayProvider>
 * ```
 */
export function RelayProvider(props: RelayProviderProps): ReactNode {
  const { url, room, name, children } = props;
  const hasToken = props.token !== undefined;
  const [store] = useState(() => new RelayStore(props.messageLimit ?? 100));
  const [lease] = useState(() => new ClientLease<RelayConnection>());
  const latest = useRef(props);
  useEffect(() => {
    latest.current = props;
  });
  useEffect(() => {
    const key = JSON.stringify([url, room, name ?? null, hasToken]);
    const client = lease.acquire(key, () => {
      const { options, connect = connectClient } = latest.current;
      const settings: ConnectOptions = { ...options, room };
      if (name !== undefined) settings.name = name;
      if (hasToken) settings.token = () => currentToken(latest.current.token);
      return connect(url, settings);
    });
    const detach = store.attach(client);
    return () => {
      detach();
      lease.release();
    };
  }, [url, room, name, hasToken, store, lease]);
  return createElement(RelayContext.Provider, { value: store }, children);
}

function currentToken(token: ConnectOptions["token"]): string | Promise<string> {
  return typeof token === "function" ? token() : (token ?? "");
}
