/**
 * The hooks: each reads one slice of the provider's store, so it re-renders
 * only when that slice changes.
 */
import { useCallback, useContext, useEffect, useRef, useSyncExternalStore } from "react";
import type { Json, Message, Peer, RelayConnection, RelayEvents, Status } from "./connection.js";
import { RelayContext } from "./provider.js";
import type { Slice } from "./slice.js";
import type { PresenceUpdate, RelayStore } from "./store.js";

function useStore(hook: string): RelayStore {
  const store = useContext(RelayContext);
  if (!store) throw new Error(`${hook} must be used inside <RelayProvider>`);
  return store;
}

/** Reads one slice, re-rendering when it changes. */
export function useSlice<T>(slice: Slice<T>): T {
  return useSyncExternalStore(slice.subscribe, slice.get, slice.get);
}

/**
 * Everyone else in the room, each with `state`, their presence state (absent
 * until they set one). Re-renders on join, leave, a presence change and
 * reconnect, not on messages.
 *
 * @example
 * ```tsx
 * function WhoIsHere() {
 *   const peers = usePeers();
 *   return <ul>{peers.map((p) => <li key={p.id}>{p.name}{p.state === "typing" ? " is typing…" : ""}</li>)}</ul>;
 * }
 * ```
 */
export function usePeers(): readonly Peer[] {
  return useSlice(useStore("usePeers").peers);
}

/**
 * The most recent messages others sent to the room or to you, oldest first (at
 * most the provider's `messageLimit`). The relay never sends your own back.
 *
 * @example
 * ```tsx
 * function Messages() {
 *   const messages = useMessages();
 *   return <ol>{messages.map((m) => <li key={`${m.from}:${m.ts}:${m.seq}`}>{String(m.data)}</li>)}</ol>;
 * }
 * ```
 */
export function useMessages(): readonly Message[] {
  return useSlice(useStore("useMessages").messages);
}

/**
 * The connection status: `{state, attempt, retryInMs?}` with `state` one of
 * `connecting`, `connected`, `reconnecting`, `offline`, `closed`.
 *
 * @example
 * ```tsx
 * function Connection() {
 *   const { state, retryInMs } = useStatus();
 *   return <span>{state}{retryInMs ? ` (retry in ${Math.ceil(retryInMs / 1000)} s)` : ""}</span>;
 * }
 * ```
 */
export function useStatus(): Status {
  return useSlice(useStore("useStatus").status);
}

/**
 * Your own presence state and its setter, like `useState`. Setting it updates
 * here at once and sends it to the room; the promise settles with the relay's
 * ack (rejecting with a `RelayError`, e.g. `too_large` or `rate_limited`), or at
 * once before the provider has connected, when the state goes out on connect.
 * After a reconnect the state is sent again, since a new session starts without one.
 *
 * @example
 * ```tsx
 * function Composer() {
 *   const [, setPresence] = usePresence();
 *   return <input onFocus={() => setPresence("typing")} onBlur={() => setPresence(null)} />;
 * }
 * ```
 */
export function usePresence(): [
  state: Json | undefined,
  setState: (update: PresenceUpdate) => Promise<void>,
] {
  const store = useStore("usePresence");
  const setState = useCallback((update: PresenceUpdate) => store.setPresence(update), [store]);
  return [useSlice(store.presence), setState];
}

/**
 * Calls `listener` for each `event` of the provider's client (any client event:
 * `message`, `join`, `leave`, `presence`, `status`, `welcome`, `gap`, `error`).
 * The newest `listener` is called; it need not be memoized.
 *
 * @example
 * ```tsx
 * useRelayEvent("gap", ({ reason }) => toast(`Some messages were lost (${reason})`));
 * ```
 */
export function useRelayEvent<K extends keyof RelayEvents>(
  event: K,
  listener: (payload: RelayEvents[K]) => void,
): void {
  const client = useSlice(useStore("useRelayEvent").client);
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => client?.on(event, (payload) => latest.current(payload)), [client, event]);
}

/**
 * The provider's client, to send with `broadcast` and `direct`; `undefined`
 * only until the provider has mounted.
 *
 * @example
 * ```tsx
 * function Send() {
 *   const relay = useRelayClient();
 *   return <button type="button" onClick={() => relay?.broadcast({ text: "hi" })}>Say hi</button>;
 * }
 * ```
 */
export function useRelayClient(): RelayConnection | undefined {
  return useSlice(useStore("useRelayClient").client);
}
