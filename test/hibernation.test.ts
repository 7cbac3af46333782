import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { freshRoom, join, SHARDED } from "./client";

describe("hibernation", () => {
  it("an evicted room keeps its sessions, presence and routing", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");

    await evictDurableObject(env.ROOMS.getByName(room));

    // Presence survives: a newcomer sees both, and both hear of it.
    const cy = await join(room, "cy");
    expect(cy.welcome.peers).toEqual(
      expect.arrayContaining([
        { id: ada.welcome.id, name: "ada" },
        { id: bob.welcome.id, name: "bob" },
      ]),
    );
    expect(cy.welcome.peers).toHaveLength(2);
    await bob.client.next("join", (f) => f.peer.id === cy.welcome.id);

    // Broadcast and direct routing survive.
    ada.client.send({ type: "broadcast", data: "after eviction" });
    expect((await bob.client.next("message")).data).toBe("after eviction");
    expect((await cy.client.next("message")).data).toBe("after eviction");
    cy.client.send({ type: "direct", to: ada.welcome.id, data: "dm" });
    expect((await ada.client.next("message")).from).toBe(cy.welcome.id);
  });

  it("a session that closes while the room is evicted still leaves exactly once", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    await evictDurableObject(env.ROOMS.getByName(room));
    bob.client.close();
    const left = await ada.client.next("leave");
    expect(left.peer).toEqual({ id: bob.welcome.id, name: "bob" });
    const cy = await join(room, "cy");
    expect(cy.welcome.peers).toEqual([{ id: ada.welcome.id, name: "ada" }]);
    // A second leave would have reached ada before cy's join.
    await ada.client.next("join", (f) => f.peer.id === cy.welcome.id);
    expect(ada.client.all("leave")).toHaveLength(1);
  });

  // Drives the room object's own sockets, which a sharded room does not hold.
  it.skipIf(SHARDED)("a room evicted with its sockets closed sends each a close", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });
    await ada.client.until(() => ada.client.closed !== undefined, "close");
    const bob = await join(room, "bob");
    expect(bob.welcome.peers).toEqual([]);
  });

  it("sets no alarm in a room whose sessions have no expiry", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    await join(room, "bob");
    ada.client.send({ type: "broadcast", data: "hello" });
    await ada.client.next("join");
    const alarm = await runInDurableObject(env.ROOMS.getByName(room), (_, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBeNull();
  });
});
