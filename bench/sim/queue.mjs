/**
 * The discrete-event core of the simulation: a clock with a calendar of
 * events, and CPUs that serve jobs one at a time in arrival order (a FIFO
 * single-server queue). A Durable Object is single-threaded, so each object
 * is modelled as the jobs it puts on its CPU; objects that share a thread (in
 * one workerd process) share one Cpu. Times are in seconds.
 */

/** The clock and its calendar: a binary heap ordered by time, then by insertion. */
export class Clock {
  now = 0;
  /** @type {{t: number, n: number, fn: () => void}[]} */
  heap = [];
  count = 0;

  /** Runs `fn` at time `t` (not before now). @param {number} t @param {() => void} fn */
  at(t, fn) {
    const item = { t: Math.max(t, this.now), n: this.count++, fn };
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, /** @type {typeof item} */ (heap[parent]))) break;
      heap[i] = /** @type {typeof item} */ (heap[parent]);
      i = parent;
    }
    heap[i] = item;
  }

  /** Runs events in order until none is left or the next is past `until`. @param {number} until */
  run(until = Number.POSITIVE_INFINITY) {
    while (this.heap.length > 0 && /** @type {{t: number}} */ (this.heap[0]).t <= until) {
      const item = /** @type {{t: number, fn: () => void}} */ (this.pop());
      this.now = item.t;
      item.fn();
    }
  }

  /** Takes the earliest event off the heap (sift-down of the last one from the root). */
  pop() {
    const heap = this.heap;
    const top = heap[0];
    const last = /** @type {(typeof heap)[number]} */ (heap.pop());
    if (heap.length === 0) return top;
    const at = (/** @type {number} */ j) => /** @type {(typeof heap)[number]} */ (heap[j]);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const child = l + 1 < heap.length && before(at(l + 1), at(l)) ? l + 1 : l;
      if (!before(at(child), last)) break;
      heap[i] = at(child);
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

/** @param {{t: number, n: number}} a @param {{t: number, n: number}} b */
function before(a, b) {
  return a.t < b.t || (a.t === b.t && a.n < b.n);
}

/**
 * A job: called when it reaches the CPU, with its start time; it returns how
 * long it holds the CPU and, optionally, what happens when it ends. Its cost
 * is decided at its start because a job takes what has piled up by then (a
 * commit takes every row written so far, a link call every queued item).
 * @typedef {(start: number) => {cost: number, done?: (end: number) => void}} Job
 */

/** One thread: serves jobs one at a time, first come first served. */
export class Cpu {
  /** @type {Job[]} */
  queue = [];
  busy = false;
  /** Seconds spent serving, for utilisation. */
  used = 0;

  /** @param {Clock} clock */
  constructor(clock) {
    this.clock = clock;
  }

  /** @param {Job} job */
  submit(job) {
    this.queue.push(job);
    if (!this.busy) this.next();
  }

  next() {
    const job = this.queue.shift();
    if (!job) {
      this.busy = false;
      return;
    }
    this.busy = true;
    const start = this.clock.now;
    const { cost, done } = job(start);
    this.used += cost;
    this.clock.at(start + cost, () => {
      done?.(start + cost);
      this.next();
    });
  }
}

/** Weighted samples, for percentiles of latencies that stand for many deliveries. */
export class Samples {
  /** @type {number[]} */
  values = [];
  /** @type {number[]} */
  weights = [];
  total = 0;

  /** @param {number} value @param {number} weight */
  add(value, weight = 1) {
    this.values.push(value);
    this.weights.push(weight);
    this.total += weight;
  }

  /** Adds `count` deliveries spread evenly over [from, to], as `points` samples. */
  spread(
    /** @type {number} */ from,
    /** @type {number} */ to,
    /** @type {number} */ count,
    points = 8,
  ) {
    for (let p = 0; p < points; p++)
      this.add(from + ((p + 0.5) / points) * (to - from), count / points);
  }

  /** @param {number} q in [0, 1] */
  quantile(q) {
    if (this.total === 0) return Number.NaN;
    const order = this.values.map((_, i) => i).sort((a, b) => this.values[a] - this.values[b]);
    let seen = 0;
    for (const i of order) {
      seen += /** @type {number} */ (this.weights[i]);
      if (seen >= q * this.total) return /** @type {number} */ (this.values[i]);
    }
    return /** @type {number} */ (this.values[/** @type {number} */ (order.at(-1))]);
  }

  mean() {
    let sum = 0;
    for (let i = 0; i < this.values.length; i++)
      sum += /** @type {number} */ (this.values[i]) * /** @type {number} */ (this.weights[i]);
    return sum / this.total;
  }
}

/** A small seeded generator (mulberry32), so a run can be repeated. @param {number} seed */
export function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
