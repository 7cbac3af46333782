/**
 * The simulation's model of a sharded room (bench/sim/model.mjs): every
 * broadcast must reach every receiver when the objects keep up, whatever the
 * layout. A model that loses deliveries by its own bookkeeping reports a
 * sharded room as slower than it is, and the predictions in bench/README.md
 * inherit the error.
 */
import { describe, expect, it } from "vitest";
import { type Costs, simulate } from "../../bench/sim/model.mjs";

/** Round service times (seconds): a commit dearer than a link call, so uplinks pile up behind it. */
const cheap: Costs = {
  rpc: (items) => (40 + 0.4 * items) * 1e-6,
  callShare: 0.5,
  commit: (rows) => (200 + 5 * rows) * 1e-6,
  inbound: 12e-6,
  order: 4e-6,
  socketTurn: 10e-6,
  frame: () => 4e-6,
};

describe("the sharded room model", () => {
  it("delivers every broadcast when several shards' uplinks land in one commit", () => {
    // One shared thread and short links: the room's commit takes uplinks from
    // several shards at once, each of which must be released to send again.
    const r = simulate(
      {
        clients: 100,
        shards: 4,
        protocol: "plain",
        rate: 200,
        seconds: 3,
        cpus: "shared",
        linkMs: 0.05,
      },
      cheap,
    );
    expect(r.deliveredRatio).toBeGreaterThanOrEqual(0.999);
    expect(r.roomRpcIn).toBeGreaterThan(0);
  });

  it("delivers every broadcast with a thread per object, as the predictions run", () => {
    for (const shards of [1, 2, 8]) {
      const r = simulate(
        { clients: 1000, shards, protocol: "ndjson", rate: 20, seconds: 5, linkMs: 1 },
        cheap,
      );
      expect(r.deliveredRatio).toBeGreaterThanOrEqual(0.999);
    }
  });

  it("spreads a sweep's deliveries over the sweep, and the server API's broadcast reaches everyone", () => {
    // 2,000 sockets at 14 µs each: a 28 ms sweep after the inbound and the commit; a
    // generator on a core of its own reads each slice as it is sent, not the sweep at its end.
    const r = simulate(
      {
        clients: 2000,
        shards: 0,
        protocol: "ndjson",
        rate: 1,
        seconds: 1,
        arrivals: "publish",
        source: "api",
        cores: 2,
        generators: 1,
        generatorCost: 1e-7,
      },
      cheap,
    );
    expect(r.deliveredRatio).toBe(1);
    expect(r.p50).toBeGreaterThan(10);
    expect(r.p50).toBeLessThan(20);
    expect(r.p99).toBeGreaterThan(26);
    expect(r.p99).toBeLessThan(32);
  });

  it("puts the shards of one process on one thread", () => {
    const run = (processes: number) =>
      simulate(
        {
          clients: 4000,
          shards: 4,
          protocol: "ndjson",
          rate: 1,
          seconds: 3,
          arrivals: "publish",
          source: "api",
          processes,
        },
        cheap,
      );
    // Room + 4 shards over 2 processes: 2 shards a thread, so each sweep waits for its neighbour's.
    const two = run(3);
    const five = run(5);
    expect(two.cpuSeconds).toHaveLength(3);
    expect(five.cpuSeconds).toHaveLength(5);
    expect(two.deliveredRatio).toBe(1);
    expect(two.p99).toBeGreaterThan(1.5 * five.p99);
  });
});
