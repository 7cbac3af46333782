import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshRoom, join } from "./client";

/** MAX_MESSAGE_BYTES as documented (README, docs/protocol.md). */
const LIMIT = 65536;

/** A broadcast frame of exactly `bytes` UTF-8 bytes, its data made of `char`. */
function broadcastOfBytes(bytes: number, char: string): string {
  const size = (text: string) => new TextEncoder().encode(text).length;
  const envelope = size(JSON.stringify({ type: "broadcast", data: "" }));
  const room = bytes - envelope;
  const data = char.repeat(Math.floor(room / size(char))) + "x".repeat(room % size(char));
  const frame = JSON.stringify({ type: "broadcast", data });
  if (size(frame) !== bytes) throw new Error(`built ${size(frame)} bytes, not ${bytes}`);
  return frame;
}

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

  it("a frame one byte over MAX_MESSAGE_BYTES -> too_large, not relayed", async () => {
    const error = await expectError(broadcastOfBytes(LIMIT + 1, "x"), "too_large");
    expect(error.message).toContain("65536");
  });

  it("relays a frame of exactly MAX_MESSAGE_BYTES", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    const frame = broadcastOfBytes(LIMIT, "y");
    a.client.send(frame);
    expect((await b.client.next("message")).data).toBe(JSON.parse(frame).data);
  });

  it.each([
    ["é", 2],
    ["€", 3],
    ["😀", 4],
  ])("counts %s as %i UTF-8 bytes against the limit", async (char) => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    // Fewer UTF-16 units than the limit, yet exactly the limit in bytes.
    const exact = broadcastOfBytes(LIMIT, char);
    expect(exact.length).toBeLessThan(LIMIT);
    a.client.send(exact);
    expect((await b.client.next("message")).data).toBe(JSON.parse(exact).data);
    await expectError(broadcastOfBytes(LIMIT + 1, char), "too_large");
  });

  it("names the id of a frame refused as too_large", async () => {
    const a = await join(freshRoom());
    a.client.send({ type: "broadcast", id: "big-1", data: "x".repeat(LIMIT) });
    expect(await a.client.next("error")).toMatchObject({ code: "too_large", id: "big-1" });
  });

  it("relays data nested as deeply as the limit allows, unchanged", async () => {
    // 32,000 levels: the deepest array that fits in 65,536 bytes.
    const depth = 32_000;
    const data = `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send(`{"type":"broadcast","id":"deep","data":${data}}`);
    expect(await a.client.next("ack")).toEqual({ type: "ack", id: "deep", seq: 1 });
    await b.client.next("message");
    const raw = b.client.raw.find((text) => text.includes("[[["));
    expect(raw?.includes(`"data":${data}`)).toBe(true);
  });

  it("ignores unknown fields and relays only data", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send({ type: "broadcast", data: 1, from: "forged", seq: 99, extra: true });
    expect(await b.client.next("message")).toEqual({
      type: "message",
      from: a.welcome.id,
      data: 1,
      ts: expect.any(Number),
      seq: 1,
    });
  });

  it("relays __proto__ keys as plain data without polluting the room", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send('{"type":"broadcast","data":{"__proto__":{"polluted":true},"x":1}}');
    const got = await b.client.next("message");
    expect(JSON.stringify(got.data)).toBe('{"__proto__":{"polluted":true},"x":1}');
    expect(Object.hasOwn(got.data as object, "__proto__")).toBe(true);
    // The room shares this isolate: its Object.prototype is the one checked here.
    const polluted = await runInDurableObject(env.ROOMS.getByName(room), () =>
      Object.hasOwn(Object.prototype, "polluted"),
    );
    expect(polluted).toBe(false);
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
