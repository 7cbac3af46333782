/**
 * `edge-relay/server`: the relay as a library for your own Worker. Mount
 * `relay()` in a Hono app, export a `Room` (or your subclass with hooks) as
 * a Durable Object class, and bind it. See docs/server.md.
 *
 * @example
 * import { Hono } from "hono";
 * import { relay, Room, Rejection, type Message, type Peer } from "edge-relay/server";
 *
 * export class ChatRoom extends Room<Env> {
 *   onMessage(sender: Peer, frame: Message) {
 *     if (sender.user === undefined) throw new Rejection("forbidden", "sign in to speak");
 *   }
 * }
 * const app = new Hono<{ Bindings: Env }>();
 * app.route("/realtime", relay({ rooms: (env) => env.CHAT }));
 * export default app;
 */
export type { Identity, Refusal } from "./auth";
export { Shard } from "./big-rooms/shard";
export type { Limits } from "./config";
export { Document } from "./documents/document";
export type { RefreshVerdict } from "./expiry";
export type * from "./frames";
export { type Message, type MessageVerdict, Rejection, type RejectionCode } from "./hooks";
export { Hub } from "./hubs/hub";
export { Directory } from "./observe/directory";
export { type Authorize, jwt, type RelayOptions, relay } from "./relay";
export { Room } from "./room";
