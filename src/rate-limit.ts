/**
 * Per-session flow control: a token bucket that refills continuously, and a
 * flood detector for sessions that keep sending after being told to stop.
 * State lives in memory only; a room that hibernated was idle, so a full
 * bucket on wake is the right answer.
 */

/** Rejections within `FLOOD_WINDOW_MS` that get a session closed. */
export const FLOOD_REJECTIONS = 100;
export const FLOOD_WINDOW_MS = 10_000;

export type Verdict = "ok" | "limited" | "flooding";

export class RateLimiter {
  private tokens: number;
  private refilledAt: number;
  private rejections = 0;
  private windowStart = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.refilledAt = now;
  }

  /**
   * Spends `cost` tokens if there are as many; otherwise counts a rejection.
   * A cost above the burst is charged the whole burst, so it can pass at all.
   */
  take(now: number, cost = 1): Verdict {
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000,
    );
    this.refilledAt = now;
    const due = Math.min(cost, this.burst);
    if (this.tokens >= due) {
      this.tokens -= due;
      return "ok";
    }
    if (now - this.windowStart > FLOOD_WINDOW_MS) {
      this.windowStart = now;
      this.rejections = 0;
    }
    this.rejections += 1;
    return this.rejections >= FLOOD_REJECTIONS ? "flooding" : "limited";
  }
}
