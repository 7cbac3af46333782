/**
 * One connection, many rooms: each room keeps its own order, acks, duplicate
 * detection and resume exactly once, the connection's bad input is answered
 * without harming its other rooms, and every room hears exactly one leave
 * per session. Run with rooms in one object and spread over shards.
 */
import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hubName } from "../../src/big-rooms/holders";
import { freshRoom, join, type TestClient } from "../client";
import { connectHub, framesIn, nextIn, publish, seqsIn, subscribe } from "./hubs";

const upTo = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function receive(client: TestClient, room: string, count: number): Promise<void> {
  await client.until(() => seqsIn(client, room).length >= count, `${count} broadcasts in ${room}`);
}

/** Sends a broadcast with an id and waits for its ack: what the room sent before it has arrived. */
async function roundTrip(client: TestClient, room: string, id: string) {
  client.send({ type: "broadcast", room, data: id, id });
  return nextIn(client, room, "ack", (ack) => ack.id === id);
}

describe("one connection, many rooms", { timeout: 20_000 }, () => {
  it("gives each of three rooms its own gapless seq over one socket", async () => {
    const rooms = [freshRoom(), freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-1", name: "ada" });
    const bob = await connectHub({ client: "bob-1", name: "bob" });
    for (const room of rooms) {
      await subscribe(ada, room);
      await subscribe(bob, room);
    }
    await publish(rooms[0] as string, 3);
    await publish(rooms[1] as string, 2);
    await publish(rooms[2] as string, 1);
    for (const [i, count] of [3, 2, 1].entries()) await receive(ada, rooms[i] as string, count);
    expect(rooms.map((room) => seqsIn(ada, room))).toEqual([[1, 2, 3], [1, 2], [1]]);

    const [, second] = rooms as [string, string, string];
    const adaIn = framesIn(ada, second).find((f) => f.type === "welcome")?.id;
    expect((await roundTrip(ada, second, "x")).seq).toBe(3);
    const got = await nextIn(bob, second, "message", (m) => m.seq === 3);
    expect(got).toMatchObject({ room: second, from: adaIn, data: "x" });
  });

  it("resumes every room exactly once after a drop: from the hub's ring, the log, or not at all", async () => {
    const [ring, log, old] = [freshRoom(), freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-2", name: "ada" });
    const welcomes = new Map<string, { epoch: string }>();
    for (const room of [ring, log, old]) welcomes.set(room, await subscribe(ada, room));
    // Someone on the same hub stays in `ring`, so the hub keeps that room's recent broadcasts.
    const keeper = await connectHub({ client: "keeper-2", name: "keeper" });
    await subscribe(keeper, ring);
    for (const room of [ring, log, old]) await publish(room, 2);
    for (const room of [ring, log, old]) await receive(ada, room, 2);

    ada.close();
    await nextIn(keeper, ring, "leave");
    await publish(ring, 3);
    await publish(log, 3);
    // More than the log keeps (HISTORY_SIZE 20): this room cannot replay.
    await publish(old, 25);

    const back = await connectHub({ client: "ada-2", name: "ada" });
    const resumed = new Map<string, { recovered?: boolean; reason?: string }>();
    for (const room of [ring, log, old]) {
      const epoch = welcomes.get(room)?.epoch;
      resumed.set(room, await subscribe(back, room, { since: 2, epoch }));
    }
    expect(resumed.get(ring)?.recovered).toBe(true);
    expect(resumed.get(log)?.recovered).toBe(true);
    expect(resumed.get(old)).toMatchObject({ recovered: false, reason: "too_many" });
    await receive(back, ring, 3);
    await receive(back, log, 3);
    for (const room of [ring, log, old]) await publish(room, 1, "live");
    for (const room of [ring, log]) await receive(back, room, 4);
    expect(seqsIn(back, ring)).toEqual(upTo(3, 6));
    expect(seqsIn(back, log)).toEqual(upTo(3, 6));
    await receive(back, old, 1);
    expect(seqsIn(back, old)).toEqual([28]);
  });

  it("acks and deduplicates per room: one id in two rooms is two messages", async () => {
    const [a, b] = [freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-3" });
    await subscribe(ada, a);
    await subscribe(ada, b);
    const first = await roundTrip(ada, a, "same");
    const other = await roundTrip(ada, b, "same");
    expect(first).toMatchObject({ seq: 1 });
    expect(first.duplicate).toBeUndefined();
    expect(other.duplicate).toBeUndefined();
    ada.send({ type: "broadcast", room: a, data: "again", id: "same" });
    await ada.until(
      () => framesIn(ada, a).filter((f) => f.type === "ack").length === 2,
      "the second ack",
    );
    expect(framesIn(ada, a).filter((f) => f.type === "ack")[1]).toMatchObject({
      seq: 1,
      duplicate: true,
    });
  });

  it("refuses a room past the cap and leaves the connection and its rooms alone", async () => {
    const rooms = [freshRoom(), freshRoom(), freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-4" });
    for (const room of rooms.slice(0, 3)) await subscribe(ada, room);
    const fourth = rooms[3] as string;
    ada.send({ type: "subscribe", room: fourth });
    expect((await nextIn(ada, fourth, "error")).code).toBe("too_many_rooms");
    expect((await roundTrip(ada, rooms[0] as string, "still")).seq).toBe(1);

    ada.send({ type: "unsubscribe", room: rooms[0] });
    await nextIn(ada, rooms[0], "unsubscribed");
    await subscribe(ada, fourth);
    expect(ada.closed).toBeUndefined();
  });

  it("answers bad input with an error frame and loses nothing", async () => {
    const [room, elsewhere] = [freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-5" });
    await subscribe(ada, room);
    ada.send("not json");
    expect((await nextIn(ada, undefined, "error")).code).toBe("bad_json");
    ada.send({ type: "broadcast", data: "where?", id: "n0" });
    expect((await nextIn(ada, undefined, "error", (e) => e.id === "n0")).code).toBe("bad_message");
    ada.send({ type: "subscribe", room: "no spaces!" });
    expect((await nextIn(ada, "no spaces!", "error")).code).toBe("bad_room");
    ada.send({ type: "subscribe", room: elsewhere, since: "yesterday" });
    expect((await nextIn(ada, elsewhere, "error")).code).toBe("bad_message");
    ada.send({ type: "broadcast", room: elsewhere, data: 1, id: "n1" });
    expect((await nextIn(ada, elsewhere, "error", (e) => e.id === "n1")).code).toBe(
      "not_subscribed",
    );
    ada.send({ type: "unsubscribe", room: elsewhere });
    await ada.until(
      () => framesIn(ada, elsewhere).filter((f) => f.code === "not_subscribed").length === 2,
      "a second not_subscribed",
    );
    ada.send({ type: "broadcast", room, data: { deep: true } });
    ada.send({ type: "direct", room, to: "nobody", data: 1, id: "n2" });
    expect((await nextIn(ada, room, "error", (e) => e.id === "n2")).code).toBe("unknown_recipient");
    expect((await roundTrip(ada, room, "after")).seq).toBe(2);
    expect(ada.closed).toBeUndefined();
  });

  it("announces one join per subscription and one leave per unsubscribe or close", async () => {
    const [a, b] = [freshRoom(), freshRoom()];
    const watchA = await join(a, "watch-a");
    const watchB = await join(b, "watch-b");
    const ada = await connectHub({ client: "ada-6", name: "ada" });
    const inA = await subscribe(ada, a);
    const inB = await subscribe(ada, b);
    // A second subscribe is ignored: no second session, no second welcome.
    ada.send({ type: "subscribe", room: a });
    await watchA.client.next("join", (j) => j.peer.id === inA.id);
    expect((await watchB.client.next("join")).peer).toMatchObject({ id: inB.id, name: "ada" });

    ada.send({ type: "unsubscribe", room: a });
    expect(await nextIn(ada, a, "unsubscribed")).toMatchObject({ code: 1000 });
    await watchA.client.next("leave", (l) => l.peer.id === inA.id);
    ada.close();
    await watchB.client.next("leave", (l) => l.peer.id === inB.id);

    await publish(a, 1);
    await publish(b, 1);
    await watchA.client.next("message");
    await watchB.client.next("message");
    expect(watchA.client.all("join")).toHaveLength(1);
    expect(watchA.client.all("leave")).toHaveLength(1);
    expect(watchB.client.all("leave")).toHaveLength(1);
    expect(framesIn(ada, a).filter((f) => f.type === "welcome")).toHaveLength(1);
  });

  it("carries directs and broadcasts between a multiplexed and a single-room session", async () => {
    const room = freshRoom();
    const solo = await join(room, "solo");
    const ada = await connectHub({ client: "ada-7", name: "ada" });
    const welcome = await subscribe(ada, room);
    expect(welcome.peers.map((p) => p.id)).toContain(solo.welcome.id);
    solo.client.send({ type: "direct", to: welcome.id, data: "psst", id: "d" });
    expect(await nextIn(ada, room, "message", (m) => m.data === "psst")).toMatchObject({
      from: solo.welcome.id,
      to: welcome.id,
    });
    ada.send({ type: "broadcast", room, data: "all", id: "b" });
    expect((await solo.client.next("message")).from).toBe(welcome.id);
    ada.send({ type: "presence", room, state: { typing: true }, id: "p" });
    expect((await solo.client.next("presence")).peer.state).toEqual({ typing: true });
  });

  it("a kick ends one room's subscription and leaves the socket and its other rooms", async () => {
    const [a, b] = [freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-8" });
    const inA = await subscribe(ada, a);
    await subscribe(ada, b);
    const kicked = await exports.default.fetch(`http://relay.test/rooms/${a}/kick`, {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token" },
      body: JSON.stringify({ session: inA.id, reason: "be nice" }),
    });
    expect(kicked.status).toBe(200);
    expect(await nextIn(ada, a, "unsubscribed")).toMatchObject({ code: 4410, reason: "be nice" });
    expect((await roundTrip(ada, b, "still here")).seq).toBe(1);
    ada.send({ type: "broadcast", room: a, data: "let me back", id: "k" });
    expect((await nextIn(ada, a, "error", (e) => e.id === "k")).code).toBe("not_subscribed");
  });

  it("a hub that hibernates wakes with every subscription and misses nothing", async () => {
    const [a, b] = [freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-9" });
    await subscribe(ada, a);
    await subscribe(ada, b);
    await publish(a, 2);
    await receive(ada, a, 2);
    await evictDurableObject(env.HUBS.getByName(hubName(0)));
    await publish(a, 2);
    await publish(b, 1);
    await receive(ada, a, 4);
    await receive(ada, b, 1);
    expect(seqsIn(ada, a)).toEqual(upTo(1, 4));
    expect((await roundTrip(ada, b, "awake")).seq).toBe(2);
  });

  it("a hub that restarts: each room announces one leave, and every room resumes exactly once", async () => {
    const [a, b] = [freshRoom(), freshRoom()];
    const watchA = await join(a, "watch-a");
    const watchB = await join(b, "watch-b");
    const ada = await connectHub({ client: "ada-10" });
    const inA = await subscribe(ada, a);
    const inB = await subscribe(ada, b);
    await publish(a, 2);
    await receive(ada, a, 2);
    await evictDurableObject(env.HUBS.getByName(hubName(0)), { webSockets: "close" });
    await ada.until(() => ada.closed !== undefined, "the hub's close");
    // The hub's next life tells each room whom it still holds: nobody.
    await publish(a, 2);
    await publish(b, 1);
    await watchA.client.next("leave", (l) => l.peer.id === inA.id);
    await watchB.client.next("leave", (l) => l.peer.id === inB.id);

    const back = await connectHub({ client: "ada-10" });
    await subscribe(back, a, { since: 2, epoch: inA.epoch });
    await subscribe(back, b, { since: 0, epoch: inB.epoch });
    await receive(back, a, 2);
    await receive(back, b, 1);
    await publish(a, 1);
    await receive(back, a, 3);
    expect(seqsIn(back, a)).toEqual(upTo(3, 5));
    expect(seqsIn(back, b)).toEqual([1]);
    expect(watchA.client.all("leave")).toHaveLength(1);
    expect(watchB.client.all("leave")).toHaveLength(1);
  });

  it("a room evicted while a hub holds its members wakes knowing them", async () => {
    const room = freshRoom();
    const watch = await join(room, "watch");
    const ada = await connectHub({ client: "ada-11" });
    const inRoom = await subscribe(ada, room);
    await publish(room, 2);
    await receive(ada, room, 2);
    await evictDurableObject(env.ROOMS.getByName(room));
    await publish(room, 2);
    await receive(ada, room, 4);
    expect(seqsIn(ada, room)).toEqual(upTo(1, 4));
    expect((await roundTrip(ada, room, "after")).seq).toBe(5);
    expect((await watch.client.next("message", (m) => m.seq === 5)).from).toBe(inRoom.id);
  });
});

describe("GET /hubs", () => {
  it("says what each hub holds: connections and rooms per connection", async () => {
    const [a, b] = [freshRoom(), freshRoom()];
    const ada = await connectHub({ client: "ada-12" });
    await subscribe(ada, a);
    await subscribe(ada, b);
    const denied = await exports.default.fetch("http://relay.test/hubs");
    expect(denied.status).toBe(401);
    const answer = await exports.default.fetch("http://relay.test/hubs", {
      headers: { authorization: "Bearer test-admin-token" },
    });
    const { hubs } = (await answer.json()) as {
      hubs: { index: number; connections: number; perConnection: number[] }[];
    };
    expect(hubs.map((hub) => hub.index)).toEqual([0]);
    expect(hubs[0]?.perConnection).toContain(2);
  });

  it("counts the rooms a hub holds members of, not those it has left", async () => {
    const room = freshRoom();
    const held = async () => {
      const answer = await exports.default.fetch("http://relay.test/hubs", {
        headers: { authorization: "Bearer test-admin-token" },
      });
      return ((await answer.json()) as { hubs: { rooms: number }[] }).hubs[0]?.rooms;
    };
    const before = (await held()) ?? 0;
    const ada = await connectHub({ client: "ada-13" });
    await subscribe(ada, room);
    expect(await held()).toBe(before + 1);
    ada.send({ type: "unsubscribe", room });
    await nextIn(ada, room, "unsubscribed");
    expect(await held()).toBe(before);
  });
});
