import { afterEach, describe, expect, it, vi } from "vitest";
import { freezeClock, freshRoom, join, type TestClient } from "../client";

// This project runs with HISTORY_SIZE=5 and HISTORY_TTL_SECONDS=1. The clock
// is frozen, so the TTL is crossed by moving it, never by sleeping.

afterEach(() => {
  vi.useRealTimers();
});

async function sendAll(client: TestClient, count: number) {
  for (let n = 1; n <= count; n++) client.send({ type: "broadcast", data: n, id: `m${n}` });
  await client.next("ack", (ack) => ack.id === `m${count}`);
}

describe("when history runs out", () => {
  it("recovers a gap of exactly HISTORY_SIZE and reports too_many for one more", async () => {
    // Frozen, so a slow machine cannot age the log past its TTL mid-test.
    freezeClock();
    const room = freshRoom();
    const a = await join(room);
    await sendAll(a.client, 7);
    const b = await join(room, "", { since: 1, epoch: a.welcome.epoch });
    expect(b.welcome).toMatchObject({ recovered: false, reason: "too_many", seq: 7 });
    const c = await join(room, "", { since: 2, epoch: a.welcome.epoch });
    expect(c.welcome).toMatchObject({ recovered: true });
    await c.client.until(() => c.client.all("message").length === 5, "five replayed");
    expect(c.client.all("message").map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
    // Nothing was replayed to b: its first message is the next live one.
    a.client.send({ type: "broadcast", data: "live" });
    expect((await b.client.next("message")).data).toBe("live");
  });

  it("recovers a broadcast exactly HISTORY_TTL_SECONDS old, and reports expired a millisecond later", async () => {
    const clock = freezeClock();
    const room = freshRoom();
    const a = await join(room);
    await sendAll(a.client, 2);
    clock.advance(1);
    a.client.send({ type: "broadcast", data: 3, id: "fresh" });
    await a.client.next("ack", (ack) => ack.id === "fresh");
    clock.advance(999);
    const exact = await join(room, "", { since: 0, epoch: a.welcome.epoch });
    expect(exact.welcome).toMatchObject({ recovered: true });
    clock.advance(1);
    const late = await join(room, "", { since: 0, epoch: a.welcome.epoch });
    expect(late.welcome).toMatchObject({ recovered: false, reason: "expired" });
    const fresh = await join(room, "", { since: 2, epoch: a.welcome.epoch });
    expect(fresh.welcome).toMatchObject({ recovered: true });
    expect((await fresh.client.next("message")).data).toBe(3);
  });

  it("decides epoch_changed before too_many, and too_many before expired", async () => {
    const clock = freezeClock();
    const room = freshRoom();
    const a = await join(room);
    await sendAll(a.client, 7);
    clock.advance(1001);
    const wrongEpoch = await join(room, "", { since: 0, epoch: "other" });
    expect(wrongEpoch.welcome.reason).toBe("epoch_changed");
    const tooMany = await join(room, "", { since: 0, epoch: a.welcome.epoch });
    expect(tooMany.welcome.reason).toBe("too_many");
    const expired = await join(room, "", { since: 2, epoch: a.welcome.epoch });
    expect(expired.welcome.reason).toBe("expired");
  });
});
