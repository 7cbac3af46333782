// Written by hand (or by an older `wrangler types`): a global Env, unrelated to Cloudflare.Env.
interface Env {
  ROOMS: DurableObjectNamespace<import("./index").Room>;
  DOCS: DurableObjectNamespace<import("./index").Document>;
  SHARDS: DurableObjectNamespace<import("./index").Shard>;
  LOBBY: DurableObjectNamespace<import("./index").Lobby>;
  LOBBY_SHARDS: DurableObjectNamespace<import("./index").LobbyShard>;
  PAGES: DurableObjectNamespace<import("./index").Pages>;
  INVITE: string;
}
