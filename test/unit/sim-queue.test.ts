/**
 * The simulation's core (bench/sim/queue.mjs) against queues whose answers
 * are known in closed form: if the clock, the FIFO server or the sharing of
 * cores is wrong, every figure the simulation prints in bench/README.md is
 * wrong with it.
 */
import { describe, expect, it } from "vitest";
import { Clock, Machine, random, Samples, type Thread } from "../../bench/sim/queue.mjs";

/** Feeds jobs of fixed cost into one thread at the given times; returns each job's time in system. */
function serve(arrivals: number[], cost: number, cpu: Thread, clock: Clock): number[] {
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
    const cpu = new Machine(clock, 1).thread();
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
    const cpu = new Machine(clock, 1).thread();
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
    const machine = new Machine(clock, 2);
    const [first, second] = [machine.thread(), machine.thread()];
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
    const shared = new Machine(clock, 4).thread();
    const a = serve([0], 1, shared, clock);
    const b = serve([0], 1, shared, clock);
    clock.run();
    expect([a[0], b[0]]).toEqual([1, 2]);
  });
});

describe("cores shared by processor sharing", () => {
  it("gives two threads on one core half a core each, and the survivor a whole one", () => {
    const clock = new Clock();
    const machine = new Machine(clock, 1);
    const a = serve([0], 1, machine.thread(), clock);
    const b = serve([0], 3, machine.thread(), clock);
    clock.run();
    // Both run at 1/2 until a ends at 2 (b has 2 left), then b alone: 2 + 2.
    expect(a[0]).toBeCloseTo(2, 9);
    expect(b[0]).toBeCloseTo(4, 9);
  });

  it("slows every thread by the background work that wants the cores", () => {
    const clock = new Clock();
    // 2 cores, 3 always-busy other threads, one of ours: each gets 2/4 of a core.
    const machine = new Machine(clock, 2, 3);
    const a = serve([0, 0], 1, machine.thread(), clock);
    clock.run();
    expect(a).toHaveLength(2);
    expect(a[0]).toBeCloseTo(2, 9);
    expect(a[1]).toBeCloseTo(4, 9);
  });

  it("runs threads in parallel, each at most one core, while there are cores enough", () => {
    const clock = new Clock();
    const machine = new Machine(clock, 2);
    const times = [1, 2, 3].map((cost) => serve([0], cost, machine.thread(), clock));
    clock.run();
    // Three threads on two cores run at 2/3 until the first ends at 1.5 (the others have
    // 1 and 2 left); then two at full speed: 2.5 and 3.5.
    expect(times.map((t) => t[0])).toEqual([1.5, 2.5, 3.5].map((x) => expect.closeTo(x, 9)));
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
