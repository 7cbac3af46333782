/**
 * The simulation's join phase (bench/sim/join.mjs): a big room's join time
 * is the last welcome of a closed loop of handshakes. The validation holds
 * it to the big-room bench's "seconds until all welcomed"; a model that
 * loses a join, ignores the machine's cores or skips the room's hop would
 * make that row agree or disagree for the wrong reason.
 */
import { describe, expect, it } from "vitest";
import { type JoinPrices, simulateJoin } from "../../bench/sim/join.mjs";

/** Round prices (seconds): announced joins dearer, the room's hop a slice of a sharded join. */
const prices: JoinPrices = { announced: 1e-3, pastCap: 0.5e-3, client: 0.2e-3, room: 0.05e-3 };
const machine = { cores: 2, generators: 2, inFlight: 100 };

describe("the join model", () => {
  it("spends exactly every join's price on the server and grows with sockets", () => {
    const small = simulateJoin({ ...machine, clients: 2000 }, prices);
    const big = simulateJoin({ ...machine, clients: 4000 }, prices);
    // 100 announced joins, the rest past the cap: nothing lost, nothing counted twice.
    expect(small.cpuSeconds[0]).toBeCloseTo(100 * 1e-3 + 1900 * 0.5e-3, 9);
    // One workerd thread is the bottleneck: twice the sockets, about twice the time.
    expect(big.seconds / small.seconds).toBeGreaterThan(1.8);
    expect(big.seconds / small.seconds).toBeLessThan(2.1);
    // With a core to itself the server's CPU is a floor on the join time.
    expect(small.seconds).toBeGreaterThanOrEqual(small.cpuSeconds[0] ?? 0);
  });

  it("is slower when the cores are shared with other work", () => {
    const quiet = simulateJoin({ ...machine, clients: 2000 }, prices);
    const busy = simulateJoin({ ...machine, clients: 2000, background: 2 }, prices);
    expect(busy.seconds).toBeGreaterThan(quiet.seconds * 1.3);
  });

  it("splits a sharded join between the shard processes and the room's, one link away", () => {
    const split = simulateJoin({ ...machine, clients: 2000, processes: 3, cores: 8 }, prices);
    const [room = 0, ...shards] = split.cpuSeconds;
    expect(room).toBeCloseTo(2000 * 0.05e-3, 9);
    expect(shards.reduce((a, b) => a + b, 0)).toBeCloseTo(
      100 * (1e-3 - 0.05e-3) + 1900 * (0.5e-3 - 0.05e-3),
      9,
    );
    // The hop's link latency adds to every handshake: slower links, slower joins.
    const far = simulateJoin(
      { ...machine, clients: 2000, processes: 3, cores: 8, linkMs: 20 },
      prices,
    );
    expect(far.seconds).toBeGreaterThan(split.seconds + 0.02);
  });
});
