/**
 * React hooks for the relay (`edge-relay/react`): a provider that owns one
 * client per room, and hooks that each re-render only for what they read.
 * See docs/client.md, "React". Relative imports here name their `.js` file so
 * the emitted declarations also resolve for TypeScript users on `nodenext`.
 */
export type {
  Connect,
  Json,
  Message,
  Peer,
  RelayConnection,
  RelayEvents,
  Status,
} from "./connection.js";
export {
  useMessages,
  usePeers,
  usePresence,
  useRelayClient,
  useRelayEvent,
  useStatus,
} from "./hooks.js";
export { RelayProvider, type RelayProviderProps } from "./provider.js";
export type { PresenceUpdate } from "./store.js";
