import { afterEach, describe, expect, it, vi } from "vitest";
import { RateLimiter } from "../src/rate-limit";
import { freezeClock, freshRoom, join, type TestClient } from "./client";

// The documented defaults (README, docs/protocol.md): 20 frames/s, a burst of
// 40, and a session with 100 dropped frames within 10 s is closed with 1008.
const PER_SECOND = 20;
const BURST = 40;
const FLOOD = 100;

afterEach(() => {
  vi.useRealTimers();
});

describe("token bucket", () => {
  it("allows a burst, then refills continuously at the rate", () => {
    const limiter = new RateLimiter(PER_SECOND, BURST, 0);
    for (let i = 0; i < BURST; i++) expect(limiter.take(0)).toBe("ok");
    expect(limiter.take(0)).toBe("limited");
    expect(limiter.take(49)).toBe("limited"); // 0.98 of a token
    expect(limiter.take(50)).toBe("ok"); // one token per 50 ms at 20/s
    expect(limiter.take(50)).toBe("limited");
  });

  it("never holds more than the burst", () => {
    const limiter = new RateLimiter(PER_SECOND, BURST, 0);
    const results = Array.from({ length: BURST + 1 }, () => limiter.take(3_600_000));
    expect(results.filter((r) => r === "ok")).toHaveLength(BURST);
  });

  it("charges a cost of many tokens, and a cost above the burst as the whole burst", () => {
    // A document's update bucket: bytes per second, each frame charged its size.
    const limiter = new RateLimiter(1000, 4000, 0);
    expect(limiter.take(0, 3000)).toBe("ok");
    expect(limiter.take(0, 1500)).toBe("limited");
    expect(limiter.take(500, 1500)).toBe("ok");
    expect(limiter.take(4500, 9000)).toBe("ok"); // refilled to the burst; it may pass
    expect(limiter.take(4500, 1)).toBe("limited");
  });

  it("calls it a flood at the 100th rejection within 10 s", () => {
    const limiter = new RateLimiter(1, 1, 0);
    limiter.take(0);
    const verdicts = Array.from({ length: FLOOD }, () => limiter.take(1));
    expect(verdicts.slice(0, -1).every((v) => v === "limited")).toBe(true);
    expect(verdicts.at(-1)).toBe("flooding");
  });

  it("counts rejections spread over the whole 10 s window", () => {
    // 0.05 tokens/s: no token comes back within the window.
    const limiter = new RateLimiter(0.05, 1, 20_000);
    limiter.take(20_000);
    for (let i = 0; i < FLOOD - 2; i++) expect(limiter.take(20_000 + i * 100)).toBe("limited");
    expect(limiter.take(29_999)).toBe("limited");
    expect(limiter.take(30_000)).toBe("flooding");
  });

  it("starts counting again after 10 s", () => {
    const limiter = new RateLimiter(0.05, 1, 20_000);
    limiter.take(20_000);
    for (let i = 0; i < FLOOD - 1; i++) expect(limiter.take(20_000)).toBe("limited");
    expect(limiter.take(30_001)).toBe("limited");
  });
});

/** Sends `count` broadcasts with ids, and waits for an answer to each. */
async function sendMany(client: TestClient, count: number, from = 0) {
  for (let n = from; n < from + count; n++)
    client.send({ type: "broadcast", data: n, id: `m${n}` });
  const answered = () => client.all("ack").length + client.all("error").length;
  const before = answered();
  await client.until(() => answered() >= before + count || client.closed !== undefined, "answers");
}

describe("rate limits in a room (clock frozen: no refill unless moved)", () => {
  it("relays a burst of exactly 40 and drops the 41st with rate_limited, naming its id", async () => {
    freezeClock();
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    await sendMany(a.client, BURST + 1);
    expect(a.client.all("ack")).toHaveLength(BURST);
    expect(a.client.all("error")).toEqual([
      { type: "error", code: "rate_limited", message: expect.any(String), id: `m${BURST}` },
    ]);
    // Exactly the acknowledged frames were relayed, in order.
    await b.client.until(() => b.client.all("message").length === BURST, "relays");
    expect(b.client.all("message").map((m) => m.data)).toEqual([...Array(BURST).keys()]);
  });

  it("refills one token per 50 ms (20/s)", async () => {
    const clock = freezeClock();
    const a = await join(freshRoom());
    await sendMany(a.client, BURST);
    clock.advance(49);
    await sendMany(a.client, 1, 100);
    expect(a.client.all("error").map((e) => e.id)).toEqual(["m100"]);
    clock.advance(1);
    await sendMany(a.client, 2, 200);
    expect(a.client.all("ack").map((ack) => ack.id)).toContain("m200");
    expect(a.client.all("error").map((e) => e.id)).toEqual(["m100", "m201"]);
  });

  it("spends a token on a duplicate too", async () => {
    freezeClock();
    const a = await join(freshRoom());
    for (let i = 0; i <= BURST; i++) a.client.send({ type: "broadcast", data: 1, id: "same" });
    await a.client.until(() => a.client.all("error").length === 1, "the 41st refused");
    expect(a.client.all("ack")).toHaveLength(BURST);
    expect(a.client.all("error")[0]).toMatchObject({ code: "rate_limited", id: "same" });
  });

  it("spends no tokens on malformed frames", async () => {
    freezeClock();
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (let i = 0; i < 60; i++) a.client.send("garbage");
    for (let n = 0; n < BURST; n++) a.client.send({ type: "broadcast", data: n });
    await b.client.until(() => b.client.all("message").length === BURST, "40 relays");
    expect(a.client.all("error").every((e) => e.code === "bad_json")).toBe(true);
  });

  it("does not count ping", async () => {
    freezeClock();
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (let i = 0; i < 100; i++) a.client.send("ping");
    await a.client.until(() => a.client.raw.filter((r) => r === "pong").length === 100, "pongs");
    for (let n = 0; n < BURST; n++) a.client.send({ type: "broadcast", data: n });
    await b.client.until(() => b.client.all("message").length === BURST, "40 relays");
    expect(a.client.all("error")).toEqual([]);
  });

  it("closes a session at its 100th dropped frame with 1008, not before", async () => {
    freezeClock();
    const room = freshRoom();
    const flooder = await join(room, "flooder");
    const a = await join(room, "a");
    const b = await join(room, "b");
    await sendMany(flooder.client, BURST + FLOOD - 1);
    expect(flooder.client.all("error")).toHaveLength(FLOOD - 1);
    expect(flooder.client.closed).toBeUndefined();
    await sendMany(flooder.client, 10, 1000);
    await flooder.client.until(() => flooder.client.closed !== undefined, "the flooder's close");
    expect(flooder.client.closed?.code).toBe(1008);
    expect((await a.client.next("leave")).peer.name).toBe("flooder");
    // The 100th drop closed it: no answer to it, nor to the frames after it.
    expect(flooder.client.all("error")).toHaveLength(FLOOD - 1);
    expect(flooder.client.all("ack")).toHaveLength(BURST);
    a.client.send({ type: "broadcast", data: "still fine" });
    await b.client.until(() => b.client.all("message").some((m) => m.data === "still fine"), "");
    const relayed = b.client.all("message").filter((m) => m.from === flooder.welcome.id);
    expect(relayed.map((m) => m.data)).toEqual([...Array(BURST).keys()]);
    const c = await join(room, "c");
    expect(c.welcome.peers.map((p) => p.name).sort()).toEqual(["a", "b"]);
    // The flooder's answer to the room's close frame announces no second leave.
    await a.client.next("join", (f) => f.peer.id === c.welcome.id);
    expect(a.client.all("leave")).toHaveLength(1);
  });
});
