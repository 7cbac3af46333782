/**
 * A resume in progress. Missed broadcasts come from the room's log in pages;
 * live frames meant for the session are held by its outlet until it has
 * caught up, so it sees every missed broadcast, in order and once, before
 * anything live. Live broadcasts are not held at all: they are in the log too.
 */
import type { Stored } from "./history";
import type { Outlet } from "./outlet";

export class Replay {
  constructor(
    /** The last seq this session has been sent. */
    public cursor: number,
    private readonly session: string,
    private readonly outlet: Outlet,
  ) {
    outlet.hold();
  }

  /** Sends one page; false when the log has a gap (the session fell behind). */
  send(page: Stored[], last: number): boolean {
    if (page.length === 0) return this.cursor >= last;
    for (const row of page) {
      if (row.seq !== this.cursor + 1) return false;
      // A session's own broadcasts never come back to it, replayed or not.
      if (row.sender !== this.session) this.outlet.replayed(row.frame);
      this.cursor = row.seq;
    }
    return true;
  }

  /** Lets the held live frames out; the caller makes the session live in the same turn. */
  finish(): void {
    this.outlet.release();
  }
}
