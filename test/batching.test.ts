/**
 * The `edge-relay.ndjson` subprotocol: negotiated per socket, a turn's frames
 * coalesced into one WebSocket frame per receiver, and inbound batches
 * answered line by line as if each line had come alone.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NDJSON_PROTOCOL, type ServerFrame } from "../src/protocol";
import { freshRoom, join, type TestClient, upgrade } from "./client";

const BATCH = { "Sec-WebSocket-Protocol": NDJSON_PROTOCOL };
/** Documented caps of one coalesced frame (docs/protocol.md). */
const MAX_FRAMES = 100;
const MAX_BYTES = 65536;
const MAX_MESSAGE_BYTES = 65536;

const joinBatched = (room: string, name: string, query: Record<string, string | number> = {}) =>
  join(room, name, query, BATCH);

const lines = (...frames: unknown[]) =>
  frames.map((f) => (typeof f === "string" ? f : JSON.stringify(f))).join("\n");

/** The raw frames received after the first `skip`, each split into its lines. */
const framesAfter = (client: TestClient, skip: number) =>
  client.raw.slice(skip).map((text) => text.split("\n").map((line) => JSON.parse(line)));

describe("negotiating edge-relay.ndjson", () => {
  it("echoes the subprotocol to a client that offers it, among others", async () => {
    const room = freshRoom();
    const response = await upgrade(`/rooms/${room}/ws`, {
      "Sec-WebSocket-Protocol": `chat.v2, ${NDJSON_PROTOCOL}`,
    });
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe(NDJSON_PROTOCOL);
    response.webSocket?.accept();
    response.webSocket?.close();
  });

  it("names no subprotocol for a plain client, and says it takes one frame at a time", async () => {
    const room = freshRoom();
    const response = await upgrade(`/rooms/${room}/ws`);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBeNull();
    response.webSocket?.accept();
    response.webSocket?.close();
    const plain = await join(room, "plain");
    const batched = await joinBatched(room, "batched");
    expect(plain.welcome.limits).toEqual({ maxMessageBytes: MAX_MESSAGE_BYTES, maxBatchFrames: 1 });
    expect(batched.welcome.limits).toEqual({
      maxMessageBytes: MAX_MESSAGE_BYTES,
      maxBatchFrames: MAX_FRAMES,
    });
  });
});

describe("coalesced frames out", () => {
  it("sends a receiver everything due in one turn as one frame, in order", async () => {
    const room = freshRoom();
    const ada = await joinBatched(room, "ada");
    const bob = await joinBatched(room, "bob");
    await ada.client.next("join");
    const seen = bob.client.raw.length;

    const sent = [1, 2, 3, 4, 5].map((n) => ({ type: "broadcast", data: n, id: `m${n}` }));
    ada.client.send(lines(...sent));
    await bob.client.until(() => bob.client.all("message").length === 5, "five messages");
    await ada.client.until(() => ada.client.all("ack").length === 5, "five acks");

    // Exactly the five messages, in seq order, in one frame; nothing else.
    expect(framesAfter(bob.client, seen)).toEqual([
      [1, 2, 3, 4, 5].map((n) =>
        expect.objectContaining({ type: "message", from: ada.welcome.id, data: n, seq: n }),
      ),
    ]);
    // The sender's five acks also travel as one frame.
    const acks = ada.client.raw.filter((text) => text.includes('"ack"'));
    expect(acks).toHaveLength(1);
    expect(acks[0]?.split("\n").map((line) => JSON.parse(line).id)).toEqual(sent.map((f) => f.id));
  });

  it("keeps every coalesced frame within 100 frames and 65536 bytes", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    // 150 small and 20 large broadcasts, then a resume that replays them all at once.
    const small = Array.from({ length: 150 }, (_, n) =>
      stub.publish({ type: "broadcast", data: n }),
    );
    await Promise.all(small);
    const big = "x".repeat(10_000);
    for (let n = 0; n < 20; n++) await stub.publish({ type: "broadcast", data: big });
    const { welcome } = await join(room, "first");

    const late = await joinBatched(room, "late", { since: 0, epoch: welcome.epoch });
    await late.client.until(() => late.client.all("message").length === 170, "the replay");

    const frames = late.client.raw.slice(1);
    for (const text of frames) {
      expect(text.split("\n").length).toBeLessThanOrEqual(MAX_FRAMES);
      expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(MAX_BYTES);
    }
    // Fewer frames than messages, and nothing lost or reordered by the split.
    expect(frames.length).toBeLessThan(170 / 2);
    expect(late.client.all("message").map((m) => m.seq)).toEqual(
      Array.from({ length: 170 }, (_, n) => n + 1),
    );
  });

  it("gives a plain client and a batching client the same messages in the same order", async () => {
    const room = freshRoom();
    const plain = await join(room, "plain");
    const batched = await joinBatched(room, "batched");
    const ada = await join(room, "ada");
    const bob = await joinBatched(room, "bob");
    await plain.client.until(() => plain.client.all("join").length === 3, "three joins");

    for (let round = 0; round < 5; round++) {
      ada.client.send({ type: "broadcast", data: `ada-${round}` });
      bob.client.send(
        lines(
          { type: "broadcast", data: `bob-${round}a` },
          { type: "broadcast", data: `bob-${round}b` },
        ),
      );
      await env.ROOMS.getByName(room).publish({ type: "broadcast", data: `server-${round}` });
    }
    const expected = 20;
    for (const { client } of [plain, batched]) {
      await client.until(() => client.all("message").length === expected, "every message");
    }
    const view = (client: TestClient) =>
      client.all("message").map(({ from, data, seq }) => ({ from, data, seq }));
    expect(view(batched.client)).toEqual(view(plain.client));
    expect(view(plain.client).map((m) => m.seq)).toEqual(
      Array.from({ length: expected }, (_, n) => n + 1),
    );
    // A plain client still gets one JSON object per frame.
    expect(plain.client.raw.every((text) => !text.includes("\n"))).toBe(true);
  });

  it("keeps batching after the room was evicted", async () => {
    const room = freshRoom();
    const ada = await joinBatched(room, "ada");
    const bob = await joinBatched(room, "bob");
    await ada.client.next("join");
    await evictDurableObject(env.ROOMS.getByName(room));
    const seen = bob.client.raw.length;
    ada.client.send(lines({ type: "broadcast", data: 1 }, { type: "broadcast", data: 2 }));
    await bob.client.until(() => bob.client.all("message").length === 2, "two messages");
    expect(framesAfter(bob.client, seen)).toHaveLength(1);
  });
});

describe("batched frames in", () => {
  it("answers each line as if it had come alone: good, bad, duplicate and unknown", async () => {
    const room = freshRoom();
    const ada = await joinBatched(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");

    ada.client.send(
      lines(
        { type: "broadcast", data: "one", id: "a" },
        "{not json",
        { type: "broadcast", id: "b" },
        { type: "broadcast", data: "one again", id: "a" },
        { type: "direct", to: "nobody", data: 0, id: "c" },
        "",
        { type: "broadcast", data: "two", id: "d" },
      ),
    );
    await ada.client.until(() => answers(ada.client).length === 6, "six answers");
    expect(answers(ada.client)).toEqual([
      { type: "ack", id: "a", seq: 1 },
      expect.objectContaining({ type: "error", code: "bad_json" }),
      expect.objectContaining({ type: "error", code: "bad_message", id: "b" }),
      { type: "ack", id: "a", seq: 1, duplicate: true },
      expect.objectContaining({ type: "error", code: "unknown_recipient", id: "c" }),
      { type: "ack", id: "d", seq: 2 },
    ]);
    expect(answers(ada.client)[1]).not.toHaveProperty("id");

    // The duplicate was not relayed again; bob sees each message once.
    await bob.client.until(() => bob.client.all("message").length === 2, "two messages");
    ada.client.send({ type: "broadcast", data: "marker", id: "z" });
    await bob.client.next("message", (m) => m.data === "marker");
    expect(bob.client.all("message").map((m) => m.data)).toEqual(["one", "two", "marker"]);
  });

  it("spends one rate-limit token per line and refuses lines past the 100th, each by id", async () => {
    const room = freshRoom();
    const ada = await joinBatched(room, "ada");
    // 105 lines: the burst of 40 passes, 60 are over the rate, 5 are past the count cap.
    const batch = Array.from({ length: 105 }, (_, n) => ({
      type: "broadcast",
      data: n,
      id: `m${n}`,
    }));
    ada.client.send(lines(...batch));
    await ada.client.until(() => answers(ada.client).length === 105, "105 answers");
    const got = answers(ada.client);
    expect(got.map((f) => ("id" in f ? f.id : undefined))).toEqual(batch.map((f) => f.id));
    expect(got.slice(0, 40).every((f) => f.type === "ack")).toBe(true);
    expect(got.slice(40, 100).every((f) => f.type === "error" && f.code === "rate_limited")).toBe(
      true,
    );
    expect(got.slice(100).every((f) => f.type === "error" && f.code === "too_large")).toBe(true);
  });

  it("measures MAX_MESSAGE_BYTES on the whole frame and relays none of an oversized one", async () => {
    const room = freshRoom();
    const ada = await joinBatched(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");
    const half = "x".repeat(MAX_MESSAGE_BYTES / 2);
    // Each line alone would pass; together they are over the limit.
    ada.client.send(
      lines({ type: "broadcast", data: half, id: "p" }, { type: "broadcast", data: half, id: "q" }),
    );
    await ada.client.until(() => answers(ada.client).length === 2, "two answers");
    expect(answers(ada.client)).toEqual([
      expect.objectContaining({ type: "error", code: "too_large", id: "p" }),
      expect.objectContaining({ type: "error", code: "too_large", id: "q" }),
    ]);
    ada.client.send({ type: "broadcast", data: "small", id: "r" });
    await bob.client.next("message");
    expect(bob.client.all("message").map((m) => m.data)).toEqual(["small"]);
  });

  it("reads a newline inside a plain client's frame as part of its JSON", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    ada.client.send('{\n  "type": "broadcast",\n  "data": 1,\n  "id": "pretty"\n}');
    expect(await ada.client.next("ack")).toEqual({ type: "ack", id: "pretty", seq: 1 });
  });
});

describe("closing during a resume", () => {
  it("leaves the room and its presence intact when a session goes mid-replay", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    for (let chunk = 0; chunk < 10; chunk++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, n) =>
          stub.publish({ type: "broadcast", data: chunk * 100 + n }),
        ),
      );
    }
    const stay = await joinBatched(room, "stay");
    const { epoch } = stay.welcome;
    for (const headers of [{}, BATCH]) {
      const gone = await join(room, "gone", { since: 0, epoch }, headers);
      gone.client.close(1000);
      await stay.client.next("leave", (f) => f.peer.id === gone.welcome.id);
    }
    // Each left once, and the room still routes and resumes.
    expect(stay.client.all("leave")).toHaveLength(2);
    const next = await join(room, "next", { since: 990, epoch });
    await next.client.until(() => next.client.all("message").length === 10, "the last ten");
    stay.client.send({ type: "broadcast", data: "still here", id: "s" });
    expect(await stay.client.next("ack")).toMatchObject({ seq: 1001 });
    expect((await next.client.next("message", (m) => m.seq === 1001)).data).toBe("still here");
    expect((await stub.describe()).connections).toBe(2);
  });
});

/** Acks and errors, in arrival order. */
function answers(client: TestClient): ServerFrame[] {
  return client.frames.filter((f) => f.type === "ack" || f.type === "error");
}
