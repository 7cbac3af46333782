/**
 * One resume after a shard restart: a new life of a shard starts clean.
 * What the room lost on its way to the old life closes none of the new
 * life's sessions, a welcome lost on the way is asked for again rather than
 * the session dropped after the others saw it join, and a shard woken by a
 * downlink alone learns from it which room it serves.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOLDER_HEADER } from "../../src/big-rooms/holders";
import { shardName } from "../../src/big-rooms/layout";
import { freshRoom, TestClient } from "../client";
import {
  downlinksFail,
  joinOn,
  joinShard,
  publish,
  seqs,
  shardByIdOnly,
  shardsByIdOnly,
} from "./shards";

const restart = (room: string, index: number) =>
  evictDurableObject(env.SHARDS.getByName(shardName(room, index)), { webSockets: "close" });

async function closed(client: TestClient): Promise<void> {
  await client.until(() => client.closed !== undefined, "the restart's close");
}

/** Every join `watcher` saw is of a welcomed session, and the only leaves are the restart's. */
function noneAnnouncedUnwelcomed(watcher: TestClient, welcomed: string[], gone: string[]): void {
  const joins = watcher.all("join").map((f) => f.peer.id);
  expect(joins.filter((id) => !welcomed.includes(id))).toEqual([]);
  expect(watcher.all("leave").map((f) => f.peer.id)).toEqual(gone);
}

describe("a shard restarted while the room's downlinks to it fail", { timeout: 20_000 }, () => {
  it("closes none of the new life's sessions for what the old one missed: one resume each", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    const cy = await joinOn(room, 1, "cy");
    await publish(room, 3, "a");
    const link = await downlinksFail(room, 1);
    await restart(room, 1);
    await Promise.all([closed(bob.client), closed(cy.client)]);
    // Broadcasts for the old life's sessions: the room gives up on them.
    await publish(room, 2, "b");
    const epoch = bob.welcome.epoch;
    // Bob is back before any downlink reaches the new life, cy after the first one did.
    const bobBack = joinOn(room, 1, "bob", { since: 3, epoch });
    await link.gaveUp();
    link.heal();
    const bob2 = await bobBack;
    const cy2 = await joinOn(room, 1, "cy", { since: 3, epoch });
    expect(bob2.welcome.recovered).toBe(true);
    expect(cy2.welcome.recovered).toBe(true);
    await publish(room, 1, "c");
    for (const { client } of [bob2, cy2]) {
      await client.until(() => seqs(client).length >= 3, "3 broadcasts");
      expect(seqs(client)).toEqual([4, 5, 6]);
      expect(client.closed).toBeUndefined();
    }
    await ada.client.next("join", (f) => f.peer.id === cy2.welcome.id);
    const welcomed = [bob.welcome.id, cy.welcome.id, bob2.welcome.id, cy2.welcome.id];
    noneAnnouncedUnwelcomed(ada.client, welcomed, [bob.welcome.id, cy.welcome.id]);
  });

  it("asks again for a welcome the room lost on its way, rather than drop an announced session", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    await publish(room, 2, "a");
    const link = await downlinksFail(room, 1);
    await restart(room, 1);
    await closed(bob.client);
    // The first batch to the new life carries bob's welcome, and is given up on.
    const bobBack = joinOn(room, 1, "bob", { since: 2, epoch: bob.welcome.epoch });
    await link.gaveUp();
    link.heal();
    const bob2 = await bobBack;
    expect(bob2.welcome).toMatchObject({ recovered: true, seq: 2 });
    ada.client.send({ type: "broadcast", data: "still here?", id: "q" });
    expect((await bob2.client.next("message")).data).toBe("still here?");
    expect(bob2.client.all("welcome")).toHaveLength(1);
    expect(bob2.client.closed).toBeUndefined();
    noneAnnouncedUnwelcomed(ada.client, [bob.welcome.id, bob2.welcome.id], [bob.welcome.id]);
    expect(ada.client.all("join").filter((f) => f.peer.id === bob2.welcome.id)).toHaveLength(1);
  });
});

describe("a room restarted with a welcome still queued", { timeout: 20_000 }, () => {
  it("welcomes the session in its next life, rather than drop it after announcing it", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    await downlinksFail(room, 1);
    const bobJoins = joinOn(room, 1, "bob");
    // The room took bob in (ada is told) but his welcome is stuck in its queue for shard 1.
    const join = await ada.client.next("join");
    await evictDurableObject(env.ROOMS.getByName(room));
    await publish(room, 1, "after");
    const bob = await bobJoins;
    expect(bob.welcome.id).toBe(join.peer.id);
    ada.client.send({ type: "broadcast", data: "hi", id: "h" });
    expect((await bob.client.next("message", (m) => m.data === "hi")).seq).toBe(2);
    expect(bob.client.closed).toBeUndefined();
    expect(ada.client.all("leave")).toEqual([]);
  });
});

describe("a shard reached by ID alone (a local dev registry's proxy)", { timeout: 20_000 }, () => {
  it("learns its room and index from a client and, in its next life, from the first downlink", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    // Shard 2 was never reached by its name, so no life of it has one.
    const cy = await joinShard(room, 2, { name: "cy" }, true);
    await ada.client.next("join", (f) => f.peer.id === cy.welcome.id);
    await shardsByIdOnly(room);
    await evictDurableObject(shardByIdOnly(room, 2), { webSockets: "close" });
    await closed(cy.client);
    // Woken by this broadcast: its first uplink must reach this room, as shard 2.
    await publish(room, 1, "wake");
    await ada.client.next("leave", (f) => f.peer.id === cy.welcome.id);
    const back = await joinShard(room, 2, { name: "cy", since: 1, epoch: cy.welcome.epoch }, true);
    expect(back.welcome.recovered).toBe(true);
    ada.client.send({ type: "broadcast", data: "hi", id: "h" });
    expect((await back.client.next("message")).data).toBe("hi");
    ada.client.send({ type: "direct", to: back.welcome.id, data: "dm", id: "d" });
    expect((await back.client.next("message", (m) => m.to !== undefined)).data).toBe("dm");
  });

  it("learns them from a sleeping session's attachment when that session's frame wakes it", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const cy = await joinShard(room, 2, { name: "cy" }, true);
    await ada.client.next("join", (f) => f.peer.id === cy.welcome.id);
    await shardsByIdOnly(room);
    // It sleeps with cy's socket open: cy's next frame wakes a life with no name.
    await evictDurableObject(shardByIdOnly(room, 2));
    cy.client.send({ type: "broadcast", data: "awake", id: "w" });
    expect(await cy.client.next("ack")).toMatchObject({ id: "w", seq: 1 });
    expect((await ada.client.next("message")).data).toBe("awake");
    expect(ada.client.all("leave")).toEqual([]);
  });
});

describe("a shard reached by its name", { timeout: 20_000 }, () => {
  it("keeps its name's index when the upgrade names another (a Worker whose `shards` hook renames)", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    // The Worker picked local index 0; its hook renamed the shard to global index 2.
    const params = new URLSearchParams({ room, name: "cy" });
    const response = await env.SHARDS.getByName(shardName(room, 2)).fetch(
      `https://room/connect?${params}`,
      { headers: { Upgrade: "websocket", [HOLDER_HEADER]: "0" } },
    );
    if (!response.webSocket) throw new Error(`refused: ${response.status}`);
    const cy = new TestClient(response.webSocket);
    // Taken as shard 0, its uplink would have its welcome sent to shard 0 instead.
    const welcome = await cy.next("welcome");
    await ada.client.next("join", (f) => f.peer.id === welcome.id);
    ada.client.send({ type: "broadcast", data: "hi", id: "h" });
    expect((await cy.next("message")).data).toBe("hi");
  });
});
