import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DOUBLES, METRICS_MS } from "../../src/observe/metrics";
import { utf8Length } from "../../src/protocol";
import { freshRoom, join } from "../client";
import { freshDoc, Peer } from "../documents/peer";
import { until } from "./list";

/** The fake binding: records what a room would write to Analytics Engine. */
class Recorder implements AnalyticsEngineDataset {
  readonly points: AnalyticsEngineDataPoint[] = [];
  writeDataPoint(point: AnalyticsEngineDataPoint = {}): void {
    this.points.push(point);
  }

  /** Every point written for `name`, as named values. */
  of(name: string): Record<(typeof DOUBLES)[number], number>[] {
    return this.points
      .filter((point) => point.blobs?.[1] === name)
      .map((point) => Object.fromEntries(DOUBLES.map((key, i) => [key, point.doubles?.[i] ?? 0])))
      .map((values) => values as Record<(typeof DOUBLES)[number], number>);
  }

  /** The sum of one value over every point written for `name`. */
  sum(name: string, key: (typeof DOUBLES)[number]): number {
    return this.of(name).reduce((total, values) => total + values[key], 0);
  }
}

const recorder = new Recorder();
const bindings = env as unknown as Record<string, unknown>;
// Every object the tests create after this reads the fake as its METRICS binding.
beforeAll(() => {
  bindings.METRICS = recorder;
});
afterAll(() => {
  delete bindings.METRICS;
  vi.restoreAllMocks();
});

// A point is written METRICS_MS after the first count, so tests wait that long.
const WAIT = { timeout: METRICS_MS * 4 };

/** Bytes of every frame a client received but its welcome. */
const bytesAfterWelcome = (raw: string[]) => raw.slice(1).reduce((n, t) => n + utf8Length(t), 0);

describe("metrics", WAIT, () => {
  it("writes a room's connections, frames and bytes in and out, and errors", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");
    const sent = [
      JSON.stringify({ type: "broadcast", data: "hello" }),
      JSON.stringify({ type: "broadcast", data: "héllo ✓" }),
      JSON.stringify({ type: "direct", to: "nobody", data: 1 }),
    ];
    for (const frame of sent) ada.client.send(frame);
    await ada.client.next("error");
    await bob.client.until(() => bob.client.all("message").length === 2, "two messages");
    // join to ada, two broadcasts to bob, the error to ada; welcomes are not counted.
    await until(async () => recorder.sum(room, "framesOut") >= 4, "a point", METRICS_MS * 3);

    const points = recorder.of(room);
    expect(points.at(-1)?.connections).toBe(2);
    expect(recorder.sum(room, "framesIn")).toBe(3);
    expect(recorder.sum(room, "bytesIn")).toBe(sent.reduce((n, t) => n + utf8Length(t), 0));
    expect(recorder.sum(room, "framesOut")).toBe(4);
    const received = bytesAfterWelcome(ada.client.raw) + bytesAfterWelcome(bob.client.raw);
    expect(recorder.sum(room, "bytesOut")).toBe(received);
    expect(recorder.sum(room, "errors")).toBe(1);
    const point = recorder.points.find((p) => p.blobs?.[1] === room);
    expect(point?.blobs).toEqual(["room", room]);
    expect(point?.indexes).toEqual([room]);
  });

  it("gathers a burst into one point per interval", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    for (let i = 0; i < 10; i++) ada.client.send({ type: "broadcast", data: i, id: `m${i}` });
    await ada.client.until(() => ada.client.all("ack").length === 10, "ten acks");
    await until(async () => recorder.of(room).length > 0, "a point", METRICS_MS * 3);
    expect(recorder.of(room)).toEqual([
      // Ten acks to ada; nobody else to broadcast to.
      expect.objectContaining({ connections: 1, framesIn: 10, framesOut: 10, errors: 0 }),
    ]);
  });

  it("writes a document's sockets and traffic", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    const bob = await Peer.open(name);
    ada.insert("hello");
    await bob.until(() => bob.text === "hello", "the edit");
    await until(async () => recorder.of(name).length > 0, "a point", METRICS_MS * 3);
    const [point] = recorder.of(name);
    expect(point?.connections).toBe(2);
    expect(point?.framesIn).toBeGreaterThanOrEqual(3); // two step 1s and the update
    expect(point?.framesOut).toBeGreaterThanOrEqual(1); // the update to bob
    expect(recorder.points.find((p) => p.blobs?.[1] === name)?.blobs?.[0]).toBe("doc");
  });

  it('with METRICS = "log", writes each point as a log line', async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    bindings.METRICS = "log";
    try {
      const room = freshRoom();
      await join(room, "ada");
      const mine = () => lines.filter((line) => line.includes('"metrics"') && line.includes(room));
      await until(async () => mine().length > 0, "a metrics line", METRICS_MS * 3);
      expect(JSON.parse(mine()[0] ?? "")).toMatchObject({
        event: "metrics",
        kind: "room",
        name: room,
        connections: 1,
      });
    } finally {
      bindings.METRICS = recorder;
    }
  });
});
