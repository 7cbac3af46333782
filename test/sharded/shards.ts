/** Helpers for tests of rooms spread over shards (the workerd-sharded project: 3 shards). */
import { env, exports } from "cloudflare:workers";
import { shardName, shardOf } from "../../src/big-rooms/layout";
import { join, TestClient, type Welcome } from "../client";

export const SHARDS = 3;

/** A client id that the Worker sends to shard `index`. */
export function clientOn(index: number, prefix = "c"): string {
  for (let n = 0; ; n++) {
    const id = `${prefix}${n}`;
    if (shardOf(id, SHARDS) === index) return id;
  }
}

/** Joins through the Worker as a client the Worker places on shard `index`. */
export function joinOn(
  room: string,
  index: number,
  name: string,
  query: Record<string, string | number> = {},
): Promise<{ client: TestClient; welcome: Welcome }> {
  return join(room, name, { client: clientOn(index, name), ...query });
}

/** Connects straight to shard `index`, past the Worker's placement, with any query. */
export async function joinShard(
  room: string,
  index: number,
  query: Record<string, string | number>,
): Promise<{ client: TestClient; welcome: Welcome }> {
  const params = new URLSearchParams({ room, name: "", ...stringify(query) });
  const shard = env.SHARDS.getByName(shardName(room, index));
  const response = await shard.fetch(`https://room/connect?${params}`, {
    headers: { Upgrade: "websocket" },
  });
  if (!response.webSocket) throw new Error(`refused: ${response.status}`);
  const client = new TestClient(response.webSocket);
  return { client, welcome: await client.next("welcome") };
}

/** The seqs of the broadcasts a client received, in arrival order. */
export function seqs(client: TestClient): number[] {
  return client.all("message").flatMap((m) => (m.seq === undefined ? [] : [m.seq]));
}

function stringify(query: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
}

/** Publishes through the server API (no client rate limit), one after another. */
export async function publish(room: string, count: number, prefix: string): Promise<void> {
  for (let n = 1; n <= count; n++) {
    const response = await exports.default.fetch(`http://relay.test/rooms/${room}/messages`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token" },
      body: JSON.stringify({ data: `${prefix}${n}` }),
    });
    if (!response.ok) throw new Error(`publish failed: ${response.status}`);
  }
}
