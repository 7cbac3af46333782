/**
 * Many rooms on one connection in another Worker (./worker.ts): its own
 * `authorize` decides each subscribe by the room and the subscribe's token,
 * and the room's hooks run for frames that came through a hub.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TestClient } from "../client";
import { framesIn, nextIn } from "../hubs/hubs";

let rooms = 0;
const freshRoom = () => `hub-hooked-${Date.now().toString(36)}-${++rooms}`;

async function connect(client: string): Promise<TestClient> {
  const response = await exports.default.fetch(`http://app.test/realtime/ws?client=${client}`, {
    headers: { Upgrade: "websocket" },
  });
  if (!response.webSocket) throw new Error(`refused: ${response.status}`);
  return new TestClient(response.webSocket);
}

describe("a hub in a Worker with its own authorize", () => {
  it("asks authorize for each subscribe: a refusal names its room, the others stay", async () => {
    const [open, banned, busy] = [freshRoom(), freshRoom(), freshRoom()];
    const ada = await connect("ada-h1");
    ada.send({ type: "subscribe", room: open, token: "ada" });
    ada.send({ type: "subscribe", room: banned, token: "banned" });
    ada.send({ type: "subscribe", room: busy, token: "busy" });
    const welcome = await nextIn(ada, open, "welcome");
    expect((welcome.peers as unknown[]).length).toBe(0);
    expect(await nextIn(ada, banned, "error")).toMatchObject({
      code: "forbidden",
      message: "refused with status 403",
    });
    expect((await nextIn(ada, busy, "error")).code).toBe("rejected");

    const bob = await connect("bob-h1");
    bob.send({ type: "subscribe", room: open, token: "bob" });
    await nextIn(bob, open, "welcome");
    const join = await nextIn(ada, open, "join");
    // The identity authorize gave: its user, and the name it chose.
    expect(join.peer).toMatchObject({ user: "bob", name: "user bob" });
    // Only the granted room holds a session; the refused ones were never joined.
    ada.send({ type: "broadcast", room: banned, data: "hi", id: "b" });
    expect((await nextIn(ada, banned, "error", (e) => e.id === "b")).code).toBe("not_subscribed");
  });

  it("runs the room's onMessage for a frame that came through a hub", async () => {
    const room = freshRoom();
    const ada = await connect("ada-h2");
    ada.send({ type: "subscribe", room, token: "ada" });
    await nextIn(ada, room, "welcome");
    const bob = await connect("bob-h2");
    bob.send({ type: "subscribe", room, token: "bob" });
    await nextIn(bob, room, "welcome");
    ada.send({ type: "broadcast", room, data: "hello", id: "1" });
    ada.send({ type: "broadcast", room, data: "forbidden", id: "2" });
    expect((await nextIn(bob, room, "message")).data).toBe("user ada: HELLO");
    expect((await nextIn(ada, room, "error", (e) => e.id === "2")).code).toBe("forbidden");
    expect(framesIn(bob, room).filter((f) => f.type === "message")).toHaveLength(1);
  });
});
