/**
 * One room over three shards: one seq order everywhere, exactly once, with
 * acks, duplicates and presence as a single room gives them.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshRoom, type TestClient } from "../client";
import { joinOn, joinShard, SHARDS, seqs } from "./shards";

const send = (client: TestClient, data: unknown, id?: string) =>
  client.send({ type: "broadcast", data, id });

async function describeRoom(room: string) {
  const response = await exports.default.fetch(`http://relay.test/rooms/${room}`, {
    headers: { authorization: "Bearer test-admin-token" },
  });
  return (await response.json()) as { mode: string; shards: { index: number; sessions: number }[] };
}

describe("a room over three shards", () => {
  it("gives every session the same seq order, gapless but for its own broadcasts", async () => {
    const room = freshRoom();
    const sessions = [];
    for (let i = 0; i < 6; i++) sessions.push(await joinOn(room, i % SHARDS, `s${i}`));
    expect(await describeRoom(room)).toMatchObject({
      mode: "sharded",
      shards: [0, 1, 2].map((index) => ({ index, sessions: 2 })),
    });
    // Everyone speaks at once, 5 each, from every shard.
    for (let n = 0; n < 5; n++) {
      for (const [i, { client }] of sessions.entries()) send(client, `${i}:${n}`, `${i}-${n}`);
    }
    const total = sessions.length * 5;
    for (const { client } of sessions) {
      await client.until(() => client.all("ack").length === 5, "five acks");
      await client.until(
        () => client.all("message").length === total - 5,
        "the others' broadcasts",
      );
    }
    for (const { client } of sessions) {
      const mine = client.all("ack").map((ack) => ack.seq ?? 0);
      const received = seqs(client);
      // In order, each once, and with its own acks exactly the whole log.
      expect(received).toEqual([...received].sort((a, b) => a - b));
      expect([...received, ...mine].sort((a, b) => a - b)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
    }
  });

  it("keeps each sender's order for directs to another shard", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 2, "bob");
    for (let n = 0; n < 20; n++) ada.client.send({ type: "direct", to: bob.welcome.id, data: n });
    // Links here drop a fifth of calls and retry with backoff: under a full suite's load that
    // can outlast until()'s default 5 s, so wait up to the test's own deadline.
    await bob.client.until(() => bob.client.all("message").length === 20, "twenty directs", 15_000);
    expect(bob.client.all("message").map((m) => m.data)).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );
  });

  it("acks an id resent through another shard as a duplicate, and relays it once", async () => {
    const room = freshRoom();
    const watcher = await joinOn(room, 1, "watcher");
    const first = await joinShard(room, 0, { client: "phone" });
    send(first.client, "once", "m1");
    const ack = await first.client.next("ack");
    first.client.close();
    const again = await joinShard(room, 2, { client: "phone" });
    send(again.client, "once", "m1");
    expect(await again.client.next("ack")).toEqual({ ...ack, duplicate: true });
    send(again.client, "marker");
    await watcher.client.next("message", (m) => m.data === "marker");
    expect(watcher.client.all("message").map((m) => m.data)).toEqual(["once", "marker"]);
  });

  it("tells everyone of each session exactly one join and one leave", async () => {
    const room = freshRoom();
    const watchers = [await joinOn(room, 0, "w0"), await joinOn(room, 1, "w1")];
    const comers = [];
    for (let i = 0; i < 6; i++) comers.push(await joinOn(room, i % SHARDS, `c${i}`));
    for (const { client } of comers) client.close();
    const ids = comers.map((c) => c.welcome.id).sort();
    for (const { client } of watchers) {
      await client.until(() => client.all("leave").length === 6, "six leaves");
      const joined = client.all("join").map((f) => f.peer.id);
      const left = client.all("leave").map((f) => f.peer.id);
      expect(joined.filter((id) => ids.includes(id)).sort()).toEqual(ids);
      expect([...left].sort()).toEqual(ids);
    }
    const after = await joinOn(room, 2, "late");
    expect(after.welcome.peers.map((p) => p.name).sort()).toEqual(["w0", "w1"]);
  });

  it("answers a bad frame in its place among the room's answers", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 1, "ada");
    ada.client.send({ type: "broadcast", data: 1, id: "good" });
    ada.client.send("not json");
    ada.client.send({ type: "broadcast", data: 2, id: "after" });
    await ada.client.until(() => ada.client.frames.length >= 4, "three answers");
    expect(ada.client.frames.slice(1).map((f) => f.type)).toEqual(["ack", "error", "ack"]);
  });
});
