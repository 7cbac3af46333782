/**
 * The document routes: `GET /docs/:name` upgrades to the document's Durable
 * Object (the y-websocket provider builds exactly this URL from its server
 * URL and room name), and `GET /docs/:name/snapshot` is the server API's read
 * of a document. The checks run in the relay's order: name, upgrade, origin,
 * `authorize`, then the address's upgrade budget, shared with rooms.
 * Refusals of an upgrade are closed sockets, since a browser cannot read an
 * HTTP status and y-websocket retries 1006: 44xx when retrying cannot help,
 * 1011 or 1013 when it can.
 */
import { type Context, Hono } from "hono";
import { clientAddress, spendUpgrade } from "../address";
import { checkOrigin, guardAdmin } from "../auth";
import { endingRoutes } from "../ending";
import { log } from "../log";
import { errorResponse, SAFE_NAME, SAFE_NAME_RULE } from "../protocol";
import type { Authorize } from "../relay";
import { CLOSE, closedSocket } from "./close";
import type { Document } from "./document";

export type DocumentRouteOptions<E extends object, D extends Document<object>> = {
  docs: (env: E) => DurableObjectNamespace<D>;
  authorize: Authorize<E>;
  origins: (env: E) => string[];
  adminToken: (env: E) => string | undefined;
  /** The per-address upgrade budget that room upgrades spend too. */
  upgrades: (env: E) => RateLimit | undefined;
};

/** The `/docs` routes over the documents of `docs`, with the relay's own checks. */
export function documentRoutes<E extends object, D extends Document<object>>(
  options: DocumentRouteOptions<E, D>,
): Hono<{ Bindings: E }> {
  const documents = new Hono<{ Bindings: E }>();

  /** The admin token, then the document's name. */
  const guard = (c: Context<{ Bindings: E }>, name: string) =>
    guardAdmin(c.req.header("authorization"), options.adminToken(c.env), {
      name,
      what: "document names",
    });

  documents.get("/:name/snapshot", async (c) => {
    const name = c.req.param("name");
    const denied = await guard(c, name);
    if (denied) return denied;
    const state = await options.docs(c.env).getByName(name).snapshot();
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
    const origin = checkOrigin(c.req.header("origin"), options.origins(c.env));
    if (origin) return refuse(name, CLOSE.forbidden, origin.message);
    // The same authorize as rooms: a token's `rooms` grant covers document names too.
    const identity = await options.authorize(c.req.raw, c.env, name);
    if (identity instanceof Response) {
      return refuse(name, closeCodeOf(identity.status), await reasonOf(identity));
    }
    const address = clientAddress(c.req.header("cf-connecting-ip"));
    if (!(await spendUpgrade(options.upgrades(c.env), address))) {
      return refuse(name, CLOSE.tryAgain, "too many upgrades from this address; retry later");
    }
    const target = new URL("https://document/connect");
    target.searchParams.set("doc", name);
    // Who it is, so the backend can end this user's sockets and bans keep them out.
    if (identity?.user !== undefined) target.searchParams.set("user", identity.user);
    // When the token ends, so the document warns the socket and closes it then.
    if (identity?.expires !== undefined)
      target.searchParams.set("expires", String(identity.expires));
    return options.docs(c.env).getByName(name).fetch(new Request(target, c.req.raw));
  });

  documents.get("/:name/sessions", async (c) => {
    const name = c.req.param("name");
    const denied = await guard(c, name);
    if (denied) return denied;
    return c.json(await options.docs(c.env).getByName(name).describe());
  });

  const ender = (env: E, name: string) => options.docs(env).getByName(name);
  documents.route("/", endingRoutes(ender, options.adminToken));
  return documents;
}

/**
 * The close code for an `authorize` refusal. Only 401 and 403 are final
 * (4401, 4403: y-websocket stops on 4400-4499); anything else, such as 429
 * or a 503 while your auth backend is down, is closed with a code the
 * provider retries with backoff.
 */
function closeCodeOf(status: number): number {
  if (status === 401) return CLOSE.unauthorized;
  if (status === 403) return CLOSE.forbidden;
  return status >= 500 ? CLOSE.internal : CLOSE.tryAgain;
}

/** A refusal's message, short enough for a close reason (123 bytes). */
async function reasonOf(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === "string") return message.slice(0, 100);
  } catch {
    // not the relay's JSON error shape: use the text as it is
  }
  return text.slice(0, 100) || "refused";
}

function refuse(name: string, code: number, reason: string): Response {
  log("refused", { doc: name, code });
  return closedSocket(code, reason);
}
