/**
 * Reads a V8 CPU profile (as the inspector's `Profiler.stop` answers it):
 * self time per function, from sample counts, so a bench can print where an
 * isolate's time went.
 */

/**
 * The functions with the most self time, as shares of all samples.
 * @param {{nodes: any[], samples: number[]}} profile @param {number} [count]
 * @returns {{total: number, top: {key: string, share: number}[]}}
 * @example
 * const { profile } = await cdp("Profiler.stop");
 * for (const { key, share } of selfTimes(profile, 10).top) console.log(share, key);
 */
export function selfTimes(profile, count = 25) {
  /** @type {Map<number, any>} */
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<string, number>} */
  const self = new Map();
  for (const sample of profile.samples) {
    const f = nodes.get(sample)?.callFrame;
    const file = (f?.url ?? "").split("/").pop();
    const key = `${f?.functionName || "(anonymous)"} ${file}:${(f?.lineNumber ?? 0) + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const top = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, n]) => ({ key, share: n / Math.max(1, total) }));
  return { total, top };
}
