/**
 * Shards and the room going away mid-stream: a hibernated shard loses
 * nothing, a restarted one closes its sockets and its clients resume, an
 * evicted room wakes knowing its members. No broadcast is lost, repeated or
 * reordered for a client that resumes.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardName } from "../../src/big-rooms/layout";
import { freshRoom, type TestClient } from "../client";
import { joinOn, publish, seqs } from "./shards";

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function receive(client: TestClient, count: number): Promise<void> {
  await client.until(() => seqs(client).length >= count, `${count} broadcasts`);
}

describe("failures in a sharded room", { timeout: 20_000 }, () => {
  it("a shard that hibernates wakes with its sessions and misses nothing", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    await publish(room, 5, "a");
    await receive(bob.client, 5);
    await evictDurableObject(env.SHARDS.getByName(shardName(room, 1)));
    await publish(room, 5, "b");
    await receive(bob.client, 10);
    expect(seqs(bob.client)).toEqual(upTo(10));
    // Its sessions still speak, and are still known by the room.
    bob.client.send({ type: "broadcast", data: "after", id: "x" });
    expect(await bob.client.next("ack")).toMatchObject({ seq: 11 });
    expect((await ada.client.next("message", (m) => m.seq === 11)).data).toBe("after");
  });

  it("a session that closes while its shard sleeps still leaves, exactly once", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    await evictDurableObject(env.SHARDS.getByName(shardName(room, 1)));
    bob.client.close();
    expect((await ada.client.next("leave")).peer.id).toBe(bob.welcome.id);
    // A second leave would reach ada before the next join.
    const cy = await joinOn(room, 2, "cy");
    await ada.client.next("join", (f) => f.peer.id === cy.welcome.id);
    expect(ada.client.all("leave")).toHaveLength(1);
  });

  it("a shard that restarts closes its sockets; the room announces each leave once; they resume exactly once", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    await publish(room, 3, "a");
    await receive(bob.client, 3);
    await evictDurableObject(env.SHARDS.getByName(shardName(room, 1)), { webSockets: "close" });
    await bob.client.until(() => bob.client.closed !== undefined, "bob's close");
    await publish(room, 4, "b");
    // The shard's next life tells the room whom it still holds: bob is gone.
    await ada.client.next("leave", (f) => f.peer.id === bob.welcome.id);
    const back = await joinOn(room, 1, "bob", { since: 3, epoch: bob.welcome.epoch });
    expect(back.welcome).toMatchObject({ recovered: true, seq: 7 });
    await publish(room, 1, "c");
    await receive(back.client, 5);
    expect(seqs(back.client)).toEqual([4, 5, 6, 7, 8]);
    await ada.client.next("join", (f) => f.peer.id === back.welcome.id);
    expect(ada.client.all("leave").map((f) => f.peer.id)).toEqual([bob.welcome.id]);
  });

  it("a room evicted mid-stream wakes knowing its members; nothing is lost or repeated", async () => {
    const room = freshRoom();
    const sessions = [
      await joinOn(room, 0, "a"),
      await joinOn(room, 1, "b"),
      await joinOn(room, 2, "c"),
    ];
    await publish(room, 5, "before");
    await evictDurableObject(env.ROOMS.getByName(room));
    await publish(room, 5, "after");
    // Directs need the member table, which the room read back from storage.
    const [a, b] = sessions as [(typeof sessions)[0], (typeof sessions)[0]];
    a.client.send({ type: "direct", to: b.welcome.id, data: "dm", id: "dm" });
    expect(await a.client.next("ack")).toMatchObject({ id: "dm" });
    for (const { client } of sessions) {
      await receive(client, 10);
      expect(seqs(client)).toEqual(upTo(10));
    }
    expect((await b.client.next("message", (m) => m.to !== undefined)).data).toBe("dm");
  });

  it("answers a join repeated by a shard's retry with one session and one welcome", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 1, "ada");
    // As a retry reaching a restarted room would: the same join, in a batch it has not seen.
    const joiner = {
      peer: { id: ada.welcome.id, name: "ada" },
      scope: `session:${ada.welcome.id}`,
    };
    const stub = env.ROOMS.getByName(room);
    await stub.uplink({
      room,
      shard: 1,
      life: "a retry",
      seq: 1,
      events: [{ kind: "join", joiner }],
    });
    ada.client.send({ type: "broadcast", data: "still here", id: "x" });
    await ada.client.next("ack");
    expect(ada.client.all("welcome")).toHaveLength(1);
    expect((await stub.describe()).connections).toBe(1);
  });

  it("relays a batch's frames once when the shard retries it into a restarted room", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    const text = JSON.stringify({ type: "broadcast", data: "once" });
    const batch = {
      room,
      shard: 1,
      life: "a life of shard 1",
      seq: 1,
      events: [{ kind: "frame" as const, from: bob.welcome.id, text }],
    };
    const stub = env.ROOMS.getByName(room);
    await stub.uplink(batch);
    await ada.client.next("message");
    // The answer was lost and the room restarted before the shard tried again.
    await evictDurableObject(stub);
    await stub.uplink(batch);
    bob.client.send({ type: "broadcast", data: "marker", id: "m" });
    await ada.client.next("message", (m) => m.data === "marker");
    expect(ada.client.all("message").map((m) => m.data)).toEqual(["once", "marker"]);
  });
});
