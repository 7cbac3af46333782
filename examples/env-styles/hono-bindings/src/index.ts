/** The relay in a Worker whose bindings are a module-local type, the Hono way. */
import { Document, Room, relay, Shard } from "edge-relay/server";
import { Hono } from "hono";

type Bindings = {
  ROOMS: DurableObjectNamespace<Room>;
  DOCS: DurableObjectNamespace<Document>;
  SHARDS: DurableObjectNamespace<Shard>;
  LOBBY: DurableObjectNamespace<Lobby>;
  LOBBY_SHARDS: DurableObjectNamespace<LobbyShard>;
  PAGES: DurableObjectNamespace<Pages>;
  INVITE: string;
};

export class Lobby extends Room<Bindings> {}
export class LobbyShard extends Shard<Bindings> {
  static rooms = (env: Bindings) => env.LOBBY;
}
export class Pages extends Document<Bindings> {}
export { Document, Room, Shard };

const app = new Hono<{ Bindings: Bindings }>();
app.route(
  "/realtime",
  relay({
    rooms: (env: Bindings) => env.ROOMS,
    documents: (env) => env.DOCS,
    shards: (env) => env.SHARDS,
  }),
);
app.route(
  "/lobby",
  relay({
    rooms: (env: Bindings) => env.LOBBY,
    documents: (env) => env.PAGES,
    shards: (env) => env.LOBBY_SHARDS,
    authorize: (request, env) =>
      new URL(request.url).searchParams.get("invite") === env.INVITE
        ? undefined
        : new Response("ask for an invite", { status: 401 }),
  }),
);
export default app;
