/**
 * A script or an import edits in bursts: thousands of one-character
 * transactions, one frame each, and then it leaves without waiting for a
 * resync. Every one of those edits must be stored.
 */
import { describe, expect, it } from "vitest";
import { freshDoc, Peer } from "./peer";

const EDITS = 3000;

describe("a burst of separate updates", () => {
  // The wait is for an event, not a speed: on a busy machine the document takes
  // the burst at a few hundred updates a second, all on the test's one thread.
  it("stores every update of a provider that leaves right after its burst", {
    timeout: 150_000,
  }, async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    for (let i = 0; i < EDITS; i++) ada.insert(".");
    // Gone at once: no reconnect will resync what the document did not take.
    ada.ws.close();
    const bob = await Peer.open(name);
    await bob.until(() => bob.text.length === EDITS, "every edit at a late joiner", 140_000);
    expect(ada.closed?.code).not.toBe(1013);
  });
});
