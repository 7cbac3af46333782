import { evictDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshRoom, join, SHARDED, TestClient, upgrade } from "../client";
import { ADMIN } from "./list";

function ticketRequest(room: string, token: string | null = ADMIN): Promise<Response> {
  const headers: Record<string, string> =
    token === null ? {} : { authorization: `Bearer ${token}` };
  return exports.default.fetch(`http://relay.test/rooms/${room}/observe`, {
    method: "POST",
    headers,
  });
}

async function ticketFor(room: string): Promise<string> {
  const response = await ticketRequest(room);
  expect(response.status).toBe(200);
  return ((await response.json()) as { ticket: string }).ticket;
}

/** Opens a watcher's socket on `room`, as the console does: a ticket, then the upgrade. */
async function watch(room: string): Promise<TestClient> {
  const response = await upgrade(`/rooms/${room}/observe?ticket=${await ticketFor(room)}`);
  if (response.status !== 101 || !response.webSocket) {
    throw new Error(`watch refused: ${response.status} ${await response.text()}`);
  }
  return new TestClient(response.webSocket);
}

/** What a frame says, for comparing sequences. */
function gist(frame: { type: string; peer?: { name: string }; data?: unknown; to?: string }) {
  return [frame.type, frame.peer?.name ?? frame.data, frame.to !== undefined].join(" ");
}

describe("a room's watcher", () => {
  it("sees joins, presence, messages and leaves in the room's order", async () => {
    const room = freshRoom();
    const { client: ada, welcome } = await join(room, "ada");
    const watcher = await watch(room);
    const { client: bob, welcome: bobs } = await join(room, "bob");
    ada.send({ type: "presence", state: { typing: true } });
    await bob.next("presence");
    bob.send({ type: "broadcast", data: "one" });
    bob.send({ type: "broadcast", data: "two" });
    bob.send({ type: "direct", to: welcome.id, data: "psst" });
    await ada.next("message", (m) => m.data === "psst");
    ada.send({ type: "broadcast", data: "three" });
    await bob.next("message", (m) => m.data === "three");
    bob.close();
    await ada.next("leave");
    await watcher.until(() => watcher.frames.some((f) => f.type === "leave"), "the leave");

    expect(watcher.frames.map(gist)).toEqual([
      "join bob false",
      "presence ada false",
      "message one false",
      "message two false",
      "message psst true",
      "message three false",
      "leave bob false",
    ]);
    // The broadcasts carry the seqs the peers saw them with.
    const seqOf = async (client: TestClient, data: string) =>
      (await client.next("message", (m) => m.data === data)).seq;
    const seqs = [await seqOf(ada, "one"), await seqOf(ada, "two"), await seqOf(bob, "three")];
    const watched = watcher.all("message").filter((m) => m.to === undefined);
    expect(watched.map((m) => m.seq)).toEqual(seqs);
    expect(bobs.peers.map((peer) => peer.name)).toEqual(["ada"]);
    expect(bobs.occupancy).toBe(2);
  });

  it("is not a peer: no join or leave for it, not in welcomes, not counted", async () => {
    const room = freshRoom();
    const { client: ada } = await join(room, "ada");
    const watcher = await watch(room);
    const { client: bob, welcome } = await join(room, "bob");
    expect(welcome.peers.map((peer) => peer.name)).toEqual(["ada"]);
    expect(welcome.occupancy).toBe(2);
    const described = await env.ROOMS.getByName(room).describe();
    expect(described.connections).toBe(2);
    expect(described.mode).toBe(SHARDED ? "sharded" : "single");

    watcher.close();
    await watcher.until(() => watcher.closed !== undefined, "the watcher's close");
    bob.send({ type: "broadcast", data: "after" });
    await ada.next("message", (m) => m.data === "after");
    const ids = (client: TestClient) => client.all("join").map((f) => f.peer.name);
    expect(ids(ada)).toEqual(["bob"]);
    expect(ada.all("leave")).toEqual([]);
    expect((await env.ROOMS.getByName(room).describe()).connections).toBe(2);
  });

  it("keeps watching after the room hibernated and woke, still unseen", async () => {
    const room = freshRoom();
    const { client: ada } = await join(room, "ada");
    const watcher = await watch(room);
    await evictDurableObject(env.ROOMS.getByName(room));
    const { client: bob, welcome } = await join(room, "bob");
    expect(welcome.peers.map((peer) => peer.name)).toEqual(["ada"]);
    bob.send({ type: "broadcast", data: "awake" });
    await ada.next("message", (m) => m.data === "awake");
    await watcher.next("message", (m) => m.data === "awake");
    expect(watcher.frames.map(gist)).toEqual(["join bob false", "message awake false"]);
    watcher.close();
    bob.send({ type: "broadcast", data: "later" });
    await ada.next("message", (m) => m.data === "later");
    expect(ada.all("leave")).toEqual([]);
  });

  it("opens only with an unused ticket that the admin token got", async () => {
    const room = freshRoom();
    expect((await ticketRequest(room, null)).status).toBe(401);
    expect((await ticketRequest(room, "wrong")).status).toBe(401);
    const forged = await upgrade(`/rooms/${room}/observe?ticket=${crypto.randomUUID()}`);
    expect(forged.status).toBe(401);
    const ticket = await ticketFor(room);
    const first = await upgrade(`/rooms/${room}/observe?ticket=${ticket}`);
    expect(first.status).toBe(101);
    first.webSocket?.accept();
    const again = await upgrade(`/rooms/${room}/observe?ticket=${ticket}`);
    expect(again.status).toBe(401);
  });
});
