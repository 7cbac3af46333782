/**
 * The server API, for the application's own backend: publish into a room,
 * read its presence, page through its history, end sessions and ban users
 * (src/ending.ts). Every route checks the
 * admin bearer token first, then the room name, then the input.
 */
import { type Context, Hono } from "hono";
import { guardAdmin } from "./auth";
import { endingRoutes } from "./ending";
import { errorResponse, type FrameErrorCode } from "./protocol";
import type { Room } from "./room";

const HISTORY_PAGE = 100;
const HISTORY_PAGE_MAX = 1000;

const STATUS_OF: Partial<Record<FrameErrorCode, number>> = {
  unknown_recipient: 404,
  too_large: 413,
};

/** The server API's routes over the rooms of `rooms`, guarded by `adminToken`. */
export function adminRoutes<E extends object, R extends Room<object>>(
  rooms: (env: E) => DurableObjectNamespace<R>,
  adminToken: (env: E) => string | undefined,
): Hono<{ Bindings: E }> {
  const admin = new Hono<{ Bindings: E }>();
  type AdminContext = Context<{ Bindings: E }, "/:room" | "/:room/messages" | "/:room/history">;

  const guard = (c: AdminContext) =>
    guardAdmin(c.req.header("authorization"), adminToken(c.env), {
      name: c.req.param("room"),
      what: "room names",
    });
  const roomOf = (c: AdminContext) => rooms(c.env).getByName(c.req.param("room"));

  admin.post("/:room/messages", async (c) => {
    const denied = await guard(c);
    if (denied) return denied;
    const routed = await roomOf(c).publishBody(await c.req.text());
    if (!("code" in routed)) return c.json(routed);
    return errorResponse(STATUS_OF[routed.code] ?? 400, routed.code, routed.message);
  });

  admin.get("/:room", async (c) => {
    const denied = await guard(c);
    if (denied) return denied;
    return c.json({ room: c.req.param("room"), ...(await roomOf(c).describe()) });
  });

  admin.get("/:room/history", async (c) => {
    const denied = await guard(c);
    if (denied) return denied;
    const since = count(c.req.query("since")) ?? 0;
    const limit = count(c.req.query("limit")) ?? HISTORY_PAGE;
    if (Number.isNaN(since) || Number.isNaN(limit) || limit < 1) {
      return errorResponse(
        400,
        "bad_message",
        "since and limit must be integers; limit at least 1",
      );
    }
    return c.json(await roomOf(c).history(since, Math.min(limit, HISTORY_PAGE_MAX)));
  });

  const ender = (env: E, name: string) => rooms(env).getByName(name);
  admin.route("/", endingRoutes(ender, adminToken));
  return admin;
}

/** A query count: undefined when absent, NaN when not a non-negative integer. */
function count(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  return /^\d+$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : Number.NaN;
}
