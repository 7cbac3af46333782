// Types of bench/sim/queue.mjs for the unit test that checks the model's core.
export class Clock {
  now: number;
  at(t: number, fn: () => void): void;
  run(until?: number): void;
}
export type Job = (start: number) => { cost: number; done?: (end: number) => void };
export class Machine {
  constructor(clock: Clock, cores: number, background?: number);
  thread(): Thread;
  speed(): number;
}
export class Thread {
  used: number;
  submit(job: Job): void;
  next(job: Job): void;
}
export class Samples {
  total: number;
  add(value: number, weight?: number): void;
  spread(from: number, to: number, count: number, points?: number): void;
  quantile(q: number): number;
  mean(): number;
}
export function random(seed: number): () => number;
