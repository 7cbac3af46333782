/**
 * Document sockets under their token, as room sessions are: warned before
 * expiry with the relay's own auth message (which a stock provider ignores),
 * closed at expiry with 4001 (which it retries), through hibernation; and an
 * app that reconnects with a fresh token keeps every edit.
 */
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as decoding from "lib0/decoding";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SHARDED } from "../client";
import { freshDoc, Peer } from "../documents/peer";
import { frozenAhead, thaw, token } from "./trust";

let clock: { advance(ms: number): void };
beforeEach(() => {
  clock = frozenAhead();
});
afterEach(thaw);

const alarm = (doc: string) => runDurableObjectAlarm(env.DOCS.getByName(doc));

/** The expiry times of the warnings a peer received (auth message, sub-type 1). */
function warnings(peer: Peer): number[] {
  return peer.frames
    .filter((frame) => frame[0] === 2 && frame[1] === 1)
    .map((frame) => decoding.readVarUint(decoding.createDecoder(frame.subarray(2))));
}

/** Ada's token lasts five minutes; Bob's an hour. */
async function document() {
  const doc = freshDoc();
  const expires = (Math.floor(Date.now() / 1000) + 300) * 1000;
  const ada = await Peer.open(doc, { query: `?token=${await token("u-ada", 300)}` });
  const bob = await Peer.open(doc, { query: `?token=${await token("u-bob", 3600)}` });
  ada.announce({ name: "ada" });
  await bob.until(() => bob.states.has(ada.doc.clientID), "ada's presence");
  return { doc, expires, ada, bob };
}

// Documents have no shards: one run is enough.
describe.skipIf(SHARDED)("document sockets whose token expires", () => {
  it("warns a socket a minute before its token expires and closes it at expiry, through hibernation", async () => {
    const { doc, expires, ada, bob } = await document();
    await evictDurableObject(env.DOCS.getByName(doc));
    clock.advance(expires - Date.now() - 60_000);
    expect(await alarm(doc)).toBe(true);
    await ada.until(() => warnings(ada).length === 1, "the warning");
    expect(warnings(ada)).toEqual([expires]);
    expect(warnings(bob)).toEqual([]);
    expect(ada.closed).toBeUndefined();

    clock.advance(60_000);
    expect(await alarm(doc)).toBe(true);
    await ada.until(() => ada.closed !== undefined, "the close");
    expect(ada.closed).toEqual({ code: 4001, reason: "the token expired" });
    await bob.until(() => !bob.states.has(ada.doc.clientID), "ada's presence removed");
    expect(bob.closed).toBeUndefined();
  });

  it("applies nothing from a socket past its expiry, and closes it", async () => {
    const { expires, ada, bob } = await document();
    clock.advance(expires - Date.now());
    // Before any alarm: the frame itself finds the token expired.
    ada.insert("late");
    await ada.until(() => ada.closed !== undefined, "the close");
    expect(ada.closed?.code).toBe(4001);
    bob.insert("!");
    await bob.until(() => bob.frames.length > 0 && bob.text === "!", "bob's own edit only");
    expect(bob.text).toBe("!");
  });

  it("keeps every edit of a socket that reconnects with a fresh token", async () => {
    const { doc, expires, ada, bob } = await document();
    ada.insert("a");
    await bob.until(() => bob.text === "a", "the first edit");
    clock.advance(expires - Date.now() - 60_000);
    await alarm(doc);
    await ada.until(() => warnings(ada).length === 1, "the warning");
    ada.insert("b");
    await bob.until(() => bob.text === "ab", "an edit after the warning");
    clock.advance(60_000);
    await alarm(doc);
    await ada.until(() => ada.closed?.code === 4001, "the close at expiry");
    // Typed while the provider was reconnecting: only Ada's document has it.
    ada.insert("c");
    const again = await Peer.open(doc, {
      doc: ada.doc,
      query: `?token=${await token("u-ada", 3600)}`,
    });
    await bob.until(() => bob.text === "abc", "every edit, after the reconnect");
    await again.until(() => again.text === "abc", "ada's document");
    expect(again.closed).toBeUndefined();
  });
});
