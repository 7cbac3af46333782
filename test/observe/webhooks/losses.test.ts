/**
 * What the outbox loses, and that it never loses it silently: events past
 * its bound and batches given up after their last try are counted where the
 * console reads them (the room's `describe`) and in metrics.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DOUBLES, METRICS_MS } from "../../../src/observe/metrics";
import { OUTBOX_MAX } from "../../../src/observe/outbox";
import { BATCH_MS, RETRY_MS } from "../../../src/observe/webhooks";
import { freshRoom, join } from "../../client";
import { until } from "../list";
import { alarm, alarmOf, describeRoom, frozenAhead, namesOf, receiver } from "./receiver";

/** The fake METRICS binding: the sum of each value written for a room. */
const points: AnalyticsEngineDataPoint[] = [];
const sum = (room: string, key: (typeof DOUBLES)[number]) =>
  points
    .filter((point) => point.blobs?.[1] === room)
    .reduce((total, point) => total + (point.doubles?.[DOUBLES.indexOf(key)] ?? 0), 0);
const bindings = env as unknown as Record<string, unknown>;
beforeAll(() => {
  bindings.METRICS = { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) };
});
afterAll(() => {
  delete bindings.METRICS;
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("webhook losses", { timeout: METRICS_MS * 6 }, () => {
  it("past its bound the outbox drops new events, and counts them", async () => {
    const hooks = receiver();
    const clock = frozenAhead();
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    const ada = await join(room, "ada");
    // Fill the outbox to its bound behind ada's two events, as a receiver down for long would.
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO relay_webhooks (event, due) SELECT '{"name":"member_added","room":"filler","time_ms":0}', ? FROM n`,
        OUTBOX_MAX - 2,
        Date.now(),
      );
    });
    await evictDurableObject(stub);
    const bob = await join(room, "bob");
    await ada.client.next("join");
    bob.client.close();
    await ada.client.next("leave");

    const status = await describeRoom(room);
    expect(status.webhooks?.pending).toBe(OUTBOX_MAX);
    expect(status.webhooks?.lost.outbox_full?.events).toBe(2);
    await until(async () => sum(room, "webhooksDropped") === 2, "metrics", METRICS_MS * 3);

    // What was kept goes out in order, from the oldest; bob's events were the ones dropped.
    clock.advance(BATCH_MS);
    await alarm(room);
    expect(namesOf(hooks.kept, room)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
    ]);
    expect((await describeRoom(room)).webhooks?.pending).toBeLessThan(OUTBOX_MAX);
  });

  it("gives a batch up after its last try, counts it, and delivers later events", async () => {
    const clock = frozenAhead();
    let up = false;
    const hooks = receiver(async () =>
      up ? new Response("ok") : new Response("gone wrong", { status: 500 }),
    );
    const room = freshRoom();
    const ada = await join(room, "ada");
    clock.advance(BATCH_MS);
    await alarm(room);
    for (const wait of RETRY_MS) {
      expect(await alarmOf(room)).not.toBeNull();
      clock.advance(Math.ceil(wait * 1.1) + 1);
      await alarm(room);
    }
    expect(hooks.tries).toHaveLength(RETRY_MS.length + 1);
    expect(new Set(hooks.tries.map((t) => t.id)).size).toBe(1);
    const status = await describeRoom(room);
    expect(status.webhooks?.pending).toBe(0);
    expect(status.webhooks?.lost.gave_up?.events).toBe(2);
    expect(await alarmOf(room)).toBeNull();
    await until(async () => sum(room, "webhooksGivenUp") === 2, "metrics", METRICS_MS * 3);

    up = true;
    const bob = await join(room, "bob");
    await ada.client.next("join");
    clock.advance(BATCH_MS);
    await alarm(room);
    expect(namesOf(hooks.kept, room)).toEqual([["member_added", bob.welcome.id]]);
  });
});
