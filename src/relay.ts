/**
 * The relay's routes, for any Worker to mount: the room sockets, the server
 * API, `/health` and (given a namespace) Yjs documents, relative to where
 * they are mounted. Everything that can
 * be checked before a Durable Object is touched is checked here, in a fixed
 * order: bad input (400), no upgrade (426), origin (403), `authorize`
 * (401/403 or your own Response), the address's upgrade budget (429). The
 * room itself answers room_full (503) and too_many_connections (429).
 */
import { type Context, Hono } from "hono";
import { clientAddress, spendUpgrade } from "./address";
import { adminRoutes } from "./admin";
import {
  checkOrigin,
  checkToken,
  guardAdmin,
  type Identity,
  isRefusal,
  type Refusal,
} from "./auth";
import { HOLDER_HEADER, hubHolder, hubName } from "./big-rooms/holders";
import { connect, shardName, shardOf } from "./big-rooms/layout";
import type { Shard } from "./big-rooms/shard";
import { allowedOrigins, read, readHubLimits, readShardLimits, secret } from "./config";
import type { Document } from "./documents/document";
import { documentRoutes } from "./documents/routes";
import { type Hello, toRoom } from "./hello";
import { decideSubscriptionsWith } from "./hubs/grants";
import type { Hub } from "./hubs/hub";
import { log } from "./log";
import type { Directory } from "./observe/directory";
import { observerRoutes } from "./observe/observer-routes";
import { type Counted, directoryRoutes } from "./observe/routes";
import { errorResponse, type HttpErrorCode, SAFE_NAME, SAFE_NAME_RULE } from "./protocol";
import type { Room } from "./room";

/**
 * Decides who may open a socket into `room`, before any Durable Object is
 * touched: an identity (its `user` scopes message ids and is shown to peers,
 * its `name` replaces `?name=`), `undefined` to let an anonymous session in,
 * or a Response to refuse with.
 */
export type Authorize<E> = (
  request: Request,
  env: E,
  room: string,
) => Identity | Response | undefined | Promise<Identity | Response | undefined>;

export type RelayOptions<
  E extends object,
  R extends Room<object> = Room<E>,
  D extends Document<object> = Document<E>,
  S extends Shard<object> = Shard<E>,
  H extends Hub<object> = Hub<E>,
> = {
  /** The namespace of your Room class (or a subclass of it). */
  rooms: (env: E) => DurableObjectNamespace<R>;
  /** Who may connect. Default: `jwt()`, which checks `?token=` when `AUTH_SECRET` is set. */
  authorize?: Authorize<E>;
  /** Origins a browser may connect from. Default: `ALLOWED_ORIGINS`, else every origin. */
  origins?: (env: E) => string[];
  /** The server API's bearer token. Default: `ADMIN_TOKEN`; without one it answers 401. */
  adminToken?: (env: E) => string | undefined;
  /** Upgrades per client address. Default: the `UPGRADES` binding, if the Worker has one. */
  upgrades?: (env: E) => RateLimit | undefined;
  /**
   * The namespace of the `Shard` class, for rooms too big for one object
   * (docs/large-rooms.md). Default: the `SHARDS` binding, if the Worker has one.
   */
  shards?: (env: E) => DurableObjectNamespace<S> | undefined;
  /**
   * The namespace of the `Hub` class, for connections that carry many rooms
   * (`GET /ws`, docs/multiplex.md). Default: the `HUBS` binding, if the Worker has one.
   */
  hubs?: (env: E) => DurableObjectNamespace<H> | undefined;
  /** The namespace of the `Document` class (or a subclass), to serve Yjs documents under `/docs`. */
  documents?: (env: E) => DurableObjectNamespace<D>;
};

const MAX_NAME_CHARS = 64;

/** What the hubs route asks of each hub (src/hubs/hub.ts). */
type HubDescriber = {
  describe(): Promise<{ connections: number; rooms: number; perConnection: number[] }>;
};

/**
 * The relay's routes as a Hono app, to mount where you like.
 *
 * @example
 * const app = new Hono<{ Bindings: Env }>();
 * app.route("/realtime", relay({ rooms: (env) => env.CHAT, authorize: myAuthorize }));
 * export default app;
 */
export function relay<
  E extends object,
  R extends Room<object> = Room<E>,
  D extends Document<object> = Document<E>,
  S extends Shard<object> = Shard<E>,
  H extends Hub<object> = Hub<E>,
>(options: RelayOptions<E, R, D, S, H>): Hono<{ Bindings: E }> {
  const authorize = options.authorize ?? jwt<E>();
  const origins = options.origins ?? ((env: E) => allowedOrigins(env));
  const upgrades = options.upgrades ?? ((env: E) => read(env, "UPGRADES") as RateLimit | undefined);
  const adminToken = options.adminToken ?? ((env: E) => secret(env, "ADMIN_TOKEN"));
  const shards =
    options.shards ?? ((env: E) => read(env, "SHARDS") as DurableObjectNamespace<S> | undefined);
  const hubs =
    options.hubs ?? ((env: E) => read(env, "HUBS") as DurableObjectNamespace<H> | undefined);
  // The hubs in this isolate decide each subscription with the same `authorize`.
  decideSubscriptionsWith(
    options.rooms as (env: never) => unknown,
    authorize as Parameters<typeof decideSubscriptionsWith>[1],
  );
  const app = new Hono<{ Bindings: E }>();

  app.get("/health", (c) => c.json({ ok: true }));

  /** An upgrade's checks before `authorize`: it is one (426), from an allowed origin (403). */
  const upgradeRefusal = (c: Context<{ Bindings: E }>): Refusal | undefined => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return refusal(426, "upgrade_required", "this route expects a WebSocket upgrade");
    }
    return checkOrigin(c.req.header("origin"), origins(c.env));
  };
  /** Spends one of the client address's upgrades; a refusal past the budget (429). */
  const spend = async (c: Context<{ Bindings: E }>, address: string | undefined) => {
    if (await spendUpgrade(upgrades(c.env), address)) return undefined;
    return refusal(429, "too_many_upgrades", "too many upgrades from this address; retry later");
  };

  // One connection for many rooms: no room and no grant here, each subscribe brings its own.
  app.get("/ws", async (c) => {
    const hubSpace = hubs(c.env);
    if (!hubSpace) return refuse(undefined, refusal(404, "not_found", "this relay has no hubs"));
    const hello = readHello(c, undefined);
    if (isRefusal(hello)) return refuse(undefined, hello);
    const early = upgradeRefusal(c);
    if (early) return refuse(undefined, early);
    hello.address = clientAddress(c.req.header("cf-connecting-ip"));
    const spent = await spend(c, hello.address);
    if (spent) return refuse(undefined, spent);
    // The same client id lands on the same hub, whose ring then serves its resumes.
    const index = shardOf(hello.client, readHubLimits(c.env).hubCount);
    const forwarded = toRoom(hello, c.req.raw);
    // A hub reached by ID alone (a local dev registry's proxy) has no name to read its number from.
    forwarded.headers.set(HOLDER_HEADER, String(hubHolder(index)));
    return hubSpace.getByName(hubName(index)).fetch(forwarded);
  });

  // What each hub holds, for the console: connections and rooms per connection.
  app.get("/hubs", async (c) => {
    const denied = await guardAdmin(c.req.header("authorization"), adminToken(c.env));
    if (denied) return denied;
    const hubSpace = hubs(c.env);
    if (!hubSpace) return refuse(undefined, refusal(404, "not_found", "this relay has no hubs"));
    const count = readHubLimits(c.env).hubCount;
    const described = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const stub = hubSpace.getByName(hubName(index)) as unknown as HubDescriber;
        return { index, ...(await stub.describe()) };
      }),
    );
    return c.json({ hubs: described });
  });

  app.get("/rooms/:room/ws", async (c) => {
    const hello = readHello(c, c.req.param("room") ?? "");
    if (isRefusal(hello)) return refuse(c.req.param("room"), hello);
    const early = upgradeRefusal(c);
    if (early) return refuse(hello.room, early);
    const identity = await authorize(c.req.raw, c.env, hello.room);
    if (identity instanceof Response) {
      log("refused", { room: hello.room, code: "authorize", status: identity.status });
      return identity;
    }
    if (identity) {
      hello.user = identity.user;
      hello.name = identity.name ?? hello.name;
      hello.expires = identity.expires;
    }
    const address = clientAddress(c.req.header("cf-connecting-ip"));
    const spent = await spend(c, address);
    if (spent) return refuse(hello.room, spent);
    // A known user is accountable; only anonymous sessions count per address.
    if (hello.user === undefined) hello.address = address;
    const forwarded = toRoom(hello, c.req.raw);
    const shardSpace = shards(c.env);
    return connect(
      hello.room,
      hello.client,
      () => options.rooms(c.env).getByName(hello.room).fetch(forwarded.clone()),
      async (index) => {
        const shard = shardSpace?.getByName(shardName(hello.room, index));
        if (!shard) return errorResponse(500, "internal", "no shards bound");
        // A shard reached by ID alone (a local dev registry's proxy) has no name to read its index from.
        forwarded.headers.set(HOLDER_HEADER, String(index));
        return shard.fetch(forwarded);
      },
      shardSpace ? readShardLimits(c.env).shardCount : 0,
    );
  });

  // Rooms and documents find the directory by this name too (src/observe/reporter.ts).
  const directory = (env: E) =>
    read(env, "DIRECTORY") as DurableObjectNamespace<Directory> | undefined;
  const holder = (env: E, kind: "room" | "doc", name: string) =>
    (kind === "room"
      ? options.rooms(env).getByName(name)
      : options.documents?.(env).getByName(name)) as unknown as Counted | undefined;
  app.route("/", directoryRoutes({ directory, holder, adminToken }));
  app.route("/rooms", adminRoutes(options.rooms, adminToken));
  app.route("/rooms", observerRoutes(options.rooms, adminToken));
  if (options.documents) {
    const docs = options.documents;
    app.route("/docs", documentRoutes({ docs, authorize, origins, adminToken, upgrades }));
  }

  app.notFound(() => errorResponse(404, "not_found", "no such route"));

  app.onError((error) => {
    log("internal_error", { error: String(error) });
    return errorResponse(500, "internal", "internal error");
  });
  return app;
}

/**
 * The built-in `authorize`: an HS256 JWT in `?token=` with `exp` and `sub`,
 * and optionally `name` and `rooms` (docs/protocol.md, authentication),
 * checked when there is a secret; without one, everyone comes in anonymous.
 *
 * @example
 * relay({ rooms: (env) => env.CHAT, authorize: jwt((env) => env.CHAT_SECRET) });
 */
export function jwt<E extends object>(
  secretOf: (env: E) => string | undefined = (env) => secret(env, "AUTH_SECRET"),
): Authorize<E> {
  return async (request, env, room) => {
    const key = secretOf(env);
    if (!key) return undefined;
    const token = new URL(request.url).searchParams.get("token") ?? undefined;
    const identity = await checkToken(token, key, room);
    if (!isRefusal(identity)) return identity;
    log("refused", { room, code: identity.code });
    return errorResponse(identity.status, identity.code, identity.message);
  };
}

/** Validates the upgrade's room (none for a hub's connection) and query; Hono hands back decoded values. */
function readHello<E extends object>(
  c: Context<{ Bindings: E }>,
  room: string | undefined,
): Hello | Refusal {
  if (room !== undefined && !SAFE_NAME.test(room)) {
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
  return {
    room: room ?? "",
    name,
    client,
    since: since === undefined ? undefined : Number(since),
    epoch,
  };
}

function refusal(status: number, code: HttpErrorCode, message: string): Refusal {
  return { status, code, message };
}

function refuse(room: string | undefined, { status, code, message }: Refusal): Response {
  log("refused", { room, code });
  return errorResponse(status, code, message);
}
