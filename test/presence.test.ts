/**
 * Presence state: a session sets it with a presence frame, the others hear
 * of it, newcomers find it in the welcome, and hibernation keeps it.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { NDJSON_PROTOCOL } from "../src/protocol";
import { freezeClock, freshRoom, join } from "./client";

afterEach(() => {
  vi.useRealTimers();
});

/** The documented limit of a serialized presence state (docs/protocol.md). */
const MAX_STATE_BYTES = 2048;

describe("presence state", () => {
  it("tells the others, not the sender, and acknowledges by id", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");
    ada.client.send({ type: "presence", state: { typing: true }, id: "p1" });
    expect(await ada.client.next("ack")).toEqual({ type: "ack", id: "p1" });
    expect(await bob.client.next("presence")).toEqual({
      type: "presence",
      peer: { id: ada.welcome.id, name: "ada", state: { typing: true } },
    });
    // A broadcast after it proves the sender was not sent its own presence.
    bob.client.send({ type: "broadcast", data: "after" });
    await ada.client.next("message");
    expect(ada.client.all("presence")).toEqual([]);
  });

  it("shows each peer's latest state in a newcomer's welcome, and after eviction", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    ada.client.send({ type: "presence", state: "first", id: "a" });
    ada.client.send({ type: "presence", state: { cursor: [1, 2] }, id: "b" });
    await ada.client.next("ack", (f) => f.id === "b");
    const bob = await join(room, "bob");
    expect(bob.welcome.peers).toEqual([
      { id: ada.welcome.id, name: "ada", state: { cursor: [1, 2] } },
    ]);

    await evictDurableObject(env.ROOMS.getByName(room));
    const cy = await join(room, "cy");
    expect(cy.welcome.peers).toContainEqual({
      id: ada.welcome.id,
      name: "ada",
      state: { cursor: [1, 2] },
    });
    // The leave carries the state the peer left with.
    ada.client.close();
    expect((await bob.client.next("leave")).peer.state).toEqual({ cursor: [1, 2] });
  });

  it("accepts a state of exactly 2048 bytes and refuses one byte more with too_large", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");
    // A JSON string's serialized size is its length plus two quotes.
    const fits = "é".repeat((MAX_STATE_BYTES - 2) / 2);
    ada.client.send({ type: "presence", state: fits, id: "fits" });
    expect(await ada.client.next("ack")).toEqual({ type: "ack", id: "fits" });
    ada.client.send({ type: "presence", state: `${fits}x`, id: "over" });
    expect(await ada.client.next("error")).toMatchObject({ code: "too_large", id: "over" });
    // The refused state reached no one and did not replace the last one.
    const cy = await join(room, "cy");
    expect(cy.welcome.peers.find((p) => p.id === ada.welcome.id)?.state).toBe(fits);
    expect(bob.client.all("presence")).toHaveLength(1);
  });

  it("needs a state, and spends a rate-limit token like any frame", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    ada.client.send({ type: "presence", id: "none" });
    expect(await ada.client.next("error")).toMatchObject({ code: "bad_message", id: "none" });
    // The default burst is 40: sixty presence frames at one instant cannot all pass.
    freezeClock();
    for (let n = 0; n < 60; n++) ada.client.send({ type: "presence", state: n, id: `s${n}` });
    const answered = () => ada.client.frames.filter((f) => "id" in f && f.id?.startsWith("s"));
    await ada.client.until(() => answered().length === 60, "sixty answers");
    const limited = answered().filter((f) => f.type === "error" && f.code === "rate_limited");
    expect(limited).toHaveLength(20);
  });

  it("reaches a batching peer coalesced with the other frames of its turn", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada", {}, { "Sec-WebSocket-Protocol": NDJSON_PROTOCOL });
    const bob = await join(room, "bob", {}, { "Sec-WebSocket-Protocol": NDJSON_PROTOCOL });
    await ada.client.next("join");
    const seen = bob.client.raw.length;
    ada.client.send(
      [
        { type: "presence", state: "typing" },
        { type: "broadcast", data: "hi" },
        { type: "presence", state: null },
      ]
        .map((f) => JSON.stringify(f))
        .join("\n"),
    );
    await bob.client.until(() => bob.client.all("presence").length === 2, "two presence frames");
    const frames = bob.client.raw.slice(seen).map((text) => text.split("\n").length);
    expect(frames).toEqual([3]);
  });
});
