import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upgrade } from "./client";

async function errorOf(response: Response) {
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe("HTTP routes", () => {
  it("GET /health answers ok", async () => {
    const response = await exports.default.fetch("http://relay.test/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("upgrades a valid room to a WebSocket", async () => {
    const response = await upgrade("/rooms/Lobby_1.x-y/ws?name=ada");
    expect(response.status).toBe(101);
    expect(response.webSocket).toBeTruthy();
    response.webSocket?.accept();
    response.webSocket?.close(1000);
  });

  it.each([
    ["a%2Fb", "an encoded slash"],
    ["a%20b", "a space"],
    ["%C3%A9t%C3%A9", "non-ASCII letters"],
    ["x".repeat(65), "65 characters"],
    ["semi%3Bcolon", "punctuation"],
  ])("refuses room %s (%s) with 400 bad_room", async (room) => {
    const response = await upgrade(`/rooms/${room}/ws`);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "bad_room" });
  });

  it("accepts a 64-character room name", async () => {
    const response = await upgrade(`/rooms/${"r".repeat(64)}/ws`);
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000);
  });

  it("refuses a display name over 64 characters with 400 bad_name", async () => {
    const ok = await upgrade(`/rooms/names/ws?name=${"é".repeat(64)}`);
    expect(ok.status).toBe(101);
    ok.webSocket?.accept();
    ok.webSocket?.close(1000);
    const response = await upgrade(`/rooms/names/ws?name=${"n".repeat(65)}`);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "bad_name" });
  });

  it.each([
    ["room before name", `/rooms/a%2Fb/ws?name=${"n".repeat(65)}`, 400, "bad_room"],
    ["name before client", `/rooms/ok/ws?name=${"n".repeat(65)}&client=a%2Fb`, 400, "bad_name"],
    ["client before resume", "/rooms/ok/ws?client=a%2Fb&since=x", 400, "bad_client"],
  ])("checks %s", async (_order, path, status, code) => {
    const response = await upgrade(path);
    expect(response.status).toBe(status);
    expect(await errorOf(response)).toMatchObject({ code });
  });

  it("checks the resume before the upgrade", async () => {
    const response = await exports.default.fetch("http://relay.test/rooms/ok/ws?since=x");
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "bad_resume" });
  });

  it("answers the socket route without an upgrade with 426 upgrade_required", async () => {
    const response = await exports.default.fetch("http://relay.test/rooms/lobby/ws");
    expect(response.status).toBe(426);
    const error = await errorOf(response);
    expect(error.code).toBe("upgrade_required");
    expect(error.message).toBeTypeOf("string");
  });

  it.each(["/nope", "/rooms/", "/rooms/a/b/ws", "/rooms/lobby/ws/extra"])(
    "answers unknown route %s with 404 not_found",
    async (path) => {
      const response = await exports.default.fetch(`http://relay.test${path}`);
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toMatchObject({ code: "not_found" });
    },
  );

  it("answers a non-GET on a known path with 404 not_found", async () => {
    const response = await exports.default.fetch("http://relay.test/health", { method: "POST" });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toMatchObject({ code: "not_found" });
  });
});
