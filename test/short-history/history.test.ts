import { describe, expect, it } from "vitest";
import { freshRoom, join, type TestClient } from "../client";

// This project runs with HISTORY_SIZE=5 and HISTORY_TTL_SECONDS=1.

async function sendAll(client: TestClient, count: number) {
  for (let n = 1; n <= count; n++) client.send({ type: "broadcast", data: n, id: `m${n}` });
  await client.next("ack", (ack) => ack.id === `m${count}`);
}

describe("when history runs out", () => {
  it("reports too_many when the gap is larger than HISTORY_SIZE", async () => {
    const room = freshRoom();
    const a = await join(room);
    await sendAll(a.client, 7);
    const b = await join(room, "", { since: 1, epoch: a.welcome.epoch });
    expect(b.welcome).toMatchObject({ recovered: false, reason: "too_many", seq: 7 });
    const c = await join(room, "", { since: 2, epoch: a.welcome.epoch });
    expect(c.welcome).toMatchObject({ recovered: true });
    await c.client.until(() => c.client.all("message").length === 5, "five replayed");
    expect(b.client.all("message")).toEqual([]);
  });

  it("reports expired when the first missing broadcast is older than the TTL", async () => {
    const room = freshRoom();
    const a = await join(room);
    await sendAll(a.client, 2);
    await new Promise((r) => setTimeout(r, 1100));
    a.client.send({ type: "broadcast", data: 3, id: "fresh" });
    await a.client.next("ack", (ack) => ack.id === "fresh");
    const b = await join(room, "", { since: 0, epoch: a.welcome.epoch });
    expect(b.welcome).toMatchObject({ recovered: false, reason: "expired" });
    const c = await join(room, "", { since: 2, epoch: a.welcome.epoch });
    expect(c.welcome).toMatchObject({ recovered: true });
    expect((await c.client.next("message")).data).toBe(3);
  });

  it("decides too_many before expired", async () => {
    const room = freshRoom();
    const a = await join(room);
    await sendAll(a.client, 7);
    await new Promise((r) => setTimeout(r, 1100));
    const b = await join(room, "", { since: 0, epoch: a.welcome.epoch });
    expect(b.welcome.reason).toBe("too_many");
  });
});
