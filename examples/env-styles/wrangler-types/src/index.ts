/** The relay in a Worker whose bindings are a global `Env` as the current `wrangler types` writes it. */
import { Document, Room, relay, Shard } from "edge-relay/server";
import { Hono } from "hono";

export class Lobby extends Room<Env> {}
export class LobbyShard extends Shard<Env> {
  static rooms = (env: Env) => env.LOBBY;
}
export class Pages extends Document<Env> {}
export { Document, Room, Shard };

const app = new Hono<{ Bindings: Env }>();
app.route(
  "/realtime",
  relay({
    rooms: (env: Env) => env.ROOMS,
    documents: (env) => env.DOCS,
    shards: (env) => env.SHARDS,
  }),
);
app.route(
  "/lobby",
  relay({
    rooms: (env: Env) => env.LOBBY,
    documents: (env) => env.PAGES,
    shards: (env) => env.LOBBY_SHARDS,
    authorize: (request, env) =>
      new URL(request.url).searchParams.get("invite") === env.INVITE
        ? undefined
        : new Response("ask for an invite", { status: 401 }),
  }),
);
export default app;
