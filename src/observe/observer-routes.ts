/**
 * The routes of a room's watcher (src/observe/observers.ts): the admin
 * token's holder asks for a one-time ticket, then opens the socket with it.
 * Only the ticket is in the socket's URL; it is good for one socket and
 * lapses in 30 s, so a URL that leaks into a log or a history opens nothing.
 */
import { Hono } from "hono";
import { guardAdmin } from "../auth";
import { badName, errorResponse } from "../protocol";
import type { Room } from "../room";
import { OBSERVE_URL } from "./observers";

const TICKET = /^[0-9a-f-]{36}$/;

export function observerRoutes<E extends object, R extends Room<object>>(
  rooms: (env: E) => DurableObjectNamespace<R>,
  adminToken: (env: E) => string | undefined,
): Hono<{ Bindings: E }> {
  const routes = new Hono<{ Bindings: E }>();

  routes.post("/:room/observe", async (c) => {
    const room = c.req.param("room");
    const authorization = c.req.header("authorization");
    const denied = await guardAdmin(authorization, adminToken(c.env), {
      name: room,
      what: "room names",
    });
    if (denied) return denied;
    return c.json({ ticket: await rooms(c.env).getByName(room).observeTicket() });
  });

  routes.get("/:room/observe", async (c) => {
    const room = c.req.param("room");
    const bad = badName(room, "room names");
    if (bad) return bad;
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "upgrade_required", "this route expects a WebSocket upgrade");
    }
    const ticket = c.req.query("ticket") ?? "";
    if (!TICKET.test(ticket)) {
      return errorResponse(401, "unauthorized", "a ticket from POST /rooms/:room/observe");
    }
    const target = new URL(OBSERVE_URL);
    target.searchParams.set("ticket", ticket);
    return rooms(c.env).getByName(room).fetch(new Request(target, c.req.raw));
  });
  return routes;
}
