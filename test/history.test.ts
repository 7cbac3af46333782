import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../src/config";
import { RoomLog } from "../src/history";
import { freshRoom } from "./client";

/** Runs `body` against a fresh room's real SQLite storage. */
function withStorage<T>(body: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(env.ROOMS.getByName(freshRoom()), (_room, state) =>
    body(state.storage.sql),
  );
}

describe("the room log", () => {
  it("with HISTORY_SIZE=0 keeps seq and epoch but no broadcasts", async () => {
    await withStorage((sql) => {
      const log = new RoomLog(sql, { ...DEFAULT_LIMITS, historySize: 0 });
      const { epoch } = log.open();
      log.append(1, "s", '{"seq":1}', 1000);
      log.append(2, "s", '{"seq":2}', 1000);
      expect(log.seq).toBe(2);
      expect(log.page(0, 10, 1000)).toEqual([]);
      expect(log.resume(1, epoch, 1000)).toEqual({ recovered: false, reason: "too_many" });
      expect(log.resume(2, epoch, 1000)).toEqual({ recovered: true });
      // A new object over the same storage reads the same state back.
      const again = new RoomLog(sql, DEFAULT_LIMITS);
      expect([again.seq, again.epoch]).toEqual([2, epoch]);
    });
  });

  it("forgets message ids after DEDUP_SECONDS", async () => {
    await withStorage((sql) => {
      const log = new RoomLog(sql, { ...DEFAULT_LIMITS, dedupSeconds: 10 });
      log.remember("client:a", "m1", 1, 0);
      expect(log.seen("client:a", "m1", 9_999)).toEqual({ seq: 1 });
      expect(log.seen("client:b", "m1", 9_999)).toBeUndefined();
      expect(log.seen("client:a", "m1", 10_001)).toBeUndefined();
    });
  });
});
