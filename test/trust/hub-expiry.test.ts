/**
 * One room's grant expiring on a multiplexed connection (`GET /ws`): the room
 * warns that subscription, a refresh naming the room keeps it (and only it),
 * and expiry, or a refreshed grant that no longer opens the room, ends only
 * it (`unsubscribed` 4001 or 4403) while the socket and its other rooms go on.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freshRoom, join } from "../client";
import { connectHub, framesIn, nextIn, subscribe } from "../hubs/hubs";
import { alarm, frozenAhead, roundTrip, thaw, token } from "./trust";

let clock: { advance(ms: number): void };
beforeEach(() => {
  clock = frozenAhead();
});
afterEach(thaw);

/**
 * Ada's connection holds two rooms: `short` on a five-minute grant, `long`
 * on an hour's. Bob watches `short` on a single-room socket.
 */
async function hub() {
  const [short, long] = [freshRoom(), freshRoom()];
  const issued = Date.now();
  const ada = await connectHub({ client: `ada-${short}`, name: "ada" });
  const inShort = await subscribe(ada, short, { token: await token("u-ada", 300) });
  await subscribe(ada, long, { token: await token("u-ada", 3600) });
  const bob = await join(short, "bob", { token: await token("u-bob", 3600) });
  const expires = Math.floor(issued / 1000) * 1000 + 300_000;
  return { short, long, ada, adaId: inShort.id, bob: bob.client, expires };
}

/** A broadcast with an id from the hub connection in `room`, answered by its ack. */
async function hubRoundTrip(ada: Awaited<ReturnType<typeof hub>>["ada"], room: string, id: string) {
  ada.send({ type: "broadcast", room, data: id, id });
  return nextIn(ada, room, "ack", (ack) => ack.id === id);
}

describe("one room's grant expiring on a multiplexed connection", { timeout: 20_000 }, () => {
  it("warns that room's subscription, and a refresh naming the room keeps it", async () => {
    const { short, long, ada, bob, expires } = await hub();
    clock.advance(expires - Date.now() - 60_000);
    await alarm(short);
    const warned = await nextIn(ada, short, "expiring");
    expect(warned).toEqual({ room: short, type: "expiring", at: expires });
    expect(framesIn(ada, long).filter((f) => f.type === "expiring")).toEqual([]);

    ada.send({ type: "refresh", room: short, token: await token("u-ada", 900), id: "r1" });
    expect(await nextIn(ada, short, "ack", (a) => a.id === "r1")).toEqual({
      room: short,
      type: "ack",
      id: "r1",
    });

    clock.advance(120_000);
    await alarm(short);
    await hubRoundTrip(ada, short, "after the old expiry");
    await bob.next("message", (m) => m.data === "after the old expiry");
    const ends = [short, long].flatMap((room) => framesIn(ada, room));
    expect(ends.filter((f) => f.type === "unsubscribed")).toEqual([]);
    expect(bob.all("leave")).toEqual([]);
    expect(ada.closed).toBeUndefined();
  });

  it("ends only that room's subscription at expiry; the socket and its other room go on", async () => {
    const { short, long, ada, adaId, bob, expires } = await hub();
    clock.advance(expires - Date.now());
    await alarm(short);
    const ended = await nextIn(ada, short, "unsubscribed");
    expect(ended).toEqual({
      type: "unsubscribed",
      room: short,
      code: 4001,
      reason: "the token expired",
    });
    const left = await bob.next("leave");
    expect(left.peer.id).toBe(adaId);
    await roundTrip(bob, "m1");
    expect(bob.all("leave")).toHaveLength(1);

    // The other room, on its hour's grant, is untouched, and so is the socket.
    expect((await hubRoundTrip(ada, long, "still in long")).seq).toBe(1);
    ada.send({ type: "broadcast", room: short, data: "gone", id: "gone" });
    const refused = await nextIn(ada, short, "error", (e) => e.id === "gone");
    expect(refused.code).toBe("not_subscribed");
    expect(ada.closed).toBeUndefined();

    // A fresh grant subscribes it again.
    ada.send({ type: "subscribe", room: short, token: await token("u-ada", 3600) });
    await nextIn(ada, short, "welcome", (w) => w.id !== adaId);
  });

  it("takes a refresh for the room it names alone: another room's refresh does not save this one", async () => {
    const { short, long, ada, expires } = await hub();
    ada.send({ type: "refresh", room: long, token: await token("u-ada", 7200), id: "r-long" });
    await nextIn(ada, long, "ack", (a) => a.id === "r-long");
    clock.advance(expires - Date.now());
    await alarm(short);
    expect((await nextIn(ada, short, "unsubscribed")).code).toBe(4001);
    expect((await hubRoundTrip(ada, long, "long goes on")).seq).toBe(1);
  });

  it("ends only that subscription as forbidden when its refreshed grant no longer opens the room", async () => {
    const { short, long, ada, adaId, bob } = await hub();
    const elsewhere = await token("u-ada", 3600, { rooms: [long] });
    ada.send({ type: "refresh", room: short, token: elsewhere, id: "r1" });
    expect((await nextIn(ada, short, "unsubscribed")).code).toBe(4403);
    await bob.next("leave", (l) => l.peer.id === adaId);
    expect((await hubRoundTrip(ada, long, "long goes on")).seq).toBe(1);
    expect(ada.closed).toBeUndefined();
  });
});
