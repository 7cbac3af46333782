/**
 * The Worker: checks everything it can before any Durable Object is touched,
 * then forwards each WebSocket upgrade to its room's Durable Object.
 * Refusals come in a fixed order: bad input (400), no upgrade (426), origin
 * (403), token (401/403); the room itself answers room_full (503).
 */
import { type Context, Hono } from "hono";
import { admin } from "./admin";
import { checkOrigin, checkToken, isRefusal, type Refusal } from "./auth";
import { allowedOrigins } from "./config";
import { documents } from "./documents/routes";
import { log } from "./log";
import { errorResponse, type HttpErrorCode, SAFE_NAME, SAFE_NAME_RULE } from "./protocol";
import type { Hello } from "./room";

export { Document } from "./documents/document";
export { Room } from "./room";

const MAX_NAME_CHARS = 64;

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ ok: true }));

app.get("/rooms/:room/ws", async (c) => {
  const hello = readHello(c);
  if (isRefusal(hello)) return refuse(c.req.param("room"), hello);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return refuse(
      hello.room,
      refusal(426, "upgrade_required", "this route expects a WebSocket upgrade"),
    );
  }
  const origin = checkOrigin(c.req.header("origin"), allowedOrigins(c.env));
  if (origin) return refuse(hello.room, origin);
  if (c.env.AUTH_SECRET) {
    const identity = await checkToken(c.req.query("token"), c.env.AUTH_SECRET, hello.room);
    if (isRefusal(identity)) return refuse(hello.room, identity);
    hello.user = identity.user;
    hello.name = identity.name ?? hello.name;
  }
  const target = new URL("https://room/connect");
  for (const [key, value] of Object.entries(hello)) {
    if (value !== undefined) target.searchParams.set(key, String(value));
  }
  return c.env.ROOMS.getByName(hello.room).fetch(new Request(target, c.req.raw));
});

app.route("/rooms", admin);
app.route("/docs", documents);

app.notFound(() => errorResponse(404, "not_found", "no such route"));

app.onError((error) => {
  log("internal_error", { error: String(error) });
  return errorResponse(500, "internal", "internal error");
});

/** Validates the upgrade's room and query; Hono hands back decoded values. */
function readHello(c: Context<{ Bindings: Env }>): Hello | Refusal {
  const room = c.req.param("room") ?? "";
  if (!SAFE_NAME.test(room)) {
    return refusal(400, "bad_room", `room names are ${SAFE_NAME_RULE}`);
  }
  const name = c.req.query("name") ?? "";
  if ([...name].length > MAX_NAME_CHARS) {
    return refusal(400, "bad_name", `name is longer than ${MAX_NAME_CHARS} characters`);
  }
  const client = c.req.query("client");
  if (client !== undefined && !SAFE_NAME.test(client)) {
    return refusal(400, "bad_client", `client ids are ${SAFE_NAME_RULE}`);
  }
  const since = c.req.query("since");
  if (since !== undefined && !(/^\d+$/.test(since) && Number.isSafeInteger(Number(since)))) {
    return refusal(400, "bad_resume", "since must be a non-negative integer");
  }
  const epoch = c.req.query("epoch");
  return { room, name, client, since: since === undefined ? undefined : Number(since), epoch };
}

function refusal(status: number, code: HttpErrorCode, message: string): Refusal {
  return { status, code, message };
}

function refuse(room: string | undefined, { status, code, message }: Refusal): Response {
  log("refused", { room, code });
  return errorResponse(status, code, message);
}

export default app;
