/**
 * The simulation's core (bench/sim/queue.mjs) against queues whose answers
 * are known in closed form: if the clock or the FIFO server is wrong, every
 * figure the simulation prints in bench/README.md is wrong with it.
 */
import { describe, expect, it } from "vitest";
import { Clock, Cpu, random, Samples } from "../../bench/sim/queue.mjs";

/** Feeds jobs of fixed cost into one Cpu at the given times; returns each job's time in system. */
function serve(arrivals: number[], cost: number, cpu: Cpu, clock: Clock): number[] {
  const sojourn: number[] = [];
  arrivals.forEach((t, i) => {
    clock.at(t, () =>
      cpu.submit(() => ({
        cost,
        done: (end) => {
          sojourn[i] = end - t;
        },
      })),
    );
  });
  return sojourn;
}

describe("the FIFO server", () => {
  it("matches M/D/1: mean time in system is D + rho/(2 mu (1 - rho))", () => {
    const clock = new Clock();
    const cpu = new Cpu(clock);
    const rnd = random(7);
    const arrivals: number[] = [];
    for (let t = 0, n = 0; n < 300_000; n++) {
      t += -Math.log(1 - rnd()) / 0.8;
      arrivals.push(t);
    }
    const sojourn = serve(arrivals, 1, cpu, clock);
    clock.run();
    const mean = sojourn.reduce((a, b) => a + b, 0) / sojourn.length;
    // lambda 0.8, D 1: Pollaczek-Khinchine gives a wait of 0.8 / (2 * 0.2) = 2.
    expect(mean).toBeGreaterThan(3 * 0.95);
    expect(mean).toBeLessThan(3 * 1.05);
    expect(cpu.used).toBeCloseTo(300_000, 6);
  });

  it("serves an overloaded deterministic queue at exactly its service rate, in arrival order", () => {
    const clock = new Clock();
    const cpu = new Cpu(clock);
    const arrivals = Array.from({ length: 100 }, (_, n) => n * 0.5);
    const sojourn = serve(arrivals, 0.7, cpu, clock);
    clock.run();
    // Job n leaves at 0.7 (n + 1): it waits behind every earlier job.
    const leaves = sojourn.map((s, n) => s + n * 0.5);
    expect(leaves).toHaveLength(100);
    for (const [n, end] of leaves.entries()) expect(end).toBeCloseTo(0.7 * (n + 1), 9);
  });

  it("lets a tandem of two under-loaded servers add their service times and nothing else", () => {
    const clock = new Clock();
    const [first, second] = [new Cpu(clock), new Cpu(clock)];
    const sojourn: number[] = [];
    for (let n = 0; n < 50; n++)
      clock.at(n, () =>
        first.submit(() => ({
          cost: 0.3,
          done: () => second.submit(() => ({ cost: 0.5, done: (end) => sojourn.push(end - n) })),
        })),
      );
    clock.run();
    expect(sojourn).toHaveLength(50);
    for (const s of sojourn) expect(s).toBeCloseTo(0.8, 9);
  });

  it("serialises two objects that share one thread", () => {
    const clock = new Clock();
    const shared = new Cpu(clock);
    const a = serve([0], 1, shared, clock);
    const b = serve([0], 1, shared, clock);
    clock.run();
    expect([a[0], b[0]]).toEqual([1, 2]);
  });
});

describe("the clock", () => {
  it("runs events in time order, ties in the order they were scheduled", () => {
    const clock = new Clock();
    const seen: string[] = [];
    for (const [t, name] of [
      [3, "c"],
      [1, "a"],
      [2, "b1"],
      [2, "b2"],
      [0, "z"],
    ] as const)
      clock.at(t, () => seen.push(name));
    clock.run();
    expect(seen).toEqual(["z", "a", "b1", "b2", "c"]);
  });
});

describe("weighted samples", () => {
  it("puts a quantile where the weights say, not where the sample count does", () => {
    const samples = new Samples();
    samples.add(1, 98);
    samples.add(100, 2);
    expect(samples.quantile(0.5)).toBe(1);
    expect(samples.quantile(0.99)).toBe(100);
    samples.spread(0, 10, 100, 10);
    expect(samples.total).toBe(200);
  });
});
