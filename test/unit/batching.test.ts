/**
 * The `edge-relay.ndjson` subprotocol on the client's side: what it offers,
 * how it packs a tick's sends within the welcome's limits, how it reads
 * coalesced frames, and how it falls back to one frame per message.
 */
import { describe, expect, it, vi } from "vitest";
import { pack } from "../../client/batch";
import type { ConnectOptions, RelayClient } from "../../client/index";
import { NDJSON_PROTOCOL } from "../../src/frames";
import { FakeSocket, fakeClients } from "./fake-socket";

const connectClient = fakeClients("http://relay.test", {
  heartbeatIntervalMs: 60_000,
  backoff: { minMs: 10, maxMs: 10 },
});

/** A client whose first open has run. */
async function start(options: Partial<ConnectOptions> = {}): Promise<RelayClient> {
  const client = connectClient(options);
  await vi.advanceTimersByTimeAsync(0);
  return client;
}

/** Sends without caring about the outcome; close() in afterEach rejects what is left. */
function fire(client: RelayClient, ...texts: string[]): void {
  for (const text of texts) client.broadcast(text).catch(() => {});
}

const texts = (items: { text: string }[][]) => items.map((group) => group.map((i) => i.text));
const items = (...list: string[]) => list.map((text) => ({ text }));

describe("pack", () => {
  it("fills each frame up to maxFrames lines", () => {
    const packed = pack(items("a", "b", "c", "d", "e"), { maxFrames: 2, maxBytes: 1_000 });
    expect(texts(packed)).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  });

  it("counts UTF-8 bytes and the newlines between lines against maxBytes, exactly", () => {
    // "é" is 2 bytes: "éé" + "\n" + "éé" is 9 bytes.
    expect(texts(pack(items("éé", "éé"), { maxFrames: 10, maxBytes: 9 }))).toEqual([["éé", "éé"]]);
    expect(texts(pack(items("éé", "éé"), { maxFrames: 10, maxBytes: 8 }))).toEqual([
      ["éé"],
      ["éé"],
    ]);
  });

  it("sends a frame larger than maxBytes alone, between its neighbours", () => {
    const big = "x".repeat(20);
    const packed = pack(items("a", big, "b", "c"), { maxFrames: 10, maxBytes: 10 });
    expect(texts(packed)).toEqual([["a"], [big], ["b", "c"]]);
  });

  it("keeps the order of its input", () => {
    const list = Array.from({ length: 250 }, (_, i) => String(i));
    const packed = pack(items(...list), { maxFrames: 100, maxBytes: 65_536 });
    expect(texts(packed).flat()).toEqual(list);
    expect(packed.map((group) => group.length)).toEqual([100, 100, 50]);
  });
});

describe("the client on an ndjson socket", () => {
  it("offers the subprotocol by default", async () => {
    await start();
    expect(FakeSocket.last.protocols).toEqual([NDJSON_PROTOCOL]);
  });

  it("packs what the application sends in one tick into one frame, in order", async () => {
    const client = await start();
    FakeSocket.last.welcome();
    fire(client, "a", "b", "c");
    expect(FakeSocket.last.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.last.sent).toHaveLength(1);
    expect(FakeSocket.last.frames().map((f) => f.data)).toEqual(["a", "b", "c"]);
    fire(client, "d");
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.last.sent).toHaveLength(2);
  });

  it("stays within the welcome's maxBatchFrames and maxMessageBytes", async () => {
    const client = await start();
    FakeSocket.last.welcome({ limits: { maxBatchFrames: 2, maxMessageBytes: 65_536 } });
    fire(client, "a", "b", "c", "d", "e");
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.last.sent.map((text) => text.split("\n").length)).toEqual([2, 2, 1]);

    const bytes = await start();
    const socket = FakeSocket.last;
    socket.welcome({ limits: { maxBatchFrames: 100, maxMessageBytes: 200 } });
    fire(bytes, ...Array.from({ length: 10 }, (_, i) => `message ${i}`));
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.sent.length).toBeGreaterThan(1);
    for (const text of socket.sent)
      expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(200);
    expect(socket.frames().map((f) => f.data)).toEqual(
      Array.from({ length: 10 }, (_, i) => `message ${i}`),
    );
  });

  it("refuses a frame over maxMessageBytes itself, with too_large, and sends its neighbours", async () => {
    const client = await start();
    const socket = FakeSocket.last;
    socket.welcome({ limits: { maxBatchFrames: 100, maxMessageBytes: 200 } });
    fire(client, "before");
    const big = client.broadcast("x".repeat(200));
    fire(client, "after");
    await expect(big).rejects.toMatchObject({ code: "too_large" });
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.frames().map((f) => f.data)).toEqual(["before", "after"]);
  });

  it("resends after a reconnect in batches, never beyond the new welcome's limits", async () => {
    const client = await start();
    FakeSocket.last.welcome();
    FakeSocket.last.drop();
    fire(client, "a", "b", "c", "d", "e");
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.last.welcome({ limits: { maxBatchFrames: 2, maxMessageBytes: 65_536 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.last.sent.map((text) => text.split("\n").length)).toEqual([2, 2, 1]);
    expect(FakeSocket.last.frames().map((f) => f.data)).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("reads every frame of a coalesced WebSocket frame, in order", async () => {
    const client = await start();
    const seen: unknown[] = [];
    client.on("message", (message) => seen.push(message.data));
    FakeSocket.last.welcome();
    FakeSocket.last.deliver(
      { type: "join", peer: { id: "p", name: "bob" } },
      { type: "message", from: "p", data: "one", ts: 1, seq: 1 },
      { type: "message", from: "p", data: "two", ts: 2, seq: 2 },
    );
    expect(seen).toEqual(["one", "two"]);
    expect(client.peers.has("p")).toBe(true);
  });

  it("skips lines it cannot read or does not know, and reads the rest of the frame", async () => {
    const client = await start();
    const seen: unknown[] = [];
    client.on("message", (message) => seen.push(message.data));
    FakeSocket.last.welcome();
    const message = (data: string, seq: number) =>
      JSON.stringify({ type: "message", from: "p", data, ts: 1, seq });
    FakeSocket.last.receive(
      [
        message("one", 1),
        "not json",
        '{"type":"from-a-newer-relay"}',
        "[]",
        message("two", 2),
      ].join("\n"),
    );
    expect(seen).toEqual(["one", "two"]);
  });

  it("sends ping alone, never inside a batch", async () => {
    const client = await start({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 60_000 });
    FakeSocket.last.welcome();
    await vi.advanceTimersByTimeAsync(999);
    fire(client, "a");
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.last.sent).toContain("ping");
    for (const text of FakeSocket.last.sent)
      expect(text === "ping" || !text.includes("ping")).toBe(true);
  });
});

describe("a relay without the subprotocol", () => {
  it("sends one frame per message when the relay did not echo the subprotocol", async () => {
    const client = await start();
    FakeSocket.last.welcome({ limits: { maxBatchFrames: 100, maxMessageBytes: 65_536 } }, "");
    fire(client, "a", "b");
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.last.sent.map((text) => JSON.parse(text).data)).toEqual(["a", "b"]);
  });

  it("sends one frame per message to a relay whose welcome has no limits", async () => {
    const client = await start();
    const socket = FakeSocket.last;
    socket.open();
    socket.receive(
      JSON.stringify({ type: "welcome", id: "s", room: "r", peers: [], seq: 0, epoch: "e" }),
    );
    fire(client, "a", "b");
    await vi.advanceTimersByTimeAsync(0);
    expect(socket.sent).toHaveLength(2);
  });

  it("never offers it with batch: false", async () => {
    await start({ batch: false });
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.last.welcome();
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(10);
    expect(FakeSocket.made.map((s) => s.protocols)).toEqual([[], [], []]);
  });

  it("retries without it after a handshake that offered it failed, and keeps to plain once that worked", async () => {
    await start();
    FakeSocket.last.fail(); // the handshake failed: an old relay that did not echo the subprotocol
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.last.welcome();
    FakeSocket.last.drop(); // a later, ordinary disconnect
    await vi.advanceTimersByTimeAsync(10);
    expect(FakeSocket.made.map((s) => s.protocols)).toEqual([[NDJSON_PROTOCOL], [], []]);
  });

  it("offers it again when the plain attempt failed too: the relay was only unreachable", async () => {
    await start();
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(10);
    FakeSocket.last.welcome();
    expect(FakeSocket.made.map((s) => s.protocols)).toEqual([
      [NDJSON_PROTOCOL],
      [],
      [NDJSON_PROTOCOL],
    ]);
    expect(FakeSocket.last.protocol).toBe(NDJSON_PROTOCOL);
  });

  it("keeps offering it after a connection that opened and later dropped", async () => {
    await start();
    FakeSocket.last.welcome();
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(10);
    expect(FakeSocket.made.map((s) => s.protocols)).toEqual([[NDJSON_PROTOCOL], [NDJSON_PROTOCOL]]);
  });
});
