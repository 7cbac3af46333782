import { describe, expect, it } from "vitest";
import { FLOOD_REJECTIONS, RateLimiter } from "../src/rate-limit";
import { freshRoom, join } from "./client";

describe("token bucket", () => {
  it("allows a burst, then refills continuously at the rate", () => {
    const limiter = new RateLimiter(20, 40, 0);
    for (let i = 0; i < 40; i++) expect(limiter.take(0)).toBe("ok");
    expect(limiter.take(0)).toBe("limited");
    expect(limiter.take(49)).toBe("limited"); // 0.98 of a token
    expect(limiter.take(50)).toBe("ok"); // one token per 50 ms at 20/s
    expect(limiter.take(50)).toBe("limited");
  });

  it("never holds more than the burst", () => {
    const limiter = new RateLimiter(20, 40, 0);
    const results = Array.from({ length: 41 }, () => limiter.take(3_600_000));
    expect(results.filter((r) => r === "ok")).toHaveLength(40);
  });

  it("calls it a flood after 100 rejections within 10 s", () => {
    const limiter = new RateLimiter(1, 1, 0);
    limiter.take(0);
    const verdicts = Array.from({ length: FLOOD_REJECTIONS }, () => limiter.take(1));
    expect(verdicts.slice(0, -1).every((v) => v === "limited")).toBe(true);
    expect(verdicts.at(-1)).toBe("flooding");
  });
});

describe("rate limits in a room", () => {
  it("drops frames over the burst with rate_limited, naming their id", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (let n = 0; n < 90; n++) a.client.send({ type: "broadcast", data: n, id: `m${n}` });
    await a.client.until(() => a.client.all("ack").length + a.client.all("error").length >= 90, "");
    const limited = a.client.all("error").filter((e) => e.code === "rate_limited");
    // 40 pass at once; the bucket refills 20/s while the rest arrive.
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.length + a.client.all("ack").length).toBe(90);
    expect(limited.every((e) => typeof e.id === "string")).toBe(true);
    // Exactly the acknowledged frames were relayed, in order.
    const acked = a.client.all("ack").map((ack) => ack.id);
    await b.client.until(() => b.client.all("message").length === acked.length, "relays");
    expect(b.client.all("message").map((m) => `m${m.data}`)).toEqual(acked);
  });

  it("spends no tokens on malformed frames", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (let i = 0; i < 60; i++) a.client.send("garbage");
    for (let n = 0; n < 40; n++) a.client.send({ type: "broadcast", data: n });
    await b.client.until(() => b.client.all("message").length === 40, "40 relays");
    expect(a.client.all("error").every((e) => e.code === "bad_json")).toBe(true);
  });

  it("does not count ping", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (let i = 0; i < 100; i++) a.client.send("ping");
    await a.client.until(() => a.client.raw.filter((r) => r === "pong").length === 100, "pongs");
    for (let n = 0; n < 40; n++) a.client.send({ type: "broadcast", data: n });
    await b.client.until(() => b.client.all("message").length === 40, "40 relays");
    expect(a.client.all("error")).toEqual([]);
  });

  it("closes a flooding session with 1008 while the others keep working", async () => {
    const room = freshRoom();
    const flooder = await join(room, "flooder");
    const a = await join(room, "a");
    const b = await join(room, "b");
    const sent = 40 + FLOOD_REJECTIONS + 50;
    for (let n = 0; n < sent; n++) flooder.client.send({ type: "broadcast", data: n, id: `${n}` });
    await flooder.client.until(() => flooder.client.closed !== undefined, "the flooder's close");
    expect(flooder.client.closed?.code).toBe(1008);
    expect((await a.client.next("leave")).peer.name).toBe("flooder");
    const limited = flooder.client.all("error").filter((e) => e.code === "rate_limited");
    expect(limited).toHaveLength(FLOOD_REJECTIONS - 1);
    // Frames after the close were ignored: only acknowledged ones were relayed.
    const acked = flooder.client.all("ack").map((ack) => Number(ack.id));
    expect(acked.length + limited.length).toBeLessThan(sent);
    a.client.send({ type: "broadcast", data: "still fine" });
    await b.client.until(() => b.client.all("message").some((m) => m.data === "still fine"), "");
    const relayed = b.client.all("message").filter((m) => m.from === flooder.welcome.id);
    expect(relayed.map((m) => m.data)).toEqual(acked);
    const c = await join(room, "c");
    expect(c.welcome.peers.map((p) => p.name).sort()).toEqual(["a", "b"]);
  });
});
