import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freshRoom, join } from "../client";
import { alarm, closedOf, frozenAhead, roundTrip, settle, thaw, token } from "./trust";

let clock: { advance(ms: number): void };
beforeEach(() => {
  clock = frozenAhead();
});
afterEach(thaw);

/** Ada's token lasts five minutes; bob, who watches, has an hour. */
async function room() {
  const name = freshRoom();
  const issued = Date.now();
  const ada = await join(name, "ada", { token: await token("u-ada", 300) });
  const bob = await join(name, "bob", { token: await token("u-bob", 3600) });
  await ada.client.next("join");
  const expires = Math.floor(issued / 1000) * 1000 + 300_000;
  return { name, ada, bob, expires };
}

describe("tokens that expire on live sockets", () => {
  it("warns a session a minute before its token expires, and closes it at expiry", async () => {
    const { name, ada, bob, expires } = await room();
    clock.advance(expires - Date.now() - 60_000);
    await alarm(name);
    expect(await ada.client.next("expiring")).toEqual({ type: "expiring", at: expires });
    await settle(ada.client, bob.client, "still here");

    clock.advance(60_000);
    await alarm(name);
    expect(await closedOf(ada.client)).toEqual({ code: 4001, reason: "the token expired" });
    const left = await bob.client.next("leave");
    expect(left.peer.id).toBe(ada.welcome.id);
    await roundTrip(bob.client, "m1");
    expect(bob.client.all("leave")).toHaveLength(1);
    // Bob's own hour is untouched.
    expect(bob.client.closed).toBeUndefined();
  });

  it("keeps a session that refreshed in-band past its old expiry", async () => {
    const { name, ada, bob, expires } = await room();
    clock.advance(expires - Date.now() - 60_000);
    await alarm(name);
    await ada.client.next("expiring");
    ada.client.send({ type: "refresh", token: await token("u-ada", 900), id: "r1" });
    expect(await ada.client.next("ack", (a) => a.id === "r1")).toEqual({ type: "ack", id: "r1" });

    clock.advance(120_000);
    await alarm(name);
    await settle(ada.client, bob.client, "after the old expiry");
    expect(ada.client.closed).toBeUndefined();
    expect(bob.client.all("leave")).toEqual([]);
  });

  it("relays nothing from an expired session but its refresh", async () => {
    const { ada, bob, expires } = await room();
    // Past expiry, before the alarm has closed it.
    clock.advance(expires - Date.now() + 1);
    ada.client.send({ type: "broadcast", data: "too late", id: "late" });
    ada.client.send({ type: "presence", state: "typing", id: "late-presence" });
    expect((await ada.client.next("error", (e) => e.id === "late")).code).toBe("expired");
    expect((await ada.client.next("error", (e) => e.id === "late-presence")).code).toBe("expired");

    ada.client.send({ type: "refresh", token: await token("u-ada", 600), id: "r1" });
    await ada.client.next("ack", (a) => a.id === "r1");
    await settle(ada.client, bob.client, "refreshed");
    expect(bob.client.all("message").map((m) => m.data)).toEqual(["refreshed"]);
    expect(bob.client.all("presence")).toEqual([]);
  });

  it("warns and closes a session while the room is evicted between the moments", async () => {
    const { name, ada, bob, expires } = await room();
    await evictDurableObject(env.ROOMS.getByName(name));
    clock.advance(expires - Date.now() - 60_000);
    await alarm(name);
    await ada.client.next("expiring");

    await evictDurableObject(env.ROOMS.getByName(name));
    clock.advance(60_000);
    await alarm(name);
    expect((await closedOf(ada.client)).code).toBe(4001);
    await bob.client.next("leave");
    await roundTrip(bob.client, "m1");
    expect(bob.client.all("leave")).toHaveLength(1);
  });

  it("refuses a refresh for another user, and the session runs on to its expiry", async () => {
    const { name, ada, bob, expires } = await room();
    ada.client.send({ type: "refresh", token: await token("u-mallory", 3600), id: "r1" });
    const refused = await ada.client.next("error", (e) => e.id === "r1");
    expect(refused.code).toBe("unauthorized");
    await settle(ada.client, bob.client, "still ada");

    clock.advance(expires - Date.now());
    await alarm(name);
    expect((await closedOf(ada.client)).code).toBe(4001);
  });

  it("refuses a forged refresh without ending the session", async () => {
    const { ada, bob } = await room();
    ada.client.send({ type: "refresh", token: "not.a.jwt", id: "r1" });
    expect((await ada.client.next("error", (e) => e.id === "r1")).code).toBe("unauthorized");
    await settle(ada.client, bob.client, "still ada");
  });

  it("closes a session as forbidden when its refreshed token no longer opens the room", async () => {
    const { ada, bob } = await room();
    const elsewhere = await token("u-ada", 3600, { rooms: ["elsewhere"] });
    ada.client.send({ type: "refresh", token: elsewhere, id: "r1" });
    const closed = await closedOf(ada.client);
    expect(closed.code).toBe(4403);
    await bob.client.next("leave", (l) => l.peer.id === ada.welcome.id);
    await roundTrip(bob.client, "m1");
    expect(bob.client.all("leave")).toHaveLength(1);
  });

  it("adds the term column to a member table made before terms existed", async () => {
    const name = freshRoom();
    const stub = env.ROOMS.getByName(name);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(`CREATE TABLE relay_members (id TEXT PRIMARY KEY, shard INTEGER NOT NULL,
        scope TEXT NOT NULL, peer TEXT NOT NULL, address TEXT, quiet INTEGER NOT NULL)`);
    });
    await evictDurableObject(stub);
    const ada = await join(name, "ada", { token: await token("u-ada", 300) });
    const columns = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('relay_members')")
        .toArray(),
    );
    expect(columns.map((c) => c.name)).toContain("term");
    expect(ada.client.closed).toBeUndefined();
  });
});
