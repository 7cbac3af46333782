import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freshRoom, join, upgrade } from "../client";
import { admin, closedOf, frozenAhead, roundTrip, thaw, token } from "./trust";

let clock: { advance(ms: number): void };
beforeEach(() => {
  clock = frozenAhead();
});
afterEach(thaw);

async function joinAs(room: string, user: string, name = user) {
  return join(room, name, { token: await token(user, 3600), client: `${name}-client` });
}

describe("ending sessions from the backend", () => {
  it("kicks one session with a reason; the others see one leave", async () => {
    const room = freshRoom();
    const ada = await joinAs(room, "u-ada");
    const cy = await joinAs(room, "u-cy");
    const response = await admin("POST", `/rooms/${room}/kick`, {
      session: ada.welcome.id,
      reason: "spam",
    });
    expect(await response.json()).toEqual({ closed: 1 });
    expect(await closedOf(ada.client)).toEqual({ code: 4410, reason: "spam" });
    expect((await cy.client.next("leave")).peer.id).toBe(ada.welcome.id);
    await roundTrip(cy.client, "after");
    expect(cy.client.all("leave")).toHaveLength(1);
  });

  it("kicks every session of a user, one leave each", async () => {
    const room = freshRoom();
    const phone = await joinAs(room, "u-bob", "bob-phone");
    const laptop = await joinAs(room, "u-bob", "bob-laptop");
    const cy = await joinAs(room, "u-cy");
    const response = await admin("POST", `/rooms/${room}/kick`, { user: "u-bob" });
    expect(await response.json()).toEqual({ closed: 2 });
    expect((await closedOf(phone.client)).code).toBe(4410);
    expect((await closedOf(laptop.client)).code).toBe(4410);
    await cy.client.until(() => cy.client.all("leave").length === 2, "two leaves");
    await roundTrip(cy.client, "after");
    const left = cy.client.all("leave").map((l) => l.peer.id);
    expect(left.sort()).toEqual([phone.welcome.id, laptop.welcome.id].sort());
  });

  it("answers 0 for a session that is not there, 400 for a body that names nobody", async () => {
    const room = freshRoom();
    const none = await admin("POST", `/rooms/${room}/kick`, { session: "nobody" });
    expect(await none.json()).toEqual({ closed: 0 });
    expect((await admin("POST", `/rooms/${room}/kick`, { reason: "x" })).status).toBe(400);
    const long = await admin("POST", `/rooms/${room}/kick`, { user: "u", reason: "é".repeat(62) });
    expect(long.status).toBe(400);
  });

  it("closes with a reason cut to what a close frame holds when the room's own method is given a long one", async () => {
    const room = freshRoom();
    const ada = await joinAs(room, "u-ada");
    const stub = env.ROOMS.getByName(room);
    expect(await stub.kick({ session: ada.welcome.id }, "é".repeat(100))).toEqual({ closed: 1 });
    const closed = await closedOf(ada.client);
    expect(closed).toEqual({ code: 4410, reason: "é".repeat(61) });
  });

  it("refuses the server API's kick and ban without the admin token", async () => {
    const room = freshRoom();
    const kick = await anonymous("POST", `/rooms/${room}/kick`, { user: "u" });
    expect(kick.status).toBe(401);
    const ban = await anonymous("POST", `/rooms/${room}/bans`, { user: "u", seconds: 60 });
    expect(ban.status).toBe(401);
  });

  it("bans a user: their sessions end, their upgrades are refused across a restart, until the ban ends", async () => {
    const room = freshRoom();
    const bob = await joinAs(room, "u-bob");
    const cy = await joinAs(room, "u-cy");
    const banned = await admin("POST", `/rooms/${room}/bans`, {
      user: "u-bob",
      seconds: 600,
      reason: "abuse",
    });
    const until = Date.now() + 600_000;
    expect(await banned.json()).toEqual({ user: "u-bob", until, closed: 1 });
    expect(await closedOf(bob.client)).toEqual({ code: 4410, reason: "abuse" });
    await cy.client.next("leave");

    expect(await refusal(room, "u-bob")).toEqual({ status: 403, code: "banned" });
    await evictDurableObject(env.ROOMS.getByName(room));
    expect(await refusal(room, "u-bob")).toEqual({ status: 403, code: "banned" });
    const list = await admin("GET", `/rooms/${room}/bans`);
    expect(await list.json()).toEqual({ bans: [{ user: "u-bob", until, reason: "abuse" }] });
    // Others still come in.
    await joinAs(room, "u-dan");

    clock.advance(600_000);
    await joinAs(room, "u-bob");
  });

  it("lifts a ban", async () => {
    const room = freshRoom();
    await admin("POST", `/rooms/${room}/bans`, { user: "u-bob", seconds: 600 });
    expect(await refusal(room, "u-bob")).toEqual({ status: 403, code: "banned" });
    const lifted = await admin("DELETE", `/rooms/${room}/bans/u-bob`);
    expect(await lifted.json()).toEqual({ lifted: true });
    await joinAs(room, "u-bob");
    const again = await admin("DELETE", `/rooms/${room}/bans/u-bob`);
    expect(await again.json()).toEqual({ lifted: false });
  });
});

async function refusal(room: string, user: string) {
  const response = await upgrade(`/rooms/${room}/ws?token=${await token(user, 3600)}`);
  const body = (await response.json()) as { error: { code: string } };
  return { status: response.status, code: body.error.code };
}

/** A server API call without the admin token. */
function anonymous(method: string, path: string, body: unknown): Promise<Response> {
  return exports.default.fetch(`http://relay.test${path}`, { method, body: JSON.stringify(body) });
}
