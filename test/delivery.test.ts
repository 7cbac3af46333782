import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Room } from "../src/room";
import { freshRoom, join, joinInside, SHARDED, socketOf, type TestClient, upgrade } from "./client";

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

  it("a room stored before the relay_ prefix keeps its epoch, history and seen ids", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    // The tables as rooms deployed before the prefix have them.
    await runInDurableObject(stub, (_room, { storage: { sql } }) => {
      sql.exec(`
        CREATE TABLE meta (epoch TEXT NOT NULL, seq INTEGER NOT NULL);
        CREATE TABLE history (
          seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, sender TEXT NOT NULL, frame TEXT NOT NULL);
        CREATE TABLE seen (
          scope TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER, at INTEGER NOT NULL,
          PRIMARY KEY (scope, id));
        CREATE INDEX seen_at ON seen (at);`);
      sql.exec("INSERT INTO meta VALUES ('old-epoch', 2)");
      for (const seq of [1, 2]) {
        const frame = JSON.stringify({
          type: "message",
          from: "s1",
          data: `old ${seq}`,
          ts: 1,
          seq,
        });
        sql.exec("INSERT INTO history VALUES (?, ?, 's1', ?)", seq, Date.now(), frame);
      }
      sql.exec("INSERT INTO seen VALUES ('client:c1', 'm2', 2, ?)", Date.now());
    });
    await evictDurableObject(stub);

    const c = await join(room, "", { since: 0, epoch: "old-epoch", client: "c1" });
    expect(c.welcome).toMatchObject({ seq: 2, epoch: "old-epoch", recovered: true });
    expect((await messagesOf(c.client, 2)).map((m) => m.data)).toEqual(["old 1", "old 2"]);
    broadcast(c.client, "again", "m2");
    expect(await c.client.next("ack")).toMatchObject({ id: "m2", seq: 2, duplicate: true });
    broadcast(c.client, "new", "m3");
    expect(await c.client.next("ack", (ack) => ack.id === "m3")).toMatchObject({ seq: 3 });
    const names = await runInDurableObject(stub, (_room, state) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master")
        .toArray()
        .map((row) => row.name)
        .filter((name) => !name.startsWith("_cf_") && !name.startsWith("sqlite_")),
    );
    const tables = ["relay_history", "relay_meta", "relay_seen", "relay_seen_at"];
    // A sharded room also keeps who is on which shard, and each shard's last batch.
    const sharded = [...tables, "relay_links", "relay_members"];
    expect(names.sort()).toEqual(SHARDED ? sharded.sort() : tables);
  });
});

describe("stored before shown", () => {
  // Drives the room object's own sockets, which a sharded room does not hold.
  it.skipIf(SHARDED)(
    "sends no relay or ack naming a seq before storage holds that seq",
    async () => {
      const room = freshRoom();
      const a = await join(room, "a");
      const b = await join(room, "b");
      const stub = env.ROOMS.getByName(room);
      // Every frame the room sends from now on, with the seq storage held as it went.
      const sent = await runInDurableObject(stub, (_room, state) => {
        const log: { frame: string; stored: number }[] = [];
        const storedSeq = () =>
          state.storage.sql.exec<{ seq: number }>("SELECT seq FROM relay_meta").one().seq;
        for (const ws of state.getWebSockets()) {
          const send = ws.send.bind(ws);
          ws.send = (frame) => {
            log.push({ frame: String(frame), stored: storedSeq() });
            send(frame);
          };
        }
        return log;
      });
      for (const n of [1, 2, 3]) broadcast(a.client, n, `m${n}`);
      await a.client.until(() => a.client.all("ack").length === 3, "three acks");
      await messagesOf(b.client, 3);
      const shown = sent.map(({ frame, stored }) => ({ seq: JSON.parse(frame).seq, stored }));
      expect(shown.filter((s) => s.seq !== undefined)).toHaveLength(6);
      for (const { seq, stored } of shown)
        if (seq !== undefined) expect(stored).toBeGreaterThanOrEqual(seq);
    },
  );
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
    broadcast(a.client, "end");
    await back.client.next("message", (m) => m.data === "end");
    const got = back.client.all("message");
    expect(got.map((m) => m.data)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `missed ${n}`).concat("live", "end"),
    );
    expect(got.map((m) => m.seq)).toEqual([2, 3, 4, 5, 6, 7, 8]);
  });

  // Drives the room object's own sockets, which a sharded room does not hold.
  it.skipIf(SHARDED)(
    "a live broadcast during a replay arrives once, in seq order; the session's own never",
    async () => {
      const room = freshRoom();
      const a = await join(room, "a");
      const stub = env.ROOMS.getByName(room);
      // 250 missed broadcasts: the replay takes three pages and yields between them.
      await runInDurableObject(stub, async (instance) => {
        for (let n = 1; n <= 250; n++) await instance.publish({ type: "broadcast", data: n });
      });
      const frame = (data: string, id?: string) => JSON.stringify({ type: "broadcast", data, id });
      // All in one call into the room: the resumer's socket belongs to its I/O
      // context. The two frames land after the replay's first page, before its next.
      const got = await runInDurableObject(stub, async (instance, state) => {
        const query = `name=resumer&since=0&epoch=${a.welcome.epoch}`;
        const resumer = await joinInside(instance, room, query);
        await instance.webSocketMessage(socketOf(state, "a"), frame("live"));
        await instance.webSocketMessage(socketOf(state, "resumer"), frame("own", "own"));
        await resumer.next("ack");
        await instance.webSocketMessage(socketOf(state, "a"), frame("end"));
        await resumer.next("message", (m) => m.data === "end");
        return resumer.all("message").map((m) => m.data);
      });
      expect(got).toEqual([...Array.from({ length: 250 }, (_, i) => i + 1), "live", "end"]);
    },
  );

  // Drives the room object's own sockets, which a sharded room does not hold.
  it.skipIf(SHARDED)(
    "closes a resume with 4000 when history moves past it, and the next resume reports the gap",
    async () => {
      const room = freshRoom();
      const a = await join(room, "a");
      const stub = env.ROOMS.getByName(room);
      const publish = (instance: Room, count: number) => {
        // Not awaited: all of them land in one commit.
        for (let n = 0; n < count; n++) void instance.publish({ type: "broadcast", data: n });
      };
      await runInDurableObject(stub, async (instance) => {
        publish(instance, 350);
        await instance.publish({ type: "broadcast", data: "last" });
      });
      const closed = await runInDurableObject(stub, async (instance) => {
        const resumer = await joinInside(instance, room, `since=0&epoch=${a.welcome.epoch}`);
        // After the replay's first page: more than HISTORY_SIZE (1000) new broadcasts.
        publish(instance, 1001);
        await resumer.until(() => resumer.closed !== undefined, "the close");
        return { code: resumer.closed?.code, seen: resumer.all("message").length };
      });
      expect(closed.code).toBe(4000);
      expect(closed.seen).toBeLessThan(351);
      const again = await join(room, "", { since: closed.seen, epoch: a.welcome.epoch });
      expect(again.welcome).toMatchObject({ recovered: false, reason: "too_many" });
    },
  );

  it("recovers trivially when nothing was missed", async () => {
    const room = freshRoom();
    const a = await join(room);
    broadcast(a.client, 1, "m1");
    await a.client.next("ack");
    const b = await join(room, "", { since: 1, epoch: a.welcome.epoch });
    expect(b.welcome).toMatchObject({ recovered: true, seq: 1 });
    // Nothing is replayed: b's first message is the next live one.
    broadcast(a.client, 2);
    expect((await b.client.next("message")).data).toBe(2);
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

  // Each resumes from a seq the room still holds, so only the named cause can fail it.
  it.each([
    ["a different epoch", (_e: string) => ({ since: 1, epoch: "some-other-epoch" })],
    ["no epoch", (_e: string) => ({ since: 1 })],
    ["a since one beyond the room's seq", (e: string) => ({ since: 3, epoch: e })],
  ])("reports epoch_changed for %s", async (_what, query) => {
    const room = freshRoom();
    const a = await join(room);
    broadcast(a.client, 1);
    broadcast(a.client, 2, "m2");
    await a.client.next("ack");
    const b = await join(room, "", query(a.welcome.epoch));
    expect(b.welcome).toMatchObject({ recovered: false, reason: "epoch_changed", seq: 2 });
    broadcast(a.client, 3);
    // Nothing was replayed: the first message is the live one.
    expect((await b.client.next("message")).data).toBe(3);
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

  it("accepts an id of 64 characters", async () => {
    const a = await join(freshRoom());
    const id = "i".repeat(64);
    a.client.send({ type: "broadcast", data: 1, id });
    expect(await a.client.next("ack")).toEqual({ type: "ack", id, seq: 1 });
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

  it.each(["a%2Fb", "", "c".repeat(65)])("refuses client id %j with 400 bad_client", async (id) => {
    const response = await upgrade(`/rooms/${freshRoom()}/ws?client=${id}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "bad_client" } });
  });

  it("accepts a client id of 64 characters", async () => {
    const { welcome } = await join(freshRoom(), "", { client: "c".repeat(64) });
    expect(welcome.type).toBe("welcome");
  });
});
