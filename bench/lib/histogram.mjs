/**
 * A latency histogram that merges across processes: 0.1 ms buckets up to
 * 100 ms, then 1 ms buckets up to 60 s. Percentiles are bucket upper bounds.
 */
const FINE = 1000; // 0..100 ms in 0.1 ms steps
const COARSE = 59_900; // 100 ms..60 s in 1 ms steps
const SIZE = FINE + COARSE;

export class Histogram {
  constructor() {
    this.counts = new Uint32Array(SIZE);
    this.n = 0;
    this.max = 0;
  }

  /** @param {number} ms */
  record(ms) {
    const v = Math.max(ms, 0);
    const i = v < 100 ? Math.floor(v * 10) : Math.min(SIZE - 1, FINE + Math.floor(v - 100));
    this.counts[i]++;
    this.n++;
    if (v > this.max) this.max = v;
  }

  /** @returns {{n: number, max: number, b: number[][]}} a compact form for IPC */
  toJSON() {
    const b = [];
    for (let i = 0; i < SIZE; i++) if (this.counts[i]) b.push([i, this.counts[i]]);
    return { n: this.n, max: this.max, b };
  }

  /** @param {{n: number, max: number, b: number[][]}} other */
  merge(other) {
    for (const [i, c] of other.b) this.counts[i] += c;
    this.n += other.n;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  /** @param {number} p in 0..100 @returns {number | null} ms */
  percentile(p) {
    if (this.n === 0) return null;
    const rank = Math.ceil((p / 100) * this.n);
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, i < FINE ? (i + 1) / 10 : 100 + (i - FINE + 1));
    }
    return this.max;
  }
}
