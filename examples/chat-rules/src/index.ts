/**
 * Your own Worker, with the relay mounted under /realtime:
 * - `authorize` lets in only people with the invite code, named by `?name=`;
 * - `ChatRoom.onMessage` lets only moderators speak in "announcements", and
 *   stamps every broadcast with who sent it, before it is stored and relayed.
 * Everything else (history, resume, acks, presence) is the relay's.
 */

import { type Message, type Peer, Rejection, Room, relay } from "edge-relay/server";
import { Hono } from "hono";

type Env = {
  CHAT: DurableObjectNamespace<ChatRoom>;
  MODERATORS: string;
  INVITE_CODE: string;
};

export class ChatRoom extends Room<Env> {
  onMessage(sender: Peer, frame: Message): Message | undefined {
    if (frame.type !== "broadcast") return undefined;
    const moderators = this.env.MODERATORS.split(",");
    if (this.roomName === "announcements" && !moderators.includes(sender.user ?? "")) {
      throw new Rejection("forbidden", "only moderators speak in announcements");
    }
    return { ...frame, data: { by: sender.name, said: frame.data } };
  }
}

const app = new Hono<{ Bindings: Env }>();

app.get("/", (c) => c.text("my app; the relay lives under /realtime"));

app.route(
  "/realtime",
  relay<Env, ChatRoom>({
    rooms: (env) => env.CHAT,
    authorize: (request, env) => {
      const query = new URL(request.url).searchParams;
      if (query.get("invite") !== env.INVITE_CODE) {
        return Response.json({ error: "ask for an invite" }, { status: 401 });
      }
      const name = query.get("name") ?? "";
      return { user: name, name };
    },
  }),
);

export default app;
