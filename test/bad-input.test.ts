import { describe, expect, it } from "vitest";
import { freshRoom, join } from "./client";

/** Sends one bad frame and expects its error, then proves the room still works. */
async function expectError(frame: string | ArrayBuffer, code: string) {
  const room = freshRoom();
  const a = await join(room, "a");
  const b = await join(room, "b");
  a.client.ws.send(frame);
  const error = await a.client.next("error");
  expect(error).toEqual({ type: "error", code, message: expect.any(String) });
  // Nothing was relayed, the connection is still usable and presence is intact.
  a.client.send({ type: "broadcast", data: "still here" });
  const got = await b.client.next("message");
  expect(got.data).toBe("still here");
  expect(b.client.all("message")).toHaveLength(1);
  expect(b.client.all("leave")).toEqual([]);
  const c = await join(room, "c");
  expect(c.welcome.peers.map((p) => p.name).sort()).toEqual(["a", "b"]);
  return error;
}

describe("bad frames get an error and disturb nothing", () => {
  it.each([
    ["not json", "bad_json"],
    ["{", "bad_json"],
    ["", "bad_json"],
    ['{"type":"broadcast","data":1} trailing', "bad_json"],
    ["42", "bad_message"],
    ["null", "bad_message"],
    ['"broadcast"', "bad_message"],
    ["[1,2]", "bad_message"],
    ["{}", "bad_message"],
    ['{"type":"shout","data":1}', "bad_message"],
    ['{"type":"broadcast"}', "bad_message"],
    ['{"type":"direct","data":1}', "bad_message"],
    ['{"type":"direct","to":5,"data":1}', "bad_message"],
    ['{"type":"direct","to":null,"data":1}', "bad_message"],
    ['{"type":null,"data":1}', "bad_message"],
  ])("%s -> %s", async (frame, code) => {
    await expectError(frame, code);
  });

  it("a binary frame -> bad_message", async () => {
    await expectError(new Uint8Array([0x7b, 0x7d, 0xff, 0x00]).buffer, "bad_message");
  });

  it("a frame over MAX_MESSAGE_BYTES -> too_large, not relayed", async () => {
    const data = "x".repeat(65536);
    const error = await expectError(JSON.stringify({ type: "broadcast", data }), "too_large");
    expect(error.message).toContain("65536");
  });

  it("counts the limit in UTF-8 bytes, not characters", async () => {
    // 22,000 three-byte characters are 66,000 bytes but only 22,000 UTF-16 units.
    const frame = JSON.stringify({ type: "broadcast", data: "€".repeat(22000) });
    expect(frame.length).toBeLessThan(65536);
    await expectError(frame, "too_large");
  });

  it("relays a frame of exactly the limit", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    const envelope = JSON.stringify({ type: "broadcast", data: "" });
    const data = "y".repeat(65536 - envelope.length);
    a.client.send({ type: "broadcast", data });
    expect((await b.client.next("message")).data).toBe(data);
  });

  it("deep nesting is refused or relayed, never a crash", async () => {
    const depth = 30000;
    const frame = `{"type":"broadcast","data":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send(frame);
    a.client.send({ type: "broadcast", data: "after" });
    await b.client.until(
      () => b.client.all("message").some((m) => m.data === "after"),
      "the following message",
    );
    const errors = a.client.all("error");
    const relayed = b.client.all("message").length === 2;
    expect(relayed || errors[0]?.code === "bad_message").toBe(true);
  });

  it("relays __proto__ keys as plain data without polluting anything", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send('{"type":"broadcast","data":{"__proto__":{"polluted":true},"x":1}}');
    const got = await b.client.next("message");
    expect(JSON.stringify(got.data)).toBe('{"__proto__":{"polluted":true},"x":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("a __proto__ key in the frame itself cannot change its type", async () => {
    await expectError('{"__proto__":{"type":"broadcast"},"data":1}', "bad_message");
  });

  it("huge numbers are relayed as JSON can carry them", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send('{"type":"broadcast","data":[1e400,123456789012345678901234567890]}');
    const got = await b.client.next("message");
    expect(got.data).toEqual([null, 1.2345678901234568e29]);
  });

  it("invalid UTF-8 and random bytes never break the room", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let i = 0; i < 50; i++) {
      const bytes = Uint8Array.from({ length: 1 + (i % 40) }, random);
      a.client.ws.send(bytes.buffer);
      a.client.ws.send(new TextDecoder().decode(bytes));
    }
    a.client.send({ type: "broadcast", data: "survived" });
    await b.client.until(
      () => b.client.all("message").some((m) => m.data === "survived"),
      "the room to survive",
    );
    expect(a.client.all("error").length).toBeGreaterThanOrEqual(50);
    expect(a.client.closed).toBeUndefined();
  });
});
