import { exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { freshRoom, join, upgrade } from "../client";

const SECRET = "test-auth-secret";
const now = () => Math.floor(Date.now() / 1000);

function token(claims: Record<string, unknown>, secret = SECRET) {
  return sign({ exp: now() + 60, ...claims }, secret, "HS256");
}

async function refused(path: string, headers: Record<string, string> = {}) {
  const response = await upgrade(path, headers);
  const body = (await response.json()) as { error: { code: string } };
  return { status: response.status, code: body.error.code };
}

describe("JWT authentication", () => {
  it("lets a valid token in, with its sub as the peer's user", async () => {
    const room = freshRoom();
    const ada = await join(room, "", { token: await token({ sub: "u-ada", name: "Ada" }) });
    const bob = await join(room, "bob", { token: await token({ sub: "u-bob" }) });
    expect(bob.welcome.peers).toEqual([{ id: ada.welcome.id, name: "Ada", user: "u-ada" }]);
    expect((await ada.client.next("join")).peer).toEqual({
      id: bob.welcome.id,
      name: "bob",
      user: "u-bob",
    });
  });

  it("accepts a token name of 64 characters", async () => {
    const name = "é".repeat(64);
    const room = freshRoom();
    await join(room, "", { token: await token({ sub: "u1", name }) });
    const b = await join(room, "", { token: await token({ sub: "u2" }) });
    expect(b.welcome.peers[0]?.name).toBe(name);
  });

  it("lets the token's name override the query's", async () => {
    const room = freshRoom();
    await join(room, "impostor", { token: await token({ sub: "u1", name: "Real Name" }) });
    const b = await join(room, "", { token: await token({ sub: "u2" }) });
    expect(b.welcome.peers[0]?.name).toBe("Real Name");
  });

  it.each([
    ["no token", async () => ""],
    ["a malformed token", async () => "not.a.jwt"],
    ["a forged token", async () => token({ sub: "u" }, "wrong-secret")],
    ["an expired token", async () => token({ sub: "u", exp: now() - 10 })],
    ["a token without exp", async () => sign({ sub: "u" }, SECRET, "HS256")],
    ["a token without sub", async () => token({})],
    ["a token with an empty sub", async () => token({ sub: "" })],
    [
      "a token whose name is over 64 characters",
      async () => token({ sub: "u", name: "n".repeat(65) }),
    ],
    ["a token whose name is not a string", async () => token({ sub: "u", name: 7 })],
    ["a token issued in the future", async () => token({ sub: "u", iat: now() + 3600 })],
    [
      "a token signed with another algorithm",
      async () => sign({ sub: "u", exp: now() + 60 }, SECRET, "HS512"),
    ],
    ["a token whose rooms is not a list", async () => token({ sub: "u", rooms: "lobby" })],
  ])("refuses %s with 401 unauthorized", async (_what, make) => {
    const t = await make();
    const query = t ? `?token=${encodeURIComponent(t)}` : "";
    expect(await refused(`/rooms/${freshRoom()}/ws${query}`)).toEqual({
      status: 401,
      code: "unauthorized",
    });
  });

  it("refuses a room outside the token's rooms with 403 forbidden", async () => {
    const t = await token({ sub: "u", rooms: ["lobby", "kitchen"] });
    expect(await refused(`/rooms/attic/ws?token=${t}`)).toEqual({ status: 403, code: "forbidden" });
    const ok = await upgrade(`/rooms/kitchen/ws?token=${t}`);
    expect(ok.status).toBe(101);
    ok.webSocket?.accept();
    ok.webSocket?.close(1000);
  });

  it("opens every room with rooms ['*']", async () => {
    const t = await token({ sub: "u", rooms: ["*"] });
    const response = await upgrade(`/rooms/${freshRoom()}/ws?token=${t}`);
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000);
  });

  it("scopes message ids per user, across sessions", async () => {
    const room = freshRoom();
    const watcher = await join(room, "", { token: await token({ sub: "w" }) });
    const first = await join(room, "", { token: await token({ sub: "same-user" }) });
    first.client.send({ type: "broadcast", data: "x", id: "m1" });
    await first.client.next("ack");
    const second = await join(room, "", { token: await token({ sub: "same-user" }) });
    second.client.send({ type: "broadcast", data: "x", id: "m1" });
    expect(await second.client.next("ack")).toMatchObject({ seq: 1, duplicate: true });
    await watcher.client.next("message");
    second.client.send({ type: "broadcast", data: "y", id: "m2" });
    await watcher.client.until(() => watcher.client.all("message").length === 2, "two");
  });

  it("scopes ids by user even when the sessions give different client ids", async () => {
    const room = freshRoom();
    const t = await token({ sub: "same-user" });
    const first = await join(room, "", { token: t, client: "phone" });
    first.client.send({ type: "broadcast", data: "x", id: "m1" });
    await first.client.next("ack");
    const second = await join(room, "", { token: t, client: "laptop" });
    second.client.send({ type: "broadcast", data: "x", id: "m1" });
    expect(await second.client.next("ack")).toEqual({
      type: "ack",
      id: "m1",
      seq: 1,
      duplicate: true,
    });
  });

  it("keeps two users' ids apart", async () => {
    const room = freshRoom();
    const watcher = await join(room, "", { token: await token({ sub: "w" }) });
    const ada = await join(room, "", { token: await token({ sub: "u-ada" }) });
    const bob = await join(room, "", { token: await token({ sub: "u-bob" }) });
    ada.client.send({ type: "broadcast", data: "from ada", id: "m1" });
    await ada.client.next("ack");
    bob.client.send({ type: "broadcast", data: "from bob", id: "m1" });
    expect(await bob.client.next("ack")).toEqual({ type: "ack", id: "m1", seq: 2 });
    await watcher.client.until(() => watcher.client.all("message").length === 2, "both");
    expect(watcher.client.all("message").map((m) => m.data)).toEqual(["from ada", "from bob"]);
  });
});

describe("allowed origins", () => {
  it("refuses an Origin that is not listed with 403 forbidden_origin", async () => {
    const t = await token({ sub: "u" });
    const path = `/rooms/${freshRoom()}/ws?token=${t}`;
    for (const origin of [
      "https://evil.example",
      "https://app.example.evil",
      "http://app.example",
    ]) {
      expect(await refused(path, { Origin: origin })).toEqual({
        status: 403,
        code: "forbidden_origin",
      });
    }
  });

  it("allows listed origins and requests without Origin", async () => {
    const room = freshRoom();
    const t = await token({ sub: "u" });
    await join(room, "", { token: t }, { Origin: "https://admin.example" });
    await join(room, "", { token: t });
  });

  it("checks origin before the token, and input before both", async () => {
    const evil = { Origin: "https://evil.example" };
    expect((await refused(`/rooms/${freshRoom()}/ws`, evil)).code).toBe("forbidden_origin");
    expect((await refused("/rooms/a%2Fb/ws", evil)).code).toBe("bad_room");
    expect((await refused(`/rooms/${freshRoom()}/ws?since=x`, evil)).code).toBe("bad_resume");
  });
});

describe("server API without ADMIN_TOKEN configured", () => {
  it("answers 401 even to a bearer token", async () => {
    const response = await exports.default.fetch("http://relay.test/rooms/r", {
      headers: { authorization: "Bearer anything" },
    });
    expect(response.status).toBe(401);
  });
});
