/**
 * The multi-room client (`connectRooms`) against a fake hub socket: several
 * rooms over one socket, each with its own seq, acks, resume and fate.
 */
import { describe, expect, it, vi } from "vitest";
import { connectRooms, type Message, type RelayRooms, type RoomsOptions } from "../../client/index";
import type { HubServerFrame, WelcomeFrame } from "../../src/frames";
import { FakeSocket, onFakeSockets } from "./fake-socket";

type Written = {
  type: string;
  room?: string;
  id?: string;
  since?: number;
  epoch?: string;
  token?: string;
};

const open = onFakeSockets((options: RoomsOptions) =>
  connectRooms("https://relay.test/base", {
    WebSocket: FakeSocket,
    backoff: { minMs: 100, maxMs: 1_000 },
    ...options,
  }),
);

function start(options: RoomsOptions = {}): RelayRooms {
  return open(options);
}

const tick = () => vi.advanceTimersByTimeAsync(0);

/** Hub frames in one WebSocket frame, as on an ndjson socket. */
function deliver(socket: FakeSocket, ...frames: HubServerFrame[]): void {
  socket.receive(frames.map((frame) => JSON.stringify(frame)).join("\n"));
}

function welcome(socket: FakeSocket, room: string, fields: Partial<WelcomeFrame> = {}): void {
  deliver(socket, {
    type: "welcome",
    id: `${room}-session-${FakeSocket.made.length}`,
    room,
    peers: [],
    occupancy: 1,
    seq: 0,
    epoch: `${room}-epoch`,
    limits: { maxMessageBytes: 65_536, maxBatchFrames: 100 },
    ...fields,
  });
}

function message(room: string, seq: number, data: unknown = `${room}:${seq}`): HubServerFrame {
  return { type: "message", room, from: "someone", data, ts: 1, seq };
}

/** Every line the client wrote on `socket`, parsed. */
function written(socket: FakeSocket): Written[] {
  return socket.frames() as Written[];
}

const subscribes = (socket: FakeSocket) => written(socket).filter((f) => f.type === "subscribe");

/** Three rooms joined and welcomed on one open socket. */
async function threeRooms(options: RoomsOptions = {}) {
  const client = start(options);
  const rooms = ["a", "b", "c"].map((name) => client.room(name));
  await tick();
  const socket = FakeSocket.last;
  socket.open();
  await tick();
  const seen = new Map<string, Message[]>();
  for (const room of rooms) {
    seen.set(room.name, []);
    room.on("message", (m) => seen.get(room.name)?.push(m));
  }
  return { client, rooms, socket, seen };
}

describe("one socket, many rooms", () => {
  it("joins three rooms with one socket and one frame of subscribes", async () => {
    const { client, socket } = await threeRooms({ name: "ada" });
    expect(FakeSocket.made).toHaveLength(1);
    const url = new URL(socket.url);
    expect(url.origin + url.pathname).toBe("wss://relay.test/base/ws");
    expect(url.searchParams.get("client")).toBe(client.clientId);
    expect(url.searchParams.get("name")).toBe("ada");
    expect(socket.sent).toHaveLength(1);
    expect(subscribes(socket)).toEqual([
      { type: "subscribe", room: "a" },
      { type: "subscribe", room: "b" },
      { type: "subscribe", room: "c" },
    ]);
  });

  it("gives each room its own messages, in its own seq order", async () => {
    const { rooms, socket, seen } = await threeRooms();
    welcome(socket, "a", { seq: 10 });
    welcome(socket, "b", { seq: 0 });
    welcome(socket, "c", { seq: 5 });
    expect(rooms.map((room) => room.status.state)).toEqual(["connected", "connected", "connected"]);
    deliver(socket, message("a", 11), message("b", 1), message("c", 6), message("b", 2));
    // A seq room a has seen already is a repeat there, and news in room c.
    deliver(socket, message("a", 11), message("c", 7), message("a", 12));
    expect(seen.get("a")?.map((m) => m.data)).toEqual(["a:11", "a:12"]);
    expect(seen.get("b")?.map((m) => m.data)).toEqual(["b:1", "b:2"]);
    expect(seen.get("c")?.map((m) => m.data)).toEqual(["c:6", "c:7"]);
    expect(seen.get("a")?.[0]).not.toHaveProperty("room");
  });

  it("keeps peers and occupancy per room, live", async () => {
    const { rooms, socket } = await threeRooms();
    const [a, b] = rooms;
    welcome(socket, "a", { peers: [{ id: "p1", name: "bob" }], occupancy: 2 });
    welcome(socket, "b", { occupancy: 40 });
    deliver(socket, { type: "join", room: "b", peer: { id: "p2", name: "cy" } });
    deliver(socket, { type: "occupancy", room: "b", count: 41 });
    expect([...(a?.peers.keys() ?? [])]).toEqual(["p1"]);
    expect([...(b?.peers.keys() ?? [])]).toEqual(["p2"]);
    expect([a?.occupancy, b?.occupancy]).toEqual([2, 41]);
    // Between the relay's counts, joins and leaves keep it.
    deliver(socket, { type: "leave", room: "a", peer: { id: "p1", name: "bob" } });
    deliver(socket, { type: "join", room: "b", peer: { id: "p3", name: "di" } });
    expect([a?.occupancy, b?.occupancy]).toEqual([1, 42]);
  });

  it("acks per room: the same id in two rooms settles each with its own ack", async () => {
    const { rooms, socket } = await threeRooms();
    const [a, b] = rooms;
    welcome(socket, "a");
    welcome(socket, "b");
    const inA = a?.broadcast("x", { id: "same" });
    const inB = b?.broadcast("y", { id: "same" });
    await tick();
    const sends = written(socket).filter((f) => f.type === "broadcast");
    expect(sends.map((f) => [f.room, f.id])).toEqual([
      ["a", "same"],
      ["b", "same"],
    ]);
    let settledA = false;
    inA?.then(() => {
      settledA = true;
    });
    deliver(socket, { type: "ack", room: "b", id: "same", seq: 7 });
    await expect(inB).resolves.toEqual({ seq: 7 });
    expect(settledA).toBe(false);
    deliver(socket, { type: "ack", room: "a", id: "same", seq: 3 });
    await expect(inA).resolves.toEqual({ seq: 3 });
  });

  it("rejects a send refused in its room, and only there", async () => {
    const { rooms, socket } = await threeRooms();
    const [a, b] = rooms;
    welcome(socket, "a");
    welcome(socket, "b");
    const inA = a?.broadcast("x", { id: "1" });
    const inB = b?.broadcast("y", { id: "1" });
    await tick();
    deliver(socket, { type: "error", room: "a", code: "rate_limited", message: "slow", id: "1" });
    await expect(inA).rejects.toMatchObject({ code: "rate_limited", id: "1" });
    deliver(socket, { type: "ack", room: "b", id: "1", seq: 1 });
    await expect(inB).resolves.toEqual({ seq: 1 });
  });
});

describe("after a drop", () => {
  it("resubscribes every room with its own since and epoch, in one frame, and resends what was unacked", async () => {
    const { client, rooms, socket, seen } = await threeRooms();
    const [a] = rooms;
    welcome(socket, "a", { seq: 10 });
    welcome(socket, "b", { seq: 3 });
    welcome(socket, "c", { seq: 0, epoch: "c-old" });
    deliver(socket, message("a", 11), message("b", 4), message("c", 1));
    const pending = a?.broadcast("unacked", { id: "keep" });
    await tick();
    socket.drop(1006);
    expect(rooms.map((room) => room.status.state)).toEqual([
      "reconnecting",
      "reconnecting",
      "reconnecting",
    ]);
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    const again = FakeSocket.last;
    expect(again).not.toBe(socket);
    again.open();
    await tick();
    expect(again.sent).toHaveLength(1);
    expect(subscribes(again)).toEqual([
      { type: "subscribe", room: "a", since: 11, epoch: "a-epoch" },
      { type: "subscribe", room: "b", since: 4, epoch: "b-epoch" },
      { type: "subscribe", room: "c", since: 1, epoch: "c-old" },
    ]);
    // Room a resumes; room c's history is gone and it says so.
    const gaps: string[] = [];
    rooms[2]?.on("gap", ({ reason }) => gaps.push(reason));
    welcome(again, "a", { seq: 12, recovered: true });
    welcome(again, "c", { seq: 9, epoch: "c-new", recovered: false, reason: "epoch_changed" });
    deliver(again, message("a", 11), message("a", 12), message("c", 10));
    expect(gaps).toEqual(["epoch_changed"]);
    expect(seen.get("a")?.map((m) => m.data)).toEqual(["a:11", "a:12"]);
    expect(seen.get("c")?.map((m) => m.data)).toEqual(["c:1", "c:10"]);
    await tick();
    expect(written(again).filter((f) => f.type === "broadcast")).toMatchObject([
      { room: "a", id: "keep" },
    ]);
    deliver(again, { type: "ack", room: "a", id: "keep", seq: 13, duplicate: true });
    await expect(pending).resolves.toEqual({ seq: 13, duplicate: true });
    expect(rooms.map((room) => room.status.state)).toEqual([
      "connected",
      "reconnecting",
      "connected",
    ]);
  });
});

describe("tokens", () => {
  it("asks the token function once per room for each socket, and sends each room its own", async () => {
    const asked: string[] = [];
    const { client, socket } = await threeRooms({
      token: async (room) => {
        asked.push(room);
        return `token-for-${room}`;
      },
    });
    expect(asked).toEqual(["a", "b", "c"]);
    expect(socket.sent).toHaveLength(1);
    expect(subscribes(socket).map((f) => [f.room, f.token])).toEqual([
      ["a", "token-for-a"],
      ["b", "token-for-b"],
      ["c", "token-for-c"],
    ]);
    expect(new URL(socket.url).searchParams.has("token")).toBe(false);
    socket.drop(1006);
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    FakeSocket.last.open();
    await tick();
    expect(asked).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("refreshes one room's token in-band when that room's grant expires", async () => {
    const asked: string[] = [];
    const { rooms, socket } = await threeRooms({
      token: (room) => {
        asked.push(room);
        return `t${asked.length}`;
      },
    });
    welcome(socket, "a");
    welcome(socket, "b");
    deliver(socket, { type: "expiring", room: "b", at: Date.now() + 60_000 });
    await tick();
    expect(asked).toEqual(["a", "b", "c", "b"]);
    const refresh = written(socket).find((f) => f.type === "refresh");
    expect(refresh).toMatchObject({ room: "b", token: "t4" });
    expect(rooms[1]?.status.state).toBe("connected");
  });

  it("subscribes again at once with a fresh token after the room's grant expired (4001)", async () => {
    let n = 0;
    const { rooms, socket } = await threeRooms({ token: (room) => `${room}${++n}` });
    welcome(socket, "a", { seq: 2 });
    deliver(socket, { type: "unsubscribed", room: "a", code: 4001, reason: "expired" });
    await tick();
    expect(subscribes(socket).slice(3)).toEqual([
      { type: "subscribe", room: "a", token: "a4", since: 2, epoch: "a-epoch" },
    ]);
    expect(rooms[0]?.status.state).toBe("reconnecting");
  });
});

describe("a room the relay refuses or ends", () => {
  it("a subscribe refused for good ends that room and leaves the others alone", async () => {
    const { client, rooms, socket, seen } = await threeRooms();
    const [a, b] = rooms;
    const errors: string[] = [];
    b?.on("error", (error) => errors.push(error.code));
    deliver(socket, { type: "error", room: "b", code: "forbidden", message: "not yours" });
    expect(errors).toEqual(["forbidden"]);
    expect(b?.status).toMatchObject({
      state: "closed",
      ended: { cause: "refused", code: "forbidden", reason: "not yours" },
    });
    await expect(b?.broadcast("x")).rejects.toMatchObject({ code: "closed" });
    welcome(socket, "a");
    deliver(socket, message("a", 1));
    expect(seen.get("a")).toHaveLength(1);
    expect(a?.status.state).toBe("connected");
    expect(socket.closedWith).toBeUndefined();
    expect(client.rooms.map((room) => room.name)).toEqual(["a", "c"]);
    // Not asked for again after a reconnect, nor by room(): a new handle subscribes anew.
    socket.drop(1006);
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    FakeSocket.last.open();
    await tick();
    expect(subscribes(FakeSocket.last).map((f) => f.room)).toEqual(["a", "c"]);
  });

  it("a subscribe refused for now (room_full, rate_limited) is tried again with backoff, for that room only", async () => {
    const { rooms, socket } = await threeRooms();
    deliver(socket, { type: "error", room: "c", code: "room_full", message: "full" });
    const status = rooms[2]?.status;
    expect(status).toMatchObject({ state: "reconnecting", attempt: 0 });
    expect(subscribes(socket)).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(status?.retryInMs ?? 0);
    expect(subscribes(socket).slice(3)).toEqual([{ type: "subscribe", room: "c" }]);
    // A subscribe over the connection's rate budget is tried again too.
    deliver(socket, { type: "error", room: "c", code: "rate_limited", message: "slow down" });
    expect(rooms[2]?.status).toMatchObject({ state: "reconnecting", attempt: 1 });
    await vi.advanceTimersByTimeAsync(rooms[2]?.status.retryInMs ?? 0);
    expect(subscribes(socket).slice(4)).toEqual([{ type: "subscribe", room: "c" }]);
    welcome(socket, "c");
    expect(rooms[2]?.status.state).toBe("connected");
  });

  it("a room kicked (4410) ends and is not resubscribed; its socket and other rooms stay", async () => {
    const { client, rooms, socket } = await threeRooms();
    for (const name of ["a", "b", "c"]) welcome(socket, name);
    const ended: unknown[] = [];
    rooms[1]?.on("ended", (e) => ended.push(e));
    deliver(socket, { type: "unsubscribed", room: "b", code: 4410, reason: "banned" });
    expect(ended).toEqual([{ cause: "kicked", code: 4410, reason: "banned" }]);
    expect(rooms[1]?.status.state).toBe("closed");
    expect(rooms[0]?.status.state).toBe("connected");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(subscribes(socket)).toHaveLength(3);
    socket.drop(1012);
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    FakeSocket.last.open();
    await tick();
    expect(subscribes(FakeSocket.last).map((f) => f.room)).toEqual(["a", "c"]);
  });

  it("a room the relay restarted (1012) subscribes again with its since and epoch", async () => {
    const { rooms, socket } = await threeRooms();
    welcome(socket, "a", { seq: 4 });
    deliver(socket, { type: "unsubscribed", room: "a", code: 1012, reason: "restart" });
    const status = rooms[0]?.status;
    expect(status?.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(status?.retryInMs ?? 0);
    expect(subscribes(socket).slice(3)).toEqual([
      { type: "subscribe", room: "a", since: 4, epoch: "a-epoch" },
    ]);
  });
});

describe("leaving", () => {
  it("leave() unsubscribes one room; later frames of it are ignored, the others carry on", async () => {
    const { client, rooms, socket, seen } = await threeRooms();
    const [a, b] = rooms;
    welcome(socket, "a");
    welcome(socket, "b");
    const pending = a?.broadcast("never acked");
    a?.leave();
    await expect(pending).rejects.toMatchObject({ code: "closed" });
    await tick();
    expect(written(socket).filter((f) => f.type === "unsubscribe")).toEqual([
      { type: "unsubscribe", room: "a" },
    ]);
    deliver(socket, message("a", 1), message("b", 1));
    deliver(socket, { type: "unsubscribed", room: "a", code: 1000, reason: "unsubscribed" });
    expect(seen.get("a")).toEqual([]);
    expect(seen.get("b")).toHaveLength(1);
    expect(b?.status.state).toBe("connected");
    // Joining again is a new handle and a new subscribe.
    const again = client.room("a");
    expect(again).not.toBe(a);
    await tick();
    expect(subscribes(socket).slice(3)).toEqual([{ type: "subscribe", room: "a" }]);
  });

  it("close() closes every room and the socket", async () => {
    const { client, rooms, socket } = await threeRooms();
    welcome(socket, "a");
    const pending = rooms[0]?.broadcast("x");
    client.close();
    await expect(pending).rejects.toMatchObject({ code: "closed" });
    expect(rooms.map((room) => room.status.state)).toEqual(["closed", "closed", "closed"]);
    expect(socket.closedWith?.code).toBe(1000);
    expect(client.room("d").status.state).toBe("closed");
  });
});
