/**
 * A resume in progress. Missed broadcasts come from a source (the room's
 * log in pages, or a shard's ring); live frames meant for the session are
 * held by its outlet until it has caught up, so it sees every missed
 * broadcast, in order and once, before anything live. Live broadcasts are
 * not held at all: the source has them too.
 */
import type { Stored } from "./history";
import { log } from "./log";
import type { Sink } from "./outlet";

/** Where a replay reads what was missed. */
export type ReplaySource = {
  /** Broadcasts after `after`, oldest first; undefined to be asked again. */
  rows(after: number): Stored[] | undefined | Promise<Stored[] | undefined>;
  /** The seq a session must reach before it goes live. */
  last(): number;
};

/** A session as a replay sees it. */
export type Resumer = { peer: { id: string }; outlet: Sink; replay?: Replay };

export class Replay {
  constructor(
    /** The last seq this session has been sent. */
    public cursor: number,
    private readonly session: string,
    private readonly outlet: Sink,
  ) {
    outlet.hold();
  }

  /**
   * Replays from `from` to a session, which ends live, or dropped through
   * `drop`: 4000 when the source no longer holds what it missed (it fell
   * behind), 1011 when reading failed.
   */
  static start(
    session: Resumer,
    from: number,
    source: ReplaySource,
    alive: () => boolean,
    drop: (code: number, reason: string) => void,
  ): void {
    const replay = new Replay(from, session.peer.id, session.outlet);
    session.replay = replay;
    replay.run(source, alive).then(
      (caughtUp) => {
        if (caughtUp) session.replay = undefined;
        else drop(4000, "fell behind while resuming");
      },
      (error: unknown) => {
        log("replay_error", { session: session.peer.id, error: String(error) });
        drop(1011, "could not resume");
      },
    );
  }

  /** Sends one page; false when it has a gap (the session fell behind). */
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

  /** Pages until caught up, letting other events run between pages; false when it fell behind. */
  private async run(source: ReplaySource, alive: () => boolean): Promise<boolean> {
    while (alive()) {
      const last = source.last();
      const rows = await source.rows(this.cursor);
      if (rows === undefined) continue;
      // The source may run ahead of what this session is due; the rest comes live.
      if (
        !this.send(
          rows.filter((row) => row.seq <= last),
          last,
        )
      )
        return false;
      if (this.cursor >= source.last()) {
        // Held live frames go out behind the replayed ones, in this same turn.
        this.outlet.release();
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return true;
  }
}
