/**
 * A Worker of someone else's, built from edge-relay/server: the relay under
 * /realtime, an authorize hook, and a room whose hooks refuse, transform,
 * wait, and fail on purpose, so the tests can see what each does.
 */
import { Hono } from "hono";
import {
  Document,
  type Message,
  type Peer,
  Rejection,
  type RejectionCode,
  Room,
  relay,
} from "../../src/server";

export type HooksEnv = {
  RULED: DurableObjectNamespace<RuledRoom>;
  DOCS: DurableObjectNamespace<Document>;
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
};

export class RuledRoom extends Room<HooksEnv> {
  private readonly seen: string[] = [];

  async onMessage(sender: Peer, frame: Message): Promise<Message | undefined> {
    const text = String(frame.data);
    if (text === "forbidden") throw new Rejection("forbidden", "not in this room");
    if (text === "crash") throw new Error("a bug in the hook");
    // What plain JavaScript, or a cast, lets through: a code the protocol lacks.
    if (text === "odd code") throw new Rejection("teapot" as string as RejectionCode, "odd");
    if (text.startsWith("slow")) await new Promise((resolve) => setTimeout(resolve, 50));
    if (text === "as is") return undefined;
    return { ...frame, data: `${sender.name}: ${text.toUpperCase()}` };
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

const app = new Hono<{ Bindings: HooksEnv }>();
app.get("/", (c) => c.text("the app's own route"));
app.route(
  "/realtime",
  relay<HooksEnv, RuledRoom>({
    rooms: (env) => env.RULED,
    authorize: (request) => {
      const user = new URL(request.url).searchParams.get("user");
      const status = user ? REFUSALS[user] : undefined;
      if (status) return new Response(user, { status });
      return user ? { user, name: `user ${user}` } : undefined;
    },
    documents: (env) => env.DOCS,
  }),
);

export default app;
