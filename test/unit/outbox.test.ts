import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Outbox, RelayError } from "../../client/outbox";

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("Outbox", () => {
  it("keeps frames in the order they were first added, and gives a repeated id its first promise", () => {
    const outbox = new Outbox();
    const first = outbox.add("a", "A");
    outbox.add("b", "B");
    expect(outbox.add("a", "A again")).toBe(first);
    expect(outbox.waiting()).toEqual([
      ["a", "A"],
      ["b", "B"],
    ]);
  });

  it("settles each frame by its own id, once", async () => {
    const outbox = new Outbox();
    const a = outbox.add("a", "A");
    const b = outbox.add("b", "B");
    outbox.resolve("b", { seq: 2 });
    outbox.resolve("a", { seq: 1 });
    outbox.resolve("a", { seq: 9, duplicate: true });
    expect(await a).toEqual({ seq: 1 });
    expect(await b).toEqual({ seq: 2 });
    expect(outbox.waiting()).toEqual([]);
  });

  it("rejects with timeout only once the deadline of a written frame passes", async () => {
    const outbox = new Outbox();
    const sent = outbox.add("a", "A");
    sent.catch(() => {});
    await vi.advanceTimersByTimeAsync(60_000);
    expect(outbox.has("a")).toBe(true);
    outbox.sent("a", 1_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(outbox.has("a")).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    await expect(sent).rejects.toMatchObject({ code: "timeout", id: "a" });
  });

  it("stops the deadlines while paused, until the frame is written again", async () => {
    const outbox = new Outbox();
    const sent = outbox.add("a", "A");
    outbox.sent("a", 1_000);
    outbox.pause();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(outbox.has("a")).toBe(true);
    outbox.sent("a", 1_000);
    outbox.resolve("a", {});
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await sent).toEqual({});
  });

  it("rejects everything waiting, each error naming its own id", async () => {
    const outbox = new Outbox();
    const a = outbox.add("a", "A");
    const b = outbox.add("b", "B");
    outbox.rejectAll(new RelayError("closed", "bye"));
    await expect(a).rejects.toMatchObject({ code: "closed", id: "a" });
    await expect(b).rejects.toMatchObject({ code: "closed", id: "b" });
  });
});
