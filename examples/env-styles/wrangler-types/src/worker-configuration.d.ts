// The shape the current `wrangler types` writes: Env and Cloudflare.Env extend one base.
interface __BaseEnv_Env {
  ROOMS: DurableObjectNamespace<import("./index").Room>;
  DOCS: DurableObjectNamespace<import("./index").Document>;
  SHARDS: DurableObjectNamespace<import("./index").Shard>;
  LOBBY: DurableObjectNamespace<import("./index").Lobby>;
  LOBBY_SHARDS: DurableObjectNamespace<import("./index").LobbyShard>;
  PAGES: DurableObjectNamespace<import("./index").Pages>;
  INVITE: string;
}
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("./index");
    durableNamespaces: "Room" | "Document" | "Shard" | "Lobby" | "LobbyShard" | "Pages";
  }
  interface Env extends __BaseEnv_Env {}
}
interface Env extends __BaseEnv_Env {}
