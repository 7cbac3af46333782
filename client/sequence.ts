/**
 * Where this client stands in the room's broadcast log: the room's epoch and
 * the last seq it has seen. Decides what to ask for on resume and which
 * messages are new, so a replay never shows a message twice.
 */
import type { MessageFrame, ResumeFailure, WelcomeFrame } from "../src/frames";

/** How many past session ids to remember; a client reconnecting more often than this keeps the newest. */
const MAX_OWN_SESSIONS = 64;

export class SequenceTracker {
  private epoch: string | undefined;
  private last: number | undefined;
  /** Seqs of our own broadcasts above `last`; they never come back to us, so they are holes to skip. */
  private readonly own = new Set<number>();
  /** Session ids this client has had. A replay may carry our own earlier broadcasts, sent from those. */
  private readonly sessions = new Set<string>();

  /** Query parameters for the next connection, or none before the first welcome. */
  resumeParams(): { since: number; epoch: string } | undefined {
    if (this.last === undefined || this.epoch === undefined) return undefined;
    return { since: this.last, epoch: this.epoch };
  }

  /** Takes in a welcome; returns why history was lost, if a resume failed. */
  welcome(frame: WelcomeFrame, resumed: boolean): ResumeFailure | undefined {
    this.sessions.add(frame.id);
    if (this.sessions.size > MAX_OWN_SESSIONS) {
      const oldest = this.sessions.values().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    if (resumed && frame.recovered === true) return undefined;
    // A fresh start, or a resume that failed: continue from the room's current position.
    this.epoch = frame.epoch;
    this.last = frame.seq;
    this.own.clear();
    return resumed ? (frame.reason ?? "epoch_changed") : undefined;
  }

  isOwnSession(id: string): boolean {
    return this.sessions.has(id);
  }

  /** True if the message is new and should reach the application. */
  accept(frame: MessageFrame): boolean {
    const own = this.sessions.has(frame.from);
    if (frame.seq === undefined || this.last === undefined) return !own;
    if (frame.seq <= this.last) return false;
    // Frames arrive in seq order, so everything below this one has been seen or was ours.
    this.last = frame.seq;
    this.advance();
    return !own;
  }

  /** Records the seq the relay gave one of our broadcasts. */
  acked(seq: number | undefined): void {
    if (seq === undefined || this.last === undefined || seq <= this.last) return;
    // Not `last = seq`: during a replay an ack can overtake older messages still on their way.
    this.own.add(seq);
    this.advance();
  }

  private advance(): void {
    if (this.last === undefined) return;
    for (const seq of this.own) if (seq <= this.last) this.own.delete(seq);
    while (this.own.delete(this.last + 1)) this.last++;
  }
}
