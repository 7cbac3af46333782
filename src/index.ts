/**
 * The Worker: validates what it can before any Durable Object is touched,
 * then forwards each WebSocket upgrade to its room's Durable Object.
 */
import { Hono } from "hono";
import { log } from "./log";
import { errorResponse } from "./protocol";

export { Room } from "./room";

const ROOM_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_NAME_CHARS = 64;

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ ok: true }));

app.get("/rooms/:room/ws", (c) => {
  // Hono hands back the decoded segment, so "a%2Fb" is checked as "a/b".
  const room = c.req.param("room");
  if (!ROOM_NAME.test(room)) {
    return refuse(room, 400, "bad_room", "room names are 1-64 characters of A-Z a-z 0-9 . _ -");
  }
  const name = c.req.query("name") ?? "";
  if ([...name].length > MAX_NAME_CHARS) {
    return refuse(room, 400, "bad_name", `name is longer than ${MAX_NAME_CHARS} characters`);
  }
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return refuse(room, 426, "upgrade_required", "this route expects a WebSocket upgrade");
  }
  const target = new URL("https://room/connect");
  target.searchParams.set("room", room);
  target.searchParams.set("name", name);
  return c.env.ROOMS.getByName(room).fetch(new Request(target, c.req.raw));
});

app.notFound(() => errorResponse(404, "not_found", "no such route"));

app.onError((error) => {
  log("internal_error", { error: String(error) });
  return errorResponse(500, "internal", "internal error");
});

function refuse(
  room: string,
  status: number,
  code: Parameters<typeof errorResponse>[1],
  message: string,
): Response {
  log("refused", { room, code });
  return errorResponse(status, code, message);
}

export default app;
