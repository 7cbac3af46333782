/**
 * A room that shards by load (SHARD_AT_SESSIONS = 8, SHARDS_BY_LOAD = 2):
 * going up, new connections go to shards while the room keeps its own; going
 * down, after 10 minutes small, new connections come back to the room while
 * shards drain. Clients on both sides share one order throughout.
 */
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { freezeClock, freshRoom, join, type TestClient } from "../client";

async function layout(room: string) {
  const response = await exports.default.fetch(`http://relay.test/rooms/${room}`, {
    headers: { authorization: "Bearer test-admin-token" },
  });
  return (await response.json()) as {
    mode: string;
    connections: number;
    shards: { index: number; sessions: number }[];
  };
}

const onShards = (view: Awaited<ReturnType<typeof layout>>) =>
  view.shards.reduce((sum, shard) => sum + shard.sessions, 0);

async function hears(client: TestClient, data: string): Promise<void> {
  await client.next("message", (m) => m.data === data);
}

afterEach(() => vi.useRealTimers());

describe("switching between one object and shards", { timeout: 20_000 }, () => {
  it("goes up with new connections, and down once small for ten minutes", async () => {
    const clock = freezeClock();
    const room = freshRoom();
    const here = [];
    for (let i = 0; i < 8; i++) here.push(await join(room, `h${i}`, { client: `h${i}` }));
    expect(await layout(room)).toMatchObject({ mode: "single", connections: 8, shards: [] });

    const sharded = [];
    for (let i = 0; i < 4; i++) sharded.push(await join(room, `s${i}`, { client: `s${i}` }));
    const up = await layout(room);
    expect(up).toMatchObject({ mode: "sharded", connections: 12 });
    expect(onShards(up)).toBe(4);

    // One order for both sides.
    const [h0] = here;
    const [s0] = sharded;
    if (!h0 || !s0) throw new Error("no sessions");
    h0.client.send({ type: "broadcast", data: "from the room", id: "a" });
    s0.client.send({ type: "broadcast", data: "from a shard", id: "b" });
    await hears(s0.client, "from the room");
    await hears(h0.client, "from a shard");
    const seqOf = (client: TestClient, data: string) =>
      client.all("message").find((m) => m.data === data)?.seq;
    for (const { client } of [...here.slice(1), ...sharded.slice(1)]) {
      await hears(client, "from the room");
      await hears(client, "from a shard");
      const order = client.all("message").map((m) => m.seq ?? 0);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(seqOf(client, "from the room")).toBe(seqOf(s0.client, "from the room"));
    }

    // Down to one session on a shard: still sharded until ten quiet minutes pass.
    for (const { client } of [...here, ...sharded.slice(1)]) client.close();
    await s0.client.until(() => s0.client.all("leave").length === 11, "eleven leaves");
    clock.advance(6_000); // past the Worker's cache of the layout
    const early = await join(room, "early", { client: "early" });
    expect(onShards(await layout(room))).toBe(2);
    early.client.close();
    await s0.client.next("leave", (f) => f.peer.name === "early");
    clock.advance(10 * 60_000);
    const late = await join(room, "late", { client: "late" });
    const down = await layout(room);
    expect(down).toMatchObject({ mode: "sharded", connections: 2 });
    expect(onShards(down)).toBe(1); // s0 drains on its shard; late is in the room itself
    s0.client.send({ type: "broadcast", data: "across", id: "c" });
    await hears(late.client, "across");
    s0.client.close();
    await late.client.next("leave");
    expect(await layout(room)).toMatchObject({ mode: "single", connections: 1, shards: [] });
  });
});
