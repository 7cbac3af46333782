/**
 * The server API's routes that end sessions and keep users out, the same for
 * rooms (`/rooms/:name/...`) and documents (`/docs/:name/...`): kick one
 * session or a user's every session, ban a user for a while, lift a ban,
 * list bans. Admin token first, then the name, then the body, as in every
 * server API route.
 */
import { type Context, Hono } from "hono";
import * as v from "valibot";
import { guardAdmin } from "./auth";
import type { Ban } from "./bans";
import { errorResponse, utf8Length } from "./protocol";

/** What an object that holds sessions answers to these routes (a `Room` or a `Document`). */
export type Ender = {
  kick(target: KickTarget, reason: string): Promise<{ closed: number }>;
  ban(user: string, seconds: number, reason: string): Promise<{ until: number; closed: number }>;
  unban(user: string): Promise<{ lifted: boolean }>;
  banned(): Promise<Ban[]>;
};

/** Who a kick ends: one session by id, or every session of one user. */
export type KickTarget = { session?: string; user?: string };

/** Whether a kick of `target` ends the session `id` of `user`. */
export function kicks(target: KickTarget, id: string, user: string | undefined): boolean {
  return id === target.session || (target.user !== undefined && user === target.user);
}

/** A close frame's reason is at most 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;
/** Ten years: longer is a permanent ban, which belongs in your own user table. */
const MAX_BAN_SECONDS = 315_360_000;

const Reason = v.optional(
  v.pipe(
    v.string(),
    v.check((reason) => utf8Length(reason) <= MAX_REASON_BYTES, "reason is over 123 bytes"),
  ),
  "",
);
const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(256));

const Kick = v.union(
  [v.object({ session: Id, reason: Reason }), v.object({ user: Id, reason: Reason })],
  "give a session or a user",
);
const BanBody = v.object({
  user: Id,
  seconds: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_BAN_SECONDS)),
  reason: Reason,
});

/** The routes, relative to where they are mounted: `/:name/kick`, `/:name/bans`, `/:name/bans/:user`. */
export function endingRoutes<E extends object>(
  target: (env: E, name: string) => Ender,
  adminToken: (env: E) => string | undefined,
): Hono<{ Bindings: E }> {
  const app = new Hono<{ Bindings: E }>();
  type Ctx = Context<{ Bindings: E }, "/:name/kick" | "/:name/bans" | "/:name/bans/:user">;

  const guard = async (c: Ctx): Promise<Response | Ender> => {
    const name = c.req.param("name");
    const authorization = c.req.header("authorization");
    const denied = await guardAdmin(authorization, adminToken(c.env), { name, what: "names" });
    return denied ?? target(c.env, name);
  };

  app.post("/:name/kick", async (c) => {
    const found = await guard(c);
    if (found instanceof Response) return found;
    const body = await read(c, Kick);
    if (body instanceof Response) return body;
    const { reason, ...who } = body;
    return c.json(await found.kick(who, reason));
  });

  app.post("/:name/bans", async (c) => {
    const found = await guard(c);
    if (found instanceof Response) return found;
    const body = await read(c, BanBody);
    if (body instanceof Response) return body;
    const { until, closed } = await found.ban(body.user, body.seconds, body.reason);
    return c.json({ user: body.user, until, closed });
  });

  app.get("/:name/bans", async (c) => {
    const found = await guard(c);
    if (found instanceof Response) return found;
    return c.json({ bans: await found.banned() });
  });

  app.delete("/:name/bans/:user", async (c) => {
    const found = await guard(c);
    if (found instanceof Response) return found;
    return c.json(await found.unban(c.req.param("user")));
  });
  return app;
}

/** The JSON body, checked; a 400 with the relay's error shape when it does not fit. */
async function read<T>(c: Context, schema: v.GenericSchema<unknown, T>): Promise<T | Response> {
  let json: unknown;
  try {
    json = JSON.parse(await c.req.text());
  } catch {
    return errorResponse(400, "bad_json", "body is not valid JSON");
  }
  const result = v.safeParse(schema, json);
  if (result.success) return result.output;
  return errorResponse(400, "bad_message", result.issues[0].message);
}
