import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../src/config";
import { RoomLog } from "../src/history";
import { freshRoom, join, SHARDED } from "./client";

const TOKEN = "test-admin-token";

function call(path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return exports.default.fetch(`http://relay.test${path}`, { ...rest, headers });
}

const publish = (room: string, body: unknown, token?: string | null) =>
  call(`/rooms/${room}/messages`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    token,
  });

async function errorCode(response: Response) {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe("server API authentication", () => {
  const routes = [
    ["POST /rooms/:room/messages", (token?: string | null) => publish("r", { data: 1 }, token)],
    ["GET /rooms/:room", (token?: string | null) => call("/rooms/r", { token })],
    ["GET /rooms/:room/history", (token?: string | null) => call("/rooms/r/history", { token })],
  ] as const;

  it.each(routes)("%s answers 401 without a token", async (_route, send) => {
    const response = await send(null);
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe("unauthorized");
  });

  it.each(routes)("%s answers 401 with a wrong token", async (_route, send) => {
    for (const wrong of ["nope", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const response = await send(wrong);
      expect(response.status).toBe(401);
    }
    const basic = await call("/rooms/r", { token: null, headers: { authorization: TOKEN } });
    expect(basic.status).toBe(401);
  });

  it.each(routes)("%s answers 200 with the right token", async (_route, send) => {
    expect((await send(TOKEN)).status).toBe(200);
  });

  it("checks the token before the room name, and the room name before the body", async () => {
    expect((await call("/rooms/bad%2Froom", { token: null })).status).toBe(401);
    const response = await call("/rooms/bad%2Froom");
    expect(response.status).toBe(400);
    expect(await errorCode(response)).toBe("bad_room");
    const body = await publish("bad%2Froom", "not json");
    expect(await errorCode(body)).toBe("bad_room");
  });
});

describe("POST /rooms/:room/messages", () => {
  it("relays data nested 20,000 deep within the size limit, as a socket would, not a 500", async () => {
    // Deeper than RPC's structured clone can carry (about 4,000 levels).
    const depth = 20_000;
    const room = freshRoom();
    const a = await join(room);
    const response = await publish(room, `{"data":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ seq: 1 });
    expect(JSON.stringify((await a.client.next("message")).data).length).toBe(2 * depth);
  });

  it("broadcasts as the server with the next seq", async () => {
    const room = freshRoom();
    const a = await join(room);
    const response = await publish(room, { data: { note: "deploy at 5" } });
    expect(await response.json()).toEqual({ seq: 1 });
    expect(await a.client.next("message")).toEqual({
      type: "message",
      from: "server",
      data: { note: "deploy at 5" },
      ts: expect.any(Number),
      seq: 1,
    });
  });

  it("sends a direct message to one session", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    const response = await publish(room, { data: "just you", to: b.welcome.id });
    expect(await response.json()).toEqual({ delivered: true });
    expect(await b.client.next("message")).toMatchObject({ from: "server", to: b.welcome.id });
    expect(a.client.all("message")).toEqual([]);
  });

  it("deduplicates ids in a scope of its own", async () => {
    const room = freshRoom();
    const a = await join(room);
    expect(await (await publish(room, { data: 1, id: "job-7" })).json()).toEqual({ seq: 1 });
    expect(await (await publish(room, { data: 1, id: "job-7" })).json()).toEqual({
      seq: 1,
      duplicate: true,
    });
    // A client's id "job-7" is another message.
    a.client.send({ type: "broadcast", data: 2, id: "job-7" });
    expect(await a.client.next("ack")).toEqual({ type: "ack", id: "job-7", seq: 2 });
  });

  it.each([
    ["not json", "bad_json", 400],
    ["[1]", "bad_message", 400],
    ['{"to":"x"}', "bad_message", 400],
    ['{"data":1,"to":5}', "bad_message", 400],
    ['{"data":1,"id":""}', "bad_message", 400],
    ['{"data":1,"to":"nobody"}', "unknown_recipient", 404],
  ])("answers %s with %s", async (body, code, status) => {
    const response = await publish(freshRoom(), body);
    expect(response.status).toBe(status);
    expect(await errorCode(response)).toBe(code);
  });

  it("relays a frame of exactly MAX_MESSAGE_BYTES and refuses one byte more", async () => {
    const room = freshRoom();
    const a = await join(room);
    // The relayed frame: {"type":"message","from":"server","data":"...","ts":<13 digits>,"seq":1}
    const envelope = JSON.stringify({
      type: "message",
      from: "server",
      data: "",
      ts: Date.now(),
      seq: 1,
    });
    const fits = "x".repeat(65_536 - envelope.length);
    expect((await publish(room, { data: fits })).status).toBe(200);
    const response = await publish(room, { data: `${fits}x` });
    expect(response.status).toBe(413);
    expect(await errorCode(response)).toBe("too_large");
    expect((await a.client.next("message")).data).toBe(fits);
  });

  it("measures the relayed frame against MAX_MESSAGE_BYTES (413 too_large)", async () => {
    const room = freshRoom();
    const a = await join(room);
    const fits = await publish(room, { data: "x".repeat(65_000) });
    expect(fits.status).toBe(200);
    // The body is under 65,536 bytes, but the relayed frame with its envelope is not.
    const data = "x".repeat(65_500);
    expect(JSON.stringify({ data }).length).toBeLessThan(65_536);
    const response = await publish(room, { data });
    expect(response.status).toBe(413);
    expect(await errorCode(response)).toBe("too_large");
    await a.client.next("message");
    expect(a.client.all("message")).toHaveLength(1);
  });
});

describe("GET /rooms/:room", () => {
  it("describes presence, seq and epoch", async () => {
    const room = freshRoom();
    const a = await join(room, "ada");
    await publish(room, { data: 1 });
    const response = await call(`/rooms/${room}`);
    expect(await response.json()).toEqual({
      room,
      connections: 1,
      peers: [{ id: a.welcome.id, name: "ada" }],
      seq: 1,
      epoch: a.welcome.epoch,
      ...layout(1),
    });
  });

  it("reads a room that never existed without creating anything", async () => {
    const room = freshRoom();
    expect(await (await call(`/rooms/${room}`)).json()).toEqual({
      room,
      connections: 0,
      peers: [],
      seq: 0,
      epoch: null,
      ...layout(0),
    });
    expect(await (await call(`/rooms/${room}/history`)).json()).toEqual({
      messages: [],
      next: null,
    });
    const tables = await runInDurableObject(env.ROOMS.getByName(room), (_room, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables.filter((t) => !String(t.name).startsWith("_cf"))).toEqual([]);
  });
});

describe("GET /rooms/:room/history", () => {
  it("pages through stored broadcasts", async () => {
    const room = freshRoom();
    await join(room);
    for (let n = 1; n <= 5; n++) await publish(room, { data: n });
    const first = (await (await call(`/rooms/${room}/history?since=0&limit=2`)).json()) as {
      messages: { seq: number; data: number }[];
      next: number | null;
    };
    expect(first.messages.map((m) => [m.seq, m.data])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(first.next).toBe(2);
    const rest = (await (await call(`/rooms/${room}/history?since=2&limit=10`)).json()) as {
      messages: { seq: number }[];
      next: number | null;
    };
    expect(rest.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(rest.next).toBeNull();
  });

  it("pages 100 by default and at most 1000", async () => {
    const room = freshRoom();
    const stub = env.ROOMS.getByName(room);
    // A full history (HISTORY_SIZE, 1000) written straight into the room's log;
    // a fresh object then reads it.
    await runInDurableObject(stub, async (_room, state) => {
      const log = new RoomLog(state.storage.sql, DEFAULT_LIMITS);
      log.open();
      for (let seq = 1; seq <= 1000; seq++) log.append(seq, "s", `{"seq":${seq}}`, Date.now());
      await new Promise<void>((resolve) => log.whenStored(resolve));
    });
    await evictDurableObject(stub);
    const page = async (query: string) =>
      (await (await call(`/rooms/${room}/history${query}`)).json()) as {
        messages: { seq: number }[];
        next: number | null;
      };
    const first = await page("");
    expect([first.messages.length, first.messages[0]?.seq, first.next]).toEqual([100, 1, 100]);
    const most = await page("?since=0&limit=1001");
    expect([most.messages.length, most.messages.at(-1)?.seq, most.next]).toEqual([
      1000,
      1000,
      null,
    ]);
  });

  it.each(["since=-1", "since=x", "limit=0", "limit=1.5"])("refuses %s with 400", async (q) => {
    const response = await call(`/rooms/${freshRoom()}/history?${q}`);
    expect(response.status).toBe(400);
  });
});

/** What the description says of the room's layout: one shard holds everyone here. */
function layout(sessions: number) {
  if (!SHARDED) return { mode: "single", shards: [], hubs: [] };
  return {
    mode: "sharded",
    shards: sessions ? [{ index: expect.any(Number), sessions }] : [],
    hubs: [],
  };
}
