import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshRoom, join, type TestClient, upgrade } from "./client";

const broadcast = (client: TestClient, data: unknown, id?: string) =>
  client.send({ type: "broadcast", data, ...(id ? { id } : {}) });

async function messagesOf(client: TestClient, count: number) {
  await client.until(() => client.all("message").length >= count, `${count} messages`);
  return client.all("message");
}

describe("sequence numbers", () => {
  it("numbers broadcasts 1, 2, 3 per room and reports the last in welcome", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (const n of [1, 2, 3]) broadcast(a.client, n);
    expect((await messagesOf(b.client, 3)).map((m) => m.seq)).toEqual([1, 2, 3]);
    const c = await join(room);
    expect(c.welcome.seq).toBe(3);
    expect(c.welcome.epoch).toBe(a.welcome.epoch);
    expect(c.welcome).not.toHaveProperty("recovered");
  });

  it("gives direct messages no seq", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send({ type: "direct", to: b.welcome.id, data: 1 });
    expect(await b.client.next("message")).not.toHaveProperty("seq");
  });

  it("gives different rooms different epochs", async () => {
    const a = await join(freshRoom());
    const b = await join(freshRoom());
    expect(a.welcome.epoch).not.toBe(b.welcome.epoch);
  });

  it("an evicted room keeps its seq, epoch and history", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (const n of [1, 2, 3]) broadcast(a.client, n);
    await messagesOf(b.client, 3);
    await evictDurableObject(env.ROOMS.getByName(room));
    broadcast(a.client, 4);
    expect((await messagesOf(b.client, 4))[3]?.seq).toBe(4);
    const c = await join(room, "", { since: 1, epoch: a.welcome.epoch });
    expect(c.welcome).toMatchObject({ seq: 4, epoch: a.welcome.epoch, recovered: true });
    expect((await messagesOf(c.client, 3)).map((m) => m.data)).toEqual([2, 3, 4]);
  });
});

describe("resume", () => {
  it("replays what a client missed, exactly once and before anything live", async () => {
    const room = freshRoom();
    const a = await join(room, "a");
    const b = await join(room, "b");
    broadcast(a.client, "seen");
    const seen = await b.client.next("message");
    b.client.close();
    await a.client.next("leave");
    for (const n of [1, 2, 3, 4, 5]) broadcast(a.client, `missed ${n}`, `m${n}`);
    await a.client.next("ack", (ack) => ack.id === "m5");

    const back = await join(room, "b", { since: seen.seq ?? 0, epoch: b.welcome.epoch });
    expect(back.welcome).toMatchObject({ recovered: true, seq: 6 });
    expect(back.welcome).not.toHaveProperty("reason");
    broadcast(a.client, "live");
    const got = await messagesOf(back.client, 6);
    expect(got.map((m) => m.data)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `missed ${n}`).concat("live"),
    );
    expect(got.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(back.client.frames.filter((f) => f.type === "message")).toHaveLength(6);
  });

  it("recovers trivially when nothing was missed", async () => {
    const room = freshRoom();
    const a = await join(room);
    broadcast(a.client, 1);
    await a.client.until(() => a.client.all("error").length === 0, "");
    const b = await join(room, "", { since: 1, epoch: a.welcome.epoch });
    expect(b.welcome).toMatchObject({ recovered: true, seq: 1 });
  });

  it("sends a large gap as many frames", async () => {
    const room = freshRoom();
    const a = await join(room);
    const payload = "x".repeat(30_000);
    // 300 broadcasts of 30 KB, 9 MB in all, through the server API (no rate limit).
    for (let n = 1; n <= 300; n++) {
      const response = await exports.default.fetch(`http://relay.test/rooms/${room}/messages`, {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token" },
        body: JSON.stringify({ data: { n, payload } }),
      });
      expect(response.status).toBe(200);
    }
    await messagesOf(a.client, 300);
    const c = await join(room, "", { since: 0, epoch: a.welcome.epoch });
    expect(c.welcome.recovered).toBe(true);
    const got = await messagesOf(c.client, 300);
    expect(got.map((m) => (m.data as { n: number }).n)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
  }, 60_000);

  it.each([
    ["a different epoch", (_e: string) => ({ since: 1, epoch: "some-other-epoch" })],
    ["no epoch", (_e: string) => ({ since: 1 })],
    ["a since beyond the room's seq", (e: string) => ({ since: 99, epoch: e })],
  ])("reports epoch_changed for %s", async (_what, query) => {
    const room = freshRoom();
    const a = await join(room);
    broadcast(a.client, 1);
    const b = await join(room, "", query(a.welcome.epoch));
    expect(b.welcome).toMatchObject({ recovered: false, reason: "epoch_changed" });
    broadcast(a.client, 2);
    // Nothing was replayed: the first message is the live one.
    expect((await b.client.next("message")).data).toBe(2);
  });

  it.each(["-1", "1.5", "abc", "", "1e3"])(
    "refuses since=%s with 400 bad_resume",
    async (since) => {
      const response = await upgrade(`/rooms/${freshRoom()}/ws?since=${since}&epoch=x`);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: "bad_resume" } });
    },
  );
});

describe("acks and idempotent publish", () => {
  it("acks a broadcast with its seq and a direct without one", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    broadcast(a.client, "hi", "b-1");
    expect(await a.client.next("ack")).toEqual({ type: "ack", id: "b-1", seq: 1 });
    a.client.send({ type: "direct", to: b.welcome.id, data: "dm", id: "d-1" });
    expect(await a.client.next("ack", (ack) => ack.id === "d-1")).toEqual({
      type: "ack",
      id: "d-1",
    });
  });

  it("sends no ack for a frame without id", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    broadcast(a.client, "no id");
    broadcast(a.client, "with id", "x");
    await a.client.next("ack");
    expect(a.client.all("ack")).toEqual([{ type: "ack", id: "x", seq: 2 }]);
    await messagesOf(b.client, 2);
  });

  it("names the id in an error about that frame", async () => {
    const a = await join(freshRoom());
    a.client.send({ type: "direct", to: "nobody", data: 1, id: "d-9" });
    expect(await a.client.next("error")).toMatchObject({ code: "unknown_recipient", id: "d-9" });
    a.client.send({ type: "broadcast", id: "b-9" });
    expect(await a.client.next("error", (e) => e.id === "b-9")).toMatchObject({
      code: "bad_message",
    });
  });

  it.each<[unknown, string]>([
    ["", "empty"],
    ["x".repeat(65), "65 characters"],
    [7, "a number"],
  ])("refuses id %j (%s) with bad_message", async (id) => {
    const a = await join(freshRoom());
    a.client.send({ type: "broadcast", data: 1, id });
    expect((await a.client.next("error")).code).toBe("bad_message");
    expect(a.client.all("ack")).toEqual([]);
  });

  it("acks a repeated id again with the original seq and does not relay it twice", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    broadcast(a.client, "once", "same");
    broadcast(a.client, "once", "same");
    broadcast(a.client, "next", "other");
    await a.client.until(() => a.client.all("ack").length === 3, "three acks");
    expect(a.client.all("ack")).toEqual([
      { type: "ack", id: "same", seq: 1 },
      { type: "ack", id: "same", seq: 1, duplicate: true },
      { type: "ack", id: "other", seq: 2 },
    ]);
    expect((await messagesOf(b.client, 2)).map((m) => m.data)).toEqual(["once", "next"]);
  });

  it("does not relay a retried id from a new session of the same client", async () => {
    const room = freshRoom();
    const first = await join(room, "", { client: "client-42" });
    const watcher = await join(room);
    broadcast(first.client, "hello", "msg-1");
    await first.client.next("ack");
    first.client.close();
    const second = await join(room, "", { client: "client-42" });
    broadcast(second.client, "hello", "msg-1");
    expect(await second.client.next("ack")).toEqual({
      type: "ack",
      id: "msg-1",
      seq: 1,
      duplicate: true,
    });
    broadcast(second.client, "after", "msg-2");
    await second.client.next("ack", (ack) => ack.id === "msg-2");
    expect((await messagesOf(watcher.client, 2)).map((m) => m.data)).toEqual(["hello", "after"]);
  });

  it("deduplicates a repeated direct without delivering it twice", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    for (let i = 0; i < 2; i++)
      a.client.send({ type: "direct", to: b.welcome.id, data: 1, id: "d" });
    await a.client.until(() => a.client.all("ack").length === 2, "two acks");
    expect(a.client.all("ack")[1]).toEqual({ type: "ack", id: "d", duplicate: true });
    broadcast(a.client, "marker");
    await b.client.until(() => b.client.all("message").some((m) => m.data === "marker"), "marker");
    expect(b.client.all("message")).toHaveLength(2);
  });

  it("keeps ids of different clients apart", async () => {
    const room = freshRoom();
    const a = await join(room, "", { client: "client-a" });
    const b = await join(room, "", { client: "client-b" });
    const c = await join(room);
    const anon1 = await join(room);
    const anon2 = await join(room);
    for (const sender of [a, b, anon1, anon2]) broadcast(sender.client, "same id", "1");
    const got = await messagesOf(c.client, 4);
    expect(new Set(got.map((m) => m.from)).size).toBe(4);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("refuses a malformed client id with 400 bad_client", async () => {
    const response = await upgrade(`/rooms/${freshRoom()}/ws?client=a%2Fb`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "bad_client" } });
  });
});
