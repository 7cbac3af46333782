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
});
