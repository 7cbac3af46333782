/**
 * The document routes: `GET /docs/:name` upgrades to the document's Durable
 * Object (the y-websocket provider builds exactly this URL from its server
 * URL and room name), and `GET /docs/:name/snapshot` is the server API's read
 * of a document. Refusals of an upgrade are closed sockets with a 44xx code,
 * since a browser cannot read an HTTP status and y-websocket retries 1006.
 */
import { Hono } from "hono";
import { checkAdmin, checkOrigin, checkToken, isRefusal } from "../auth";
import { allowedOrigins } from "../config";
import { log } from "../log";
import { errorResponse, SAFE_NAME, SAFE_NAME_RULE } from "../protocol";
import { CLOSE, closedSocket } from "./close";

export const documents = new Hono<{ Bindings: Env }>();

documents.get("/:name/snapshot", async (c) => {
  const refusal = await checkAdmin(c.req.header("authorization"), c.env.ADMIN_TOKEN);
  if (refusal) return errorResponse(refusal.status, refusal.code, refusal.message);
  const name = c.req.param("name");
  if (!SAFE_NAME.test(name)) {
    return errorResponse(400, "bad_room", `document names are ${SAFE_NAME_RULE}`);
  }
  const state = await c.env.DOCS.getByName(name).snapshot();
  if (!state) return errorResponse(404, "not_found", `no document ${name}`);
  return new Response(state, { headers: { "content-type": "application/octet-stream" } });
});

documents.get("/:name", async (c) => {
  const name = c.req.param("name");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(426, "upgrade_required", "this route expects a WebSocket upgrade");
  }
  if (!SAFE_NAME.test(name)) {
    return refuse(name, CLOSE.badName, `document names are ${SAFE_NAME_RULE}`);
  }
  const origin = checkOrigin(c.req.header("origin"), allowedOrigins(c.env));
  if (origin) return refuse(name, CLOSE.forbidden, origin.message);
  if (c.env.AUTH_SECRET) {
    // A token's `rooms` grant covers document names too.
    const identity = await checkToken(c.req.query("token"), c.env.AUTH_SECRET, name);
    if (isRefusal(identity)) {
      const code = identity.status === 403 ? CLOSE.forbidden : CLOSE.unauthorized;
      return refuse(name, code, identity.message);
    }
  }
  const target = new URL("https://document/connect");
  target.searchParams.set("doc", name);
  return c.env.DOCS.getByName(name).fetch(new Request(target, c.req.raw));
});

function refuse(name: string, code: number, reason: string): Response {
  log("refused", { doc: name, code });
  return closedSocket(code, reason);
}
