/**
 * A resume in progress. Missed broadcasts come from the room's log in pages;
 * live frames meant for the session wait in a backlog until it has caught
 * up, so it sees every missed broadcast, in order and once, before anything
 * live. Live broadcasts are not queued at all: they are in the log too.
 */
import type { Stored } from "./history";

export class Replay {
  private readonly backlog: string[] = [];

  constructor(
    /** The last seq this session has been sent. */
    public cursor: number,
    private readonly session: string,
  ) {}

  /** Sends one page; false when the log has a gap (the session fell behind). */
  send(ws: WebSocket, page: Stored[], last: number): boolean {
    if (page.length === 0) return this.cursor >= last;
    for (const row of page) {
      if (row.seq !== this.cursor + 1) return false;
      // A session's own broadcasts never come back to it, replayed or not.
      if (row.sender !== this.session) ws.send(row.frame);
      this.cursor = row.seq;
    }
    return true;
  }

  queue(frame: string): void {
    this.backlog.push(frame);
  }

  /** Sends what waited; the caller makes the session live in the same turn. */
  finish(ws: WebSocket): void {
    for (const frame of this.backlog) ws.send(frame);
  }
}
