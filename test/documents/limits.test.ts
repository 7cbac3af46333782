import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { DEFAULT_DOC_LIMITS, DEFAULT_LIMITS } from "../../src/config";
import { freezeClock } from "../client";
import { freshDoc, Peer } from "./peer";

/** Text that does not compress: every character a fresh random one. */
function noise(chars: number): string {
  const bytes = new Uint8Array(chars);
  for (let at = 0; at < chars; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
  return Array.from(bytes, (b) => String.fromCharCode(33 + (b % 90))).join("");
}

afterEach(() => {
  vi.useRealTimers();
});

describe("a document's limits", () => {
  it("closes a socket that sends a frame over MAX_MESSAGE_BYTES with 4413, storing nothing", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    ada.insert(noise(DEFAULT_LIMITS.maxMessageBytes + 10));
    await ada.until(() => ada.closed !== undefined, "ada's close");
    expect(ada.closed?.code).toBe(4413);
    expect(ada.closed?.reason).toMatch(/limit/);
    const bob = await Peer.open(name);
    bob.insert("x");
    await bob.until(() => bob.text === "x", "bob's own edit");
    const cy = await Peer.open(name);
    await cy.until(() => cy.text === "x", "the document without ada's frame");
  });

  it("refuses an update that would pass MAX_DOC_BYTES and closes its sender with 4413", {
    timeout: 60_000,
  }, async () => {
    const name = freshDoc();
    // Several writers, each within its socket's update byte budget.
    const writers = [await Peer.open(name), await Peer.open(name), await Peer.open(name)];
    const closed = () => writers.find((w) => w.closed !== undefined);
    const chunk = DEFAULT_LIMITS.maxMessageBytes - 1024;
    const chunks = Math.ceil(DEFAULT_DOC_LIMITS.maxDocBytes / chunk) + 2;
    for (let i = 0; i < chunks && !closed(); i++) {
      writers[i % writers.length]?.insert(noise(chunk));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await writers[0]?.until(() => closed() !== undefined, "a writer's close", 30_000);
    expect(closed()?.closed?.code).toBe(4413);
    expect(closed()?.closed?.reason).toMatch(/document/);
    // What was stored is under the limit, and the document still takes small edits.
    const bob = await Peer.open(name);
    await bob.until(() => bob.text.length > 0, "the stored document", 30_000);
    expect(Y.encodeStateAsUpdate(bob.doc).byteLength).toBeLessThanOrEqual(
      DEFAULT_DOC_LIMITS.maxDocBytes,
    );
    expect(bob.text.length).toBeLessThan(chunks * chunk);
  });

  it("drops awareness over the frame rate limit, keeping the socket open", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    const bob = await Peer.open(name);
    // Presence over the limit is dropped, not fatal: it renews itself.
    const burst = DEFAULT_DOC_LIMITS.rateBurst;
    for (let i = 0; i < burst + 20; i++) ada.announce({ i });
    const heard = () => (bob.states.get(ada.doc.clientID) as { i: number } | undefined)?.i ?? 0;
    await bob.until(() => heard() >= burst - 1, "ada's states up to the burst");
    const cy = await Peer.open(name);
    await cy.until(() => cy.states.has(ada.doc.clientID), "ada's state for a joiner");
    expect(heard()).toBeLessThan(burst + 19);
    expect(ada.closed).toBeUndefined();
  });

  it("closes a socket past its update byte budget with a code the provider retries", {
    timeout: 30_000,
  }, async () => {
    // Frozen, the budget does not refill: what passes it is known exactly.
    freezeClock();
    const name = freshDoc();
    const ada = await Peer.open(name);
    const bob = await Peer.open(name);
    // Small enough that what was in flight resyncs within MAX_MESSAGE_BYTES.
    const chunk = 4 * 1024;
    const frames = Math.ceil(DEFAULT_DOC_LIMITS.updateBytesBurst / chunk) + 2;
    for (let i = 0; i < frames; i++) ada.insert(noise(chunk));
    await ada.until(() => ada.closed !== undefined, "ada's close");
    expect(ada.closed?.code).toBe(1013);
    // A reconnect resyncs what the closed socket had in flight.
    const again = await Peer.open(name, { doc: ada.doc });
    await bob.until(() => bob.text === ada.text, "the resync after reconnecting", 20_000);
    again.ws.close();
  });
});
