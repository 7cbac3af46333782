/**
 * The relay mounted in another Worker (./worker.ts): authorize, and room
 * hooks that refuse, transform, wait and throw.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { freezeClock, TestClient } from "../client";
import type { HooksEnv } from "./worker";

const ruled = () => (env as unknown as HooksEnv).RULED;

let rooms = 0;
const freshRoom = () => `hooked-${Date.now().toString(36)}-${++rooms}`;

async function open(room: string, query: Record<string, string> = {}, prefix = "/realtime") {
  const response = await exports.default.fetch(
    `http://app.test${prefix}/rooms/${room}/ws?${new URLSearchParams(query)}`,
    { headers: { Upgrade: "websocket" } },
  );
  if (!response.webSocket) throw new Error(`refused: ${response.status}`);
  const client = new TestClient(response.webSocket);
  const welcome = await client.next("welcome");
  return { client, welcome };
}

describe("a relay mounted under a prefix", () => {
  it("leaves the app's own routes alone and serves its API under the prefix", async () => {
    expect(await (await exports.default.fetch("http://app.test/")).text()).toBe(
      "the app's own route",
    );
    const health = await exports.default.fetch("http://app.test/realtime/health");
    expect(await health.json()).toEqual({ ok: true });
  });

  it("lets authorize refuse with its own Response, and admit with an identity", async () => {
    const room = freshRoom();
    const refused = await exports.default.fetch(
      `http://app.test/realtime/rooms/${room}/ws?user=banned`,
      { headers: { Upgrade: "websocket" } },
    );
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe("banned");
    // Nothing was created for the refused socket.
    expect((await ruled().getByName(room).describe()).connections).toBe(0);
    const ada = await open(room, { user: "ada", name: "ignored" });
    const bob = await open(room);
    expect(bob.welcome.peers).toEqual([{ id: ada.welcome.id, name: "user ada", user: "ada" }]);
    // In workerd-hooks-sharded, the subclass's own shards hold them.
    const sharded = Number((env as { SHARD_COUNT?: string }).SHARD_COUNT ?? 0) > 0;
    expect((await ruled().getByName(room).describe()).mode).toBe(sharded ? "sharded" : "single");
  });

  it("passes authorize's own Response to the client as it was: status, body and headers", async () => {
    const room = freshRoom();
    const upgrade = (user: string) =>
      exports.default.fetch(`http://app.test/realtime/rooms/${room}/ws?user=${user}`, {
        headers: { Upgrade: "websocket" },
        redirect: "manual",
      });
    const moved = await upgrade("moved");
    expect(moved.status).toBe(302);
    expect(moved.headers.get("Location")).toBe("https://new.example/chat");
    expect(moved.headers.get("X-Refused-By")).toBe("the app");
    expect(await moved.text()).toBe("moved");
    const busy = await upgrade("busy");
    expect(busy.status).toBe(429);
    expect(busy.headers.get("Retry-After")).toBe("30");
    expect(busy.headers.get("X-Refused-By")).toBe("the app");
    expect(await busy.text()).toBe("busy");
  });
});

describe("room hooks", () => {
  it("stores and replays a transformed message as transformed", async () => {
    const room = freshRoom();
    const ada = await open(room, { name: "ada" });
    const bob = await open(room, { name: "bob" });
    await ada.client.next("join");
    ada.client.send({ type: "broadcast", data: "hello", id: "h" });
    expect(await ada.client.next("ack")).toMatchObject({ id: "h", seq: 1 });
    expect((await bob.client.next("message")).data).toBe("ada: HELLO");
    const late = await open(room, { since: "0", epoch: ada.welcome.epoch });
    expect((await late.client.next("message")).data).toBe("ada: HELLO");
  });

  it("refuses with the hook's code, or rejected for a bug, and the room keeps working", async () => {
    const room = freshRoom();
    const ada = await open(room, { name: "ada" });
    const bob = await open(room, { name: "bob" });
    await ada.client.next("join");
    ada.client.send({ type: "broadcast", data: "forbidden", id: "f" });
    ada.client.send({ type: "broadcast", data: "crash", id: "c" });
    ada.client.send({ type: "broadcast", data: "as is", id: "a" });
    const answers = () => ada.client.frames.filter((f) => f.type === "ack" || f.type === "error");
    await ada.client.until(() => answers().length === 3, "three answers");
    expect(answers()).toEqual([
      { type: "error", code: "forbidden", message: "not in this room", id: "f" },
      expect.objectContaining({ type: "error", code: "rejected", id: "c" }),
      { type: "ack", id: "a", seq: 1 },
    ]);
    // The bug's text stays inside the room.
    expect(JSON.stringify(ada.client.frames)).not.toContain("a bug in the hook");
    expect((await bob.client.next("message")).data).toBe("as is");
    expect(bob.client.all("message")).toHaveLength(1);
  });

  it("answers a Rejection with a code outside the protocol as rejected, and logs it", async () => {
    const logged = vi.spyOn(console, "log");
    const room = freshRoom();
    const ada = await open(room, { name: "ada" });
    ada.client.send({ type: "broadcast", data: "odd code", id: "o" });
    const error = await ada.client.next("error");
    expect(error).toEqual({ type: "error", code: "rejected", message: "odd", id: "o" });
    const lines = logged.mock.calls.map((call) => String(call[0]));
    expect(lines.some((line) => line.includes("hook_error") && line.includes("teapot"))).toBe(true);
    logged.mockRestore();
  });

  it("keeps a sender's order when a hook is slow for one frame", async () => {
    const room = freshRoom();
    const ada = await open(room, { name: "ada" });
    const bob = await open(room, { name: "bob" });
    await ada.client.next("join");
    ada.client.send({ type: "broadcast", data: "slow one", id: "1" });
    ada.client.send({ type: "broadcast", data: "two", id: "2" });
    ada.client.send({ type: "presence", state: "three", id: "3" });
    await bob.client.next("presence");
    expect(bob.client.frames.slice(1).map((f) => f.type)).toEqual([
      "message",
      "message",
      "presence",
    ]);
    expect(bob.client.all("message").map((m) => [m.data, m.seq])).toEqual([
      ["ada: SLOW ONE", 1],
      ["ada: TWO", 2],
    ]);
    await ada.client.until(() => ada.client.all("ack").length === 3, "three acks");
    expect(ada.client.all("ack").map((a) => a.id)).toEqual(["1", "2", "3"]);
  });

  it("routes and acks in the order sent while frames still arrive as earlier hook calls finish", async () => {
    const room = freshRoom();
    const ada = await open(room, { name: "ada" });
    const bob = await open(room, { name: "bob" });
    await ada.client.next("join");
    ada.client.send({ type: "broadcast", data: "slow:20", id: "1" });
    ada.client.send({ type: "broadcast", data: "slow:400", id: "2" });
    // The first call has settled; the second is still running when these arrive.
    await ada.client.next("ack", (a) => a.id === "1");
    ada.client.send({ type: "broadcast", data: "three", id: "3" });
    ada.client.send({ type: "broadcast", data: "slow:10", id: "4" });
    ada.client.send({ type: "broadcast", data: "five", id: "5" });
    await ada.client.until(() => ada.client.all("ack").length === 5, "five acks");
    expect(ada.client.all("ack").map((a) => [a.id, a.seq])).toEqual([
      ["1", 1],
      ["2", 2],
      ["3", 3],
      ["4", 4],
      ["5", 5],
    ]);
    await bob.client.until(() => bob.client.all("message").length === 5, "five messages");
    expect(bob.client.all("message").map((m) => [m.data, m.seq])).toEqual([
      ["ada: SLOW:20", 1],
      ["ada: SLOW:400", 2],
      ["ada: THREE", 3],
      ["ada: SLOW:10", 4],
      ["ada: FIVE", 5],
    ]);
  });

  it("does not run the hook again for a repeated id", async () => {
    const room = freshRoom();
    const ada = await open(room, { name: "ada", client: "ada-device" });
    ada.client.send({ type: "broadcast", data: "once", id: "r" });
    await ada.client.next("ack");
    ada.client.send({ type: "broadcast", data: "crash", id: "r" });
    expect(await ada.client.next("ack", (a) => a.duplicate === true)).toEqual({
      type: "ack",
      id: "r",
      seq: 1,
      duplicate: true,
    });
  });

  it("runs onJoin and onLeave once per session; a throwing onJoin leaves the session in", async () => {
    const room = freshRoom();
    const trouble = await open(room, { name: "trouble" });
    const bob = await open(room, { name: "bob" });
    await trouble.client.next("join");
    bob.client.send({ type: "broadcast", data: "as is" });
    expect((await trouble.client.next("message")).data).toBe("as is");
    trouble.client.close();
    await bob.client.next("leave");
    const events = await ruled().getByName(room).events();
    expect(events).toEqual(["join trouble", "join bob", "leave trouble"]);
  });
});

describe("expiry with the Worker's own authorize and onRefresh", () => {
  it("extends a session through onRefresh, refuses another user, and ends it on a 403", async () => {
    // A day ahead of the real clock, so the room's alarm runs only when the test says.
    const clock = freezeClock();
    clock.advance(86_400_000);
    try {
      const room = freshRoom();
      const soon = Date.now() + 300_000;
      const ada = await open(room, { user: "ada", expires: String(soon) });
      const bob = await open(room, { user: "bob" });
      ada.client.send({ type: "refresh", token: "eve:9999999999999", id: "r0" });
      expect((await ada.client.next("error", (e) => e.id === "r0")).code).toBe("unauthorized");
      ada.client.send({ type: "refresh", token: `ada:${soon + 600_000}`, id: "r1" });
      await ada.client.next("ack", (a) => a.id === "r1");

      clock.advance(300_000);
      await runDurableObjectAlarm(ruled().getByName(room));
      ada.client.send({ type: "broadcast", data: "as is" });
      expect((await bob.client.next("message")).data).toBe("as is");

      ada.client.send({ type: "refresh", token: "revoked", id: "r2" });
      await ada.client.until(() => ada.client.closed !== undefined, "the close");
      expect(ada.client.closed).toEqual({ code: 4403, reason: "access revoked" });
      expect((await bob.client.next("leave")).peer.id).toBe(ada.welcome.id);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("a subclass's own state and methods", () => {
  it("keeps its own table beside the relay's and answers its own RPC method", async () => {
    const room = freshRoom();
    const ada = await open(room, { name: "ada" }, "/counted");
    const bob = await open(room, { name: "bob" }, "/counted");
    for (const id of ["1", "2"]) ada.client.send({ type: "broadcast", data: id, id });
    bob.client.send({ type: "broadcast", data: "3", id: "3" });
    await ada.client.until(() => ada.client.all("ack").length === 2, "ada's acks");
    await bob.client.until(() => bob.client.all("ack").length === 1, "bob's ack");
    const counting = (env as unknown as HooksEnv).COUNTING.getByName(room);
    expect(await counting.counts()).toEqual({ ada: 2, bob: 1 });
    // The relay's own log lives on beside the table: a resume replays all three.
    const late = await open(room, { since: "0", epoch: ada.welcome.epoch }, "/counted");
    await late.client.until(() => late.client.all("message").length === 3, "the replay");
  });
});
