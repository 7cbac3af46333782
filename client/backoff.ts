/**
 * Reconnect delays: exponential, capped, with jitter. Jitter matters because a
 * relay restart drops every client at once; without it they would all come
 * back in the same millisecond, again and again.
 */
export type BackoffOptions = {
  /** Delay before the first retry, before jitter. Default 500 ms. */
  minMs?: number;
  /** Largest delay, before jitter. Default 15 s. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
};

/**
 * "Equal jitter": half of the capped exponential delay is fixed, the other half
 * random, so retries spread out but never come back sooner than half the step.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { minMs = 500, maxMs = 15_000, factor = 2 } = options;
  const step = Math.min(maxMs, minMs * factor ** attempt);
  return Math.round(step / 2 + random() * (step / 2));
}
