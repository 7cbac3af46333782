import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../src/config";
import { RoomLog } from "../src/history";
import { freshRoom } from "./client";

/** Runs `body` against a fresh room's real SQLite storage. */
function withStorage<T>(body: (sql: SqlStorage) => Promise<T>): Promise<T> {
  return runInDurableObject(env.ROOMS.getByName(freshRoom()), (_room, state) =>
    body(state.storage.sql),
  );
}

/** The log commits at the end of the turn; this waits for it. */
const stored = (log: RoomLog) => new Promise<void>((resolve) => log.whenStored(resolve));

describe("the room log", () => {
  it("commits a batch and reads the same state back in a new object", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, DEFAULT_LIMITS);
      const { epoch } = log.open();
      for (const seq of [1, 2, 3]) log.append(seq, "s", `{"seq":${seq}}`, Date.now());
      // Before the commit, nothing of the batch is visible.
      expect([log.seq, log.next]).toEqual([0, 4]);
      expect(log.page(0, 10, Date.now())).toEqual([]);
      await stored(log);
      const again = new RoomLog(sql, DEFAULT_LIMITS);
      expect([again.seq, again.epoch]).toEqual([3, epoch]);
      expect(again.page(0, 10, Date.now()).map((row) => row.frame)).toEqual([
        '{"seq":1}',
        '{"seq":2}',
        '{"seq":3}',
      ]);
    });
  });

  it("after a crash before the commit, forgets only what was never committed", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, DEFAULT_LIMITS);
      const { epoch } = log.open();
      log.append(1, "s", "one", Date.now());
      await stored(log);
      log.append(2, "s", "two, never committed", Date.now());
      // A new object over the same storage, as after a crash before the commit.
      const revived = new RoomLog(sql, DEFAULT_LIMITS);
      expect([revived.seq, revived.next, revived.epoch]).toEqual([1, 2, epoch]);
      expect(revived.page(0, 10, Date.now()).map((row) => row.frame)).toEqual(["one"]);
    });
  });

  it("lets out what waits for a commit only once storage holds it", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, DEFAULT_LIMITS);
      log.open();
      const storedSeq = () => sql.exec<{ seq: number }>("SELECT seq FROM relay_meta").one().seq;
      const seenBy: number[] = [];
      log.append(1, "s", "one", Date.now());
      log.whenStored(() => seenBy.push(storedSeq()));
      log.append(2, "s", "two", Date.now());
      log.whenStored(() => seenBy.push(storedSeq()));
      await stored(log);
      // Both waited for the one commit that holds seq 2, and ran in call order.
      expect(seenBy).toEqual([2, 2]);
      // With nothing pending, a waiter runs at once.
      log.whenStored(() => seenBy.push(-1));
      expect(seenBy).toEqual([2, 2, -1]);
    });
  });

  it("with HISTORY_SIZE=0 keeps seq and epoch but no broadcasts", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, { ...DEFAULT_LIMITS, historySize: 0 });
      const { epoch } = log.open();
      log.append(1, "s", '{"seq":1}', 1000);
      log.append(2, "s", '{"seq":2}', 1000);
      await stored(log);
      expect(log.seq).toBe(2);
      expect(log.page(0, 10, 1000)).toEqual([]);
      expect(log.resume(1, epoch, 1000)).toEqual({ recovered: false, reason: "too_many" });
      expect(log.resume(2, epoch, 1000)).toEqual({ recovered: true });
      const again = new RoomLog(sql, DEFAULT_LIMITS);
      expect([again.seq, again.epoch]).toEqual([2, epoch]);
    });
  });

  it("keeps a broadcast for exactly HISTORY_TTL_SECONDS", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, { ...DEFAULT_LIMITS, historyTtlSeconds: 10 });
      const { epoch } = log.open();
      const t0 = Date.now();
      log.append(1, "s", "one", t0);
      log.append(2, "s", "two", t0 + 1);
      await stored(log);
      expect(log.resume(0, epoch, t0 + 10_000)).toEqual({ recovered: true });
      expect(log.page(0, 10, t0 + 10_000).map((row) => row.seq)).toEqual([1, 2]);
      expect(log.resume(0, epoch, t0 + 10_001)).toEqual({ recovered: false, reason: "expired" });
      expect(log.page(0, 10, t0 + 10_001).map((row) => row.seq)).toEqual([2]);
      expect(log.resume(1, epoch, t0 + 10_001)).toEqual({ recovered: true });
    });
  });

  it("keeps the last HISTORY_SIZE broadcasts and decides epoch_changed, too_many, expired in that order", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, { ...DEFAULT_LIMITS, historySize: 3, historyTtlSeconds: 10 });
      const { epoch } = log.open();
      const t0 = Date.now();
      for (const seq of [1, 2, 3, 4, 5]) log.append(seq, "s", `${seq}`, t0);
      await stored(log);
      expect(log.page(0, 10, t0).map((row) => row.seq)).toEqual([3, 4, 5]);
      expect(log.resume(2, epoch, t0)).toEqual({ recovered: true });
      expect(log.resume(1, epoch, t0)).toEqual({ recovered: false, reason: "too_many" });
      const late = t0 + 10_001;
      expect(log.resume(1, "other", late)).toEqual({ recovered: false, reason: "epoch_changed" });
      expect(log.resume(6, epoch, t0)).toEqual({ recovered: false, reason: "epoch_changed" });
      expect(log.resume(1, epoch, late)).toEqual({ recovered: false, reason: "too_many" });
      expect(log.resume(2, epoch, late)).toEqual({ recovered: false, reason: "expired" });
      expect(log.resume(5, epoch, late)).toEqual({ recovered: true });
    });
  });

  it("forgets message ids after DEDUP_SECONDS", async () => {
    await withStorage(async (sql) => {
      const log = new RoomLog(sql, { ...DEFAULT_LIMITS, dedupSeconds: 10 });
      const t0 = Date.now();
      log.remember("client:a", "m1", 1, t0);
      await stored(log);
      // Remembered for exactly DEDUP_SECONDS, not a millisecond longer.
      expect(log.seen("client:a", "m1", t0 + 10_000)).toEqual({ seq: 1 });
      expect(log.seen("client:b", "m1", t0 + 10_000)).toBeUndefined();
      expect(log.seen("client:a", "m1", t0 + 10_001)).toBeUndefined();
    });
  });
});
