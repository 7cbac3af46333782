/**
 * React hooks for the relay (`edge-relay/react`): a provider that owns one
 * client per room, and hooks that each re-render only for what they read; or
 * a provider that owns one connection for many rooms, and `useRoom(name)`.
 * See docs/client.md, "React". Relative imports here name their `.js` file so
 * the emitted declarations also resolve for TypeScript users on `nodenext`.
 */
export type {
  Connect,
  ConnectRooms,
  Json,
  Message,
  Peer,
  RelayConnection,
  RelayEvents,
  RelayRoomsConnection,
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
export {
  RelayRoomsProvider,
  type RelayRoomsProviderProps,
  type RoomView,
  useRoom,
} from "./rooms-provider.js";
export type { PresenceUpdate } from "./store.js";
