/**
 * A Worker of someone else's, built from edge-relay/server: the relay under
 * /realtime, an authorize hook, and a room whose hooks refuse, transform,
 * wait, and fail on purpose, so the tests can see what each does.
 */
import { Hono } from "hono";
import {
  Document,
  Hub,
  type Message,
  type Peer,
  type RefreshVerdict,
  Rejection,
  type RejectionCode,
  Room,
  relay,
  Shard,
} from "../../src/server";

export type HooksEnv = {
  RULED: DurableObjectNamespace<RuledRoom>;
  COUNTING: DurableObjectNamespace<CountingRoom>;
  RULED_SHARDS: DurableObjectNamespace<RuledShard>;
  RULED_HUBS: DurableObjectNamespace<RuledHub>;
  DOCS: DurableObjectNamespace<Document<HooksEnv>>;
  ADMIN_TOKEN: string;
};

export { Document };

/** How the test authorize refuses, by `?user=`: every status a backend might answer. */
const REFUSALS: Record<string, number> = {
  banned: 403,
  nobody: 401,
  busy: 429,
  down: 503,
  broken: 500,
  moved: 302,
};

/** Headers the app's refusals carry, which must reach the client as they were. */
function refusalHeaders(user: string): Record<string, string> {
  const headers: Record<string, string> = { "X-Refused-By": "the app" };
  if (user === "moved") headers.Location = "https://new.example/chat";
  if (user === "busy") headers["Retry-After"] = "30";
  return headers;
}

export class RuledRoom extends Room<HooksEnv> {
  /** Its shards, when SHARD_COUNT spreads rooms over them (the workerd-hooks-sharded project). */
  static shards = (env: HooksEnv) => env.RULED_SHARDS;
  /** The hubs that hold its members on multiplexed connections. */
  static hubs = (env: HooksEnv) => env.RULED_HUBS;
  private readonly seen: string[] = [];

  async onMessage(sender: Peer, frame: Message): Promise<Message | undefined> {
    const text = String(frame.data);
    if (text === "forbidden") throw new Rejection("forbidden", "not in this room");
    if (text === "crash") throw new Error("a bug in the hook");
    // What plain JavaScript, or a cast, lets through: a code the protocol lacks.
    if (text === "odd code") throw new Rejection("teapot" as string as RejectionCode, "odd");
    // `slow` waits 50 ms, `slow:<ms>` as long as it says.
    if (text.startsWith("slow")) {
      const ms = Number(text.split(":")[1]);
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(ms) ? ms : 50));
    }
    if (text === "as is") return undefined;
    return { ...frame, data: `${sender.name}: ${text.toUpperCase()}` };
  }

  /** Tokens here are `<user>:<expires in ms>`, or `revoked`: this Worker's own scheme, not JWT. */
  onRefresh(_peer: Peer, token: string): RefreshVerdict {
    if (token === "revoked") return { status: 403, code: "forbidden", message: "access revoked" };
    const [user = "", expires = ""] = token.split(":");
    return { user, expires: Number(expires) };
  }

  onJoin(peer: Peer): void {
    this.seen.push(`join ${peer.name}`);
    if (peer.name === "trouble") throw new Error("onJoin fails for trouble");
  }

  async onLeave(peer: Peer): Promise<void> {
    this.seen.push(`leave ${peer.name}`);
  }

  /** What the join and leave hooks saw, for the tests. */
  async events(): Promise<string[]> {
    return this.seen;
  }
}

/** The shards of RuledRoom: they find their room under its own binding. */
export class RuledShard extends Shard<HooksEnv> {
  static rooms = (env: HooksEnv) => env.RULED;
}

/** A hub for RuledRoom's rooms: its subscriptions are decided by this Worker's authorize. */
export class RuledHub extends Hub<HooksEnv> {
  static rooms = (env: HooksEnv) => env.RULED;
}

/** docs/server.md's room that keeps a table of its own and answers an RPC method. */
export class CountingRoom extends Room<HooksEnv> {
  constructor(ctx: DurableObjectState, env: HooksEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS said (user TEXT PRIMARY KEY, messages INTEGER NOT NULL)",
    );
  }

  onMessage(sender: Peer, _frame: Message): undefined {
    this.ctx.storage.sql.exec(
      "INSERT INTO said VALUES (?, 1) ON CONFLICT (user) DO UPDATE SET messages = messages + 1",
      sender.name,
    );
  }

  /** Your Worker calls it on the stub: `await env.CHAT.getByName(room).counts()`. */
  counts(): Record<string, number> {
    const rows = this.ctx.storage.sql.exec<{ user: string; messages: number }>(
      "SELECT user, messages FROM said",
    );
    return Object.fromEntries([...rows].map((row) => [row.user, row.messages]));
  }
}

const app = new Hono<{ Bindings: HooksEnv }>();
app.get("/", (c) => c.text("the app's own route"));
app.route(
  "/realtime",
  relay<HooksEnv, RuledRoom>({
    rooms: (env) => env.RULED,
    shards: (env) => env.RULED_SHARDS,
    hubs: (env) => env.RULED_HUBS,
    authorize: (request) => {
      const query = new URL(request.url).searchParams;
      // A hub's subscribe carries its grant as ?token=; here the grant is the user's name.
      const user = query.get("user") ?? query.get("token");
      const status = user ? REFUSALS[user] : undefined;
      if (user && status) return new Response(user, { status, headers: refusalHeaders(user) });
      const expires = query.get("expires");
      if (!user) return undefined;
      return expires
        ? { user, name: `user ${user}`, expires: Number(expires) }
        : { user, name: `user ${user}` };
    },
    documents: (env) => env.DOCS,
  }),
);
app.route("/counted", relay<HooksEnv, CountingRoom>({ rooms: (env) => env.COUNTING }));

export default app;
