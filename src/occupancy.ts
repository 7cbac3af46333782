/**
 * The room's head count, for clients of a room past `PRESENCE_MAX`, where
 * joins and leaves no longer tell it: a frame at most every `OCCUPANCY_MS`
 * while the count changes (Phoenix's tracker sends its diffs on a similar
 * beat), and nothing, not even a timer, while it does not.
 */
import { encode } from "./protocol";

export const OCCUPANCY_MS = 2000;

export class Occupancy {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sent: number | undefined;

  constructor(
    private readonly count: () => number,
    /** True while some members are not announced one by one. */
    private readonly crowded: () => boolean,
    private readonly send: (text: string) => void,
  ) {}

  changed(): void {
    // Once counts were sent, the last one is corrected even after the room thins out.
    if (this.timer !== undefined || (!this.crowded() && this.sent === undefined)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const count = this.count();
      if (count === this.sent) return;
      this.sent = count;
      this.send(encode({ type: "occupancy", count }));
    }, OCCUPANCY_MS);
  }
}
