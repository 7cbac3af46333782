import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SHARDED } from "../client";
import { freshDoc, Peer } from "../documents/peer";
import { admin, token } from "./trust";

async function open(doc: string, user: string): Promise<Peer> {
  return Peer.open(doc, { query: `?token=${await token(user, 3600)}` });
}

type Sessions = { sessions: { id: string; user?: string }[] };

async function sessionsOf(doc: string): Promise<Sessions["sessions"]> {
  return ((await (await admin("GET", `/docs/${doc}/sessions`)).json()) as Sessions).sessions;
}

// Documents have no shards: one run is enough.
describe.skipIf(SHARDED)("ending document sockets from the backend", () => {
  it("lists a document's sockets with their users, and kicks one: its presence goes at once", async () => {
    const doc = freshDoc();
    const ada = await open(doc, "u-ada");
    const bob = await open(doc, "u-bob");
    ada.announce({ name: "ada" });
    await bob.until(() => bob.states.has(ada.doc.clientID), "ada's presence");
    const sessions = await sessionsOf(doc);
    expect(sessions.map((s) => s.user).sort()).toEqual(["u-ada", "u-bob"]);
    const adas = sessions.find((s) => s.user === "u-ada");

    const kicked = await admin("POST", `/docs/${doc}/kick`, { session: adas?.id, reason: "spam" });
    expect(await kicked.json()).toEqual({ closed: 1 });
    await ada.until(() => ada.closed !== undefined, "the close");
    expect(ada.closed).toEqual({ code: 4410, reason: "spam" });
    await bob.until(() => !bob.states.has(ada.doc.clientID), "ada's presence removed");
    expect(bob.closed).toBeUndefined();
  });

  it("kicks every socket of a user", async () => {
    const doc = freshDoc();
    const one = await open(doc, "u-bob");
    const two = await open(doc, "u-bob");
    const cy = await open(doc, "u-cy");
    const kicked = await admin("POST", `/docs/${doc}/kick`, { user: "u-bob" });
    expect(await kicked.json()).toEqual({ closed: 2 });
    await one.until(() => one.closed?.code === 4410, "one closed");
    await two.until(() => two.closed?.code === 4410, "two closed");
    expect((await sessionsOf(doc)).map((s) => s.user)).toEqual(["u-cy"]);
    expect(cy.closed).toBeUndefined();
  });

  it("bans a user from a document across a restart, and lifts the ban", async () => {
    const doc = freshDoc();
    const bob = await open(doc, "u-bob");
    const banned = await admin("POST", `/docs/${doc}/bans`, { user: "u-bob", seconds: 600 });
    expect(((await banned.json()) as { closed: number }).closed).toBe(1);
    await bob.until(() => bob.closed?.code === 4410, "bob's close");

    await evictDurableObject(env.DOCS.getByName(doc));
    const again = await open(doc, "u-bob");
    await again.until(() => again.closed !== undefined, "the refusal");
    expect(again.closed?.code).toBe(4403);
    expect(again.closed?.reason).toMatch(/^banned until /);
    expect(again.frames).toEqual([]);

    await admin("DELETE", `/docs/${doc}/bans/u-bob`);
    const back = await open(doc, "u-bob");
    back.insert("back");
    await back.until(() => back.frames.length > 0, "the document's sync");
    expect(back.closed).toBeUndefined();
  });
});
