/**
 * The discrete-event core of the simulation: a clock with a calendar of
 * events, and machines whose cores are shared by threads that each serve
 * jobs one at a time in arrival order. A workerd process runs its Durable
 * Objects on one thread, so objects in one process share one Thread; the
 * load generators are threads too, contending for the same cores. Times are
 * in seconds.
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
 * A job: called when it reaches its thread, with its start time; it returns
 * how much CPU it needs (seconds on a core of its own) and, optionally, what
 * happens when it ends. Its cost is decided at its start because a job takes
 * what has piled up by then (a send turn takes every broadcast queued so far).
 * @typedef {(start: number) => {cost: number, done?: (end: number) => void}} Job
 */

/**
 * A machine of `cores` cores shared by processor sharing: every thread with
 * a job runs at min(1, cores / runnable) of a core, where runnable counts
 * this machine's busy threads plus `background` threads of other work that
 * always want a core (Linux's fair scheduler, seen from afar). With cores at
 * least the number of threads, each thread is a FIFO single server.
 */
export class Machine {
  /** @type {Set<Thread>} */
  running = new Set();
  /** When the running jobs' remaining work was last brought up to date. */
  last = 0;
  version = 0;

  /** @param {Clock} clock @param {number} cores @param {number} [background] */
  constructor(clock, cores, background = 0) {
    this.clock = clock;
    this.cores = cores;
    this.background = background;
  }

  /** A new thread (one workerd process's event loop, or one load generator). */
  thread() {
    return new Thread(this);
  }

  /** The share of a core each runnable thread gets now. */
  speed() {
    const runnable = this.running.size + this.background;
    return runnable > 0 ? Math.min(1, this.cores / runnable) : 1;
  }

  /** Takes the work done since `last` off every running job. */
  advance() {
    const done = (this.clock.now - this.last) * this.speed();
    for (const t of this.running) if (t.current) t.current.remaining -= done;
    this.last = this.clock.now;
  }

  /** @param {Thread} thread */
  start(thread) {
    this.advance();
    while (!thread.current) {
      const job = thread.queue.shift();
      if (!job) return;
      const { cost, done } = job(this.clock.now);
      thread.used += cost;
      if (cost > 0) {
        thread.current = { remaining: cost, done };
        this.running.add(thread);
      } else done?.(this.clock.now);
    }
    this.reschedule();
  }

  /** Plans the next job end; an older plan is dropped by its version. */
  reschedule() {
    const version = ++this.version;
    /** @type {Thread | undefined} */
    let first;
    for (const t of this.running)
      if (t.current && (!first || t.current.remaining < (first.current?.remaining ?? 0))) first = t;
    if (!first?.current) return;
    const target = first;
    this.clock.at(this.clock.now + Math.max(0, first.current.remaining) / this.speed(), () => {
      if (version === this.version) this.finish(target);
    });
  }

  /**
   * Ends `target`'s job, which the plan said ends now, and any other that
   * ends within rounding of it (float time cannot resolve smaller steps).
   * @param {Thread} target
   */
  finish(target) {
    this.advance();
    if (target.current) target.current.remaining = 0;
    const ended = [...this.running].filter((t) => (t.current?.remaining ?? 0) <= 1e-9);
    for (const t of ended) {
      const done = t.current?.done;
      t.current = undefined;
      this.running.delete(t);
      done?.(this.clock.now);
    }
    for (const t of ended) if (!t.current) this.start(t);
    this.reschedule();
  }
}

/** One thread of a Machine: serves its jobs one at a time, first come first served. */
export class Thread {
  /** @type {Job[]} */
  queue = [];
  /** @type {{remaining: number, done?: (end: number) => void} | undefined} */
  current = undefined;
  /** CPU seconds its jobs asked for, for utilisation. */
  used = 0;

  /** @param {Machine} machine */
  constructor(machine) {
    this.machine = machine;
  }

  /** @param {Job} job */
  submit(job) {
    this.queue.push(job);
    if (!this.current) this.machine.start(this);
  }

  /** Runs `job` before anything queued: the rest of the turn that is running. @param {Job} job */
  next(job) {
    this.queue.unshift(job);
    if (!this.current) this.machine.start(this);
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
