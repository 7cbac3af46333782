/**
 * One resume after a restart, for a hub as for a shard (the one mechanism,
 * src/big-rooms/holding.ts): what a room lost on its way to a hub's old life
 * ends none of the new life's subscriptions, and a welcome a room lost is
 * asked for again rather than the subscription ended after the room's other
 * members saw it join. A hub reached by ID alone learns its number as a
 * shard does.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ShardStub } from "../../src/big-rooms/fanout";
import { HOLDER_HEADER, hubHolder, hubName, hubOf } from "../../src/big-rooms/holders";
import { freshRoom, join, TestClient, type Welcome } from "../client";
import { downlinksFail } from "../sharded/shards";
import { connectHub, framesIn, type Named, nextIn, publish, seqsIn } from "./hubs";

/** Every join `watcher` saw is of a welcomed session, and the only leaves are `gone`. */
function noneAnnouncedUnwelcomed(watcher: TestClient, welcomed: string[], gone: string[]): void {
  const joins = watcher.all("join").map((f) => f.peer.id);
  expect(joins.filter((id) => !welcomed.includes(id))).toEqual([]);
  expect(watcher.all("leave").map((f) => f.peer.id)).toEqual(gone);
}

/** The room's welcome of `client`'s subscription, which nothing ended first. */
async function welcomedIn(client: TestClient, room: string): Promise<Welcome> {
  const outcome = (f: Named) => f.type === "welcome" || f.type === "unsubscribed";
  await client.until(() => framesIn(client, room).some(outcome), `an answer in ${room}`);
  const answers = framesIn(client, room).filter(outcome);
  expect(answers.map((f) => f.type)).toEqual(["welcome"]);
  return answers[0] as unknown as Welcome;
}

describe("a hub whose room's downlinks fail", { timeout: 20_000 }, () => {
  it("ends none of its next life's subscriptions for what the old one missed: one resume", async () => {
    const room = freshRoom();
    const watch = await join(room, "watch");
    const ada = await connectHub({ client: "ada-r1" });
    ada.send({ type: "subscribe", room });
    const first = await welcomedIn(ada, room);
    await publish(room, 2);
    await ada.until(() => seqsIn(ada, room).length >= 2, "2 broadcasts");
    const link = await downlinksFail(room, hubHolder(0));
    await evictDurableObject(env.HUBS.getByName(hubName(0)), { webSockets: "close" });
    await ada.until(() => ada.closed !== undefined, "the hub's close");
    // Broadcasts for the old life's subscription: the room gives up on them.
    await publish(room, 2);
    const back = await connectHub({ client: "ada-r1" });
    // Back before any downlink reaches the hub's new life.
    back.send({ type: "subscribe", room, since: 2, epoch: first.epoch });
    await link.gaveUp();
    link.heal();
    const again = await welcomedIn(back, room);
    expect(again.recovered).toBe(true);
    await publish(room, 1);
    await back.until(() => seqsIn(back, room).length >= 3, "3 broadcasts");
    expect(seqsIn(back, room)).toEqual([3, 4, 5]);
    expect(framesIn(back, room).filter((f) => f.type === "welcome")).toHaveLength(1);
    await watch.client.next("join", (f) => f.peer.id === again.id);
    noneAnnouncedUnwelcomed(watch.client, [first.id, again.id], [first.id]);
  });
});

describe("a room restarted with a hub's welcome still queued", { timeout: 20_000 }, () => {
  it("welcomes the subscription in its next life, rather than end it after announcing it", async () => {
    const room = freshRoom();
    const watch = await join(room, "watch");
    await downlinksFail(room, hubHolder(0));
    const bob = await connectHub({ client: "bob-r2" });
    bob.send({ type: "subscribe", room });
    // The room took bob in (watch is told) but his welcome is stuck in its queue for the hub.
    const joined = await watch.client.next("join");
    await evictDurableObject(env.ROOMS.getByName(room));
    await publish(room, 1);
    const welcome = await welcomedIn(bob, room);
    expect(welcome.id).toBe(joined.peer.id);
    watch.client.send({ type: "broadcast", data: "hi", id: "h" });
    const hi = await nextIn(bob, room, "message", (m) => m.data === "hi");
    expect(hi.seq).toBe(2);
    expect(framesIn(bob, room).filter((f) => f.type === "unsubscribed")).toEqual([]);
    noneAnnouncedUnwelcomed(watch.client, [welcome.id], []);
  });
});

/** Hub `index` reached by ID alone, as through a local dev registry's proxy: it has no name. */
function hubByIdOnly(index: number): DurableObjectStub {
  const id = env.HUBS.idFromName(hubName(index)).toString();
  return env.HUBS.get(env.HUBS.idFromString(id));
}

/** A connection straight to that hub, saying which hub it is as the Worker does. */
async function connectByIdOnly(index: number, client: string): Promise<TestClient> {
  const response = await hubByIdOnly(index).fetch(`https://room/connect?client=${client}`, {
    headers: { Upgrade: "websocket", [HOLDER_HEADER]: String(hubHolder(index)) },
  });
  if (!response.webSocket) throw new Error(`refused: ${response.status}`);
  return new TestClient(response.webSocket);
}

/** Makes the room reach its hubs by ID alone too (its shards, if any, as before). */
async function hubsByIdOnly(room: string): Promise<void> {
  await runInDurableObject(env.ROOMS.getByName(room), (instance) => {
    const { fanout } = instance as unknown as { fanout: { shard: (i: number) => ShardStub } };
    const through = fanout.shard;
    fanout.shard = (i) => {
      const hub = hubOf(i);
      return hub === undefined ? through(i) : (hubByIdOnly(hub) as unknown as ShardStub);
    };
  });
}

describe("a hub reached by ID alone (a local dev registry's proxy)", { timeout: 20_000 }, () => {
  it("learns its number from the upgrade and, in its next life, from the first downlink", async () => {
    const room = freshRoom();
    const watch = await join(room, "watch");
    // Hub 1 (this project runs one hub) was never reached by its name, so no life of it has one.
    const cy = await connectByIdOnly(1, "cy-r3");
    cy.send({ type: "subscribe", room });
    const first = await welcomedIn(cy, room);
    await hubsByIdOnly(room);
    await evictDurableObject(hubByIdOnly(1), { webSockets: "close" });
    await cy.until(() => cy.closed !== undefined, "the hub's close");
    // Woken by this broadcast: its first uplink must reach the room as hub 1, which holds nobody now.
    await publish(room, 1);
    await watch.client.next("leave", (f) => f.peer.id === first.id);
    const back = await connectByIdOnly(1, "cy-r3");
    back.send({ type: "subscribe", room, since: 1, epoch: first.epoch });
    expect((await welcomedIn(back, room)).recovered).toBe(true);
    watch.client.send({ type: "broadcast", data: "hi", id: "h" });
    expect((await nextIn(back, room, "message", (m) => m.data === "hi")).seq).toBe(2);
  });

  it("learns it from a sleeping connection's attachment when that connection's frame wakes it", async () => {
    const room = freshRoom();
    const watch = await join(room, "watch");
    // A member on hub 0, which a hub 1 that took itself for hub 0 would say it no longer holds.
    const ada = await connectHub({ client: "ada-r4" });
    ada.send({ type: "subscribe", room });
    await welcomedIn(ada, room);
    const cy = await connectByIdOnly(1, "cy-r4");
    cy.send({ type: "subscribe", room });
    await welcomedIn(cy, room);
    await hubsByIdOnly(room);
    // It sleeps with cy's socket open: cy's next frame wakes a life with no name.
    await evictDurableObject(hubByIdOnly(1));
    cy.send({ type: "broadcast", room, data: "awake", id: "w" });
    expect(await nextIn(cy, room, "ack")).toMatchObject({ id: "w", seq: 1 });
    expect((await watch.client.next("message")).data).toBe("awake");
    expect((await nextIn(ada, room, "message")).data).toBe("awake");
    expect(watch.client.all("leave")).toEqual([]);
  });
});
