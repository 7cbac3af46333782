/** Helpers for tests of rooms spread over shards (the workerd-sharded project: 3 shards). */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { ShardStub } from "../../src/big-rooms/fanout";
import { HOLDER_HEADER } from "../../src/big-rooms/holders";
import { shardName, shardOf } from "../../src/big-rooms/layout";
import type { Shard } from "../../src/big-rooms/shard";
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

/**
 * Connects straight to shard `index`, past the Worker's placement, with any
 * query; `byIdOnly` reaches it as a local dev registry's proxy does, without
 * its name, saying which shard it is as the Worker does.
 */
export async function joinShard(
  room: string,
  index: number,
  query: Record<string, string | number>,
  byIdOnly = false,
): Promise<{ client: TestClient; welcome: Welcome }> {
  const params = new URLSearchParams({ room, name: "", ...stringify(query) });
  const shard = byIdOnly
    ? shardByIdOnly(room, index)
    : env.SHARDS.getByName(shardName(room, index));
  const response = await shard.fetch(`https://room/connect?${params}`, {
    headers: { Upgrade: "websocket", [HOLDER_HEADER]: String(index) },
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

type Wired = { fanout: { shard: (index: number) => ShardStub } };

/**
 * Makes the room's downlink calls to `holder` (a shard's index, or a hub's
 * number: src/big-rooms/holders.ts) fail, as they do while its process
 * restarts, until `heal()`. `gaveUp` settles once the room has given up on a
 * batch and tries the next. It polls a flag: a promise settled inside the
 * room would carry the test on in the room's I/O context, where the test's
 * sockets are not its own.
 */
export async function downlinksFail(
  room: string,
  holder: number,
): Promise<{ gaveUp(): Promise<void>; heal(): void }> {
  let healed = false;
  let given = false;
  let failed: number | undefined;
  await runInDurableObject(env.ROOMS.getByName(room), (instance) => {
    const { fanout } = instance as unknown as Wired;
    const through = fanout.shard;
    const failing: ShardStub = {
      downlink: async (batch) => {
        // A later batch means the room stopped retrying an earlier one.
        failed ??= batch.seq;
        given ||= batch.seq > failed;
        throw new Error("the shard is restarting");
      },
    };
    fanout.shard = (i) => (i === holder && !healed ? failing : through(i));
  });
  return {
    gaveUp: () => vi.waitFor(() => expect(given).toBe(true), { timeout: 5000, interval: 5 }),
    heal: () => (healed = true),
  };
}

/** A stub of shard `index` that carries no name, as one through a local dev registry's proxy. */
export function shardByIdOnly(room: string, index: number): DurableObjectStub<Shard> {
  const id = env.SHARDS.idFromName(shardName(room, index)).toString();
  return env.SHARDS.get(env.SHARDS.idFromString(id));
}

/** Makes the room reach its shards by ID alone. */
export async function shardsByIdOnly(room: string): Promise<void> {
  await runInDurableObject(env.ROOMS.getByName(room), (instance) => {
    const { fanout } = instance as unknown as Wired;
    fanout.shard = (i) => shardByIdOnly(room, i) as unknown as ShardStub;
  });
}
