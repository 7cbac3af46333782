/**
 * Sends and their acks over a fake socket whose relay drops, duplicates and
 * reorders acks: every promise settles by its own id, exactly once, and what
 * was not acked goes again with the same id after a reconnect.
 */
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { type Ack, connect, type RelayClient } from "../../client/index";
import { FakeSocket } from "./fake-socket";

let client: RelayClient;

beforeEach(async () => {
  vi.useFakeTimers();
  FakeSocket.made = [];
  client = connect("http://relay.test", {
    room: "r",
    WebSocket: FakeSocket,
    ackTimeoutMs: 1_000,
    heartbeatIntervalMs: 60_000,
    backoff: { minMs: 10, maxMs: 10 },
  });
  await vi.advanceTimersByTimeAsync(0);
  FakeSocket.last.welcome();
});

afterEach(() => {
  client.close();
  vi.useRealTimers();
});

function ack(socket: FakeSocket, id: string, seq: number, duplicate = false): void {
  socket.deliver(duplicate ? { type: "ack", id, seq, duplicate: true } : { type: "ack", id, seq });
}

it("settles each send by its own ack when acks come reordered and duplicated", async () => {
  const sends = ["a", "b", "c"].map((text) => client.broadcast(text));
  await vi.advanceTimersByTimeAsync(0);
  const socket = FakeSocket.last;
  const [a, b, c] = socket.frames().map((frame) => frame.id);
  ack(socket, c ?? "", 3);
  ack(socket, a ?? "", 1);
  ack(socket, a ?? "", 1, true);
  ack(socket, b ?? "", 2);
  expect(await Promise.all(sends)).toEqual<Ack[]>([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
});

it("rejects a send whose ack was dropped with timeout, and leaves the others alone", async () => {
  const lost = client.broadcast("lost");
  const kept = client.broadcast("kept");
  const lostResult = lost.catch((error: unknown) => error);
  await vi.advanceTimersByTimeAsync(0);
  const socket = FakeSocket.last;
  ack(socket, socket.frames()[1]?.id ?? "", 1);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(await kept).toEqual({ seq: 1 });
  expect(await lostResult).toMatchObject({ code: "timeout" });
});

it("resends only what was not acked, with the same ids, after the socket drops", async () => {
  const sends = ["a", "b", "c"].map((text) => client.broadcast(text));
  await vi.advanceTimersByTimeAsync(0);
  const first = FakeSocket.last;
  const ids = first.frames().map((frame) => frame.id);
  ack(first, ids[1] ?? "", 2);
  first.drop();
  await vi.advanceTimersByTimeAsync(10);
  const second = FakeSocket.last;
  expect(second).not.toBe(first);
  second.welcome({ recovered: true, seq: 2 });
  await vi.advanceTimersByTimeAsync(0);
  expect(second.frames().map((frame) => frame.id)).toEqual([ids[0], ids[2]]);
  // The first copies did arrive: the relay answers with their original seq as duplicates.
  ack(second, ids[2] ?? "", 3, true);
  ack(second, ids[0] ?? "", 1, true);
  expect(await Promise.all(sends)).toEqual([
    { seq: 1, duplicate: true },
    { seq: 2 },
    { seq: 3, duplicate: true },
  ]);
});

it("does not count the ack deadline while offline, and sends queued frames after the welcome", async () => {
  FakeSocket.last.drop();
  const queued = client.broadcast("queued");
  await vi.advanceTimersByTimeAsync(5_000);
  const socket = FakeSocket.last;
  socket.welcome();
  await vi.advanceTimersByTimeAsync(0);
  expect(socket.frames().map((frame) => frame.data)).toEqual(["queued"]);
  ack(socket, socket.frames()[0]?.id ?? "", 1);
  expect(await queued).toEqual({ seq: 1 });
});

it("writes a frame once when a listener sends during the welcome", async () => {
  FakeSocket.last.drop();
  const early = client.broadcast("early");
  const off = client.on("welcome", () => {
    client.broadcast("from the listener").catch(() => {});
  });
  await vi.advanceTimersByTimeAsync(10);
  FakeSocket.last.welcome();
  await vi.advanceTimersByTimeAsync(0);
  off();
  expect(FakeSocket.last.frames().map((frame) => frame.data)).toEqual([
    "early",
    "from the listener",
  ]);
  early.catch(() => {});
});

it("rejects a refused send with the relay's code and id, and reports unowned errors as events", async () => {
  const errors: unknown[] = [];
  client.on("error", (error) => errors.push(error));
  const refused = client.direct("nobody", "hi");
  await vi.advanceTimersByTimeAsync(0);
  const socket = FakeSocket.last;
  const id = socket.frames()[0]?.id ?? "";
  socket.deliver({ type: "error", code: "unknown_recipient", message: "no such peer", id });
  await expect(refused).rejects.toMatchObject({ code: "unknown_recipient", id });
  socket.deliver({ type: "error", code: "bad_json", message: "frame is not valid JSON" });
  expect(errors).toMatchObject([{ code: "bad_json" }]);
});
