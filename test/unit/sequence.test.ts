import { describe, expect, it } from "vitest";
import { SequenceTracker } from "../../client/sequence";
import type { MessageFrame, WelcomeFrame } from "../../src/frames";

const limits = { maxMessageBytes: 65_536, maxBatchFrames: 1 };

function welcome(fields: Partial<WelcomeFrame>): WelcomeFrame {
  return {
    type: "welcome",
    id: "s1",
    room: "r",
    peers: [],
    occupancy: 1,
    seq: 0,
    epoch: "e1",
    limits,
    ...fields,
  };
}

function message(seq: number, from = "other"): MessageFrame {
  return { type: "message", from, data: seq, ts: 0, seq };
}

describe("SequenceTracker", () => {
  it("asks to resume from the last seq seen, in the welcome's epoch", () => {
    const tracker = new SequenceTracker();
    expect(tracker.resumeParams()).toBeUndefined();
    tracker.welcome(welcome({ seq: 4, epoch: "e7" }), false);
    expect(tracker.resumeParams()).toEqual({ since: 4, epoch: "e7" });
    tracker.accept(message(5));
    expect(tracker.resumeParams()).toEqual({ since: 5, epoch: "e7" });
  });

  it("passes each seq once: a replay that overlaps what was seen shows nothing twice", () => {
    const tracker = new SequenceTracker();
    tracker.welcome(welcome({ seq: 0 }), false);
    const seen = [1, 2, 3, 2, 3, 4].filter((seq) => tracker.accept(message(seq)));
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it("counts its own acked broadcasts as seen, even when the ack overtakes older messages", () => {
    const tracker = new SequenceTracker();
    tracker.welcome(welcome({ seq: 0 }), false);
    tracker.acked(2);
    expect(tracker.resumeParams()?.since).toBe(0);
    expect(tracker.accept(message(1))).toBe(true);
    expect(tracker.resumeParams()?.since).toBe(2);
  });

  it("hides messages from its own earlier sessions, replayed after a resume", () => {
    const tracker = new SequenceTracker();
    tracker.welcome(welcome({ id: "s1", seq: 0 }), false);
    tracker.welcome(welcome({ id: "s2", recovered: true }), true);
    expect(tracker.accept(message(1, "s1"))).toBe(false);
    expect(tracker.accept(message(2, "bob"))).toBe(true);
    expect(tracker.isOwnSession("s1")).toBe(true);
  });

  it("reports why a resume failed and continues from the room's position", () => {
    const tracker = new SequenceTracker();
    tracker.welcome(welcome({ seq: 3 }), false);
    const gap = tracker.welcome(
      welcome({ id: "s2", seq: 40, recovered: false, reason: "too_many" }),
      true,
    );
    expect(gap).toBe("too_many");
    expect(tracker.resumeParams()).toEqual({ since: 40, epoch: "e1" });
    expect(tracker.accept(message(12))).toBe(false);
    expect(tracker.accept(message(41))).toBe(true);
  });
});
