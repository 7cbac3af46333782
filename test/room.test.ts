import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { freezeClock, freshRoom, join, joinInside, SHARDED, socketOf } from "./client";

afterEach(() => {
  vi.useRealTimers();
});

describe("presence", () => {
  it("welcomes a session with its id, the room and the peers already there", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    expect(ada.welcome).toEqual({
      type: "welcome",
      id: expect.any(String),
      room,
      peers: [],
      seq: 0,
      epoch: expect.any(String),
      // One frame at a time for a client that did not ask for batches.
      limits: { maxMessageBytes: 65536, maxBatchFrames: 1 },
      occupancy: 1,
    });
    expect(ada.welcome.id.length).toBeGreaterThanOrEqual(16);

    const bob = await join(room, "bob");
    expect(bob.welcome.peers).toEqual([{ id: ada.welcome.id, name: "ada" }]);
    expect(bob.welcome.id).not.toBe(ada.welcome.id);
  });

  it("defaults the display name to empty", async () => {
    const room = freshRoom();
    await join(room);
    const second = await join(room);
    expect(second.welcome.peers[0]?.name).toBe("");
  });

  it("announces a join to the others, not to the newcomer", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    const joined = await ada.client.next("join");
    expect(joined.peer).toEqual({ id: bob.welcome.id, name: "bob" });
    // Bob's own join would have reached him before the next one.
    const cy = await join(room, "cy");
    await bob.client.next("join");
    await ada.client.next("join", (f) => f.peer.id === cy.welcome.id);
    expect(bob.client.all("join").map((f) => f.peer.id)).toEqual([cy.welcome.id]);
    expect(ada.client.all("join").map((f) => f.peer.id)).toEqual([bob.welcome.id, cy.welcome.id]);
  });

  // Drives the room object's own sockets, which a sharded room does not hold.
  it.skipIf(SHARDED)("tells a newcomer nothing its welcome already covers", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    await join(room, "bob");
    await ada.client.next("join");
    // In one event: ada's broadcast opens a commit, bob leaves, cy joins.
    const cy = await runInDurableObject(env.ROOMS.getByName(room), async (instance, state) => {
      const hi = JSON.stringify({ type: "broadcast", data: "hi" });
      await instance.webSocketMessage(socketOf(state, "ada"), hi);
      await instance.webSocketClose(socketOf(state, "bob"), 1000, "bye");
      const cy = await joinInside(instance, room, "name=cy");
      const ada = socketOf(state, "ada");
      await instance.webSocketMessage(ada, JSON.stringify({ type: "broadcast", data: "marker" }));
      await cy.next("message", (m) => m.data === "marker");
      return cy.frames.map((f) => (f.type === "message" ? f.data : f.type));
    });
    expect(cy).toEqual(["welcome", "marker"]);
  });

  it("announces a clean close as a leave, exactly once", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    bob.client.close();
    const left = await ada.client.next("leave");
    expect(left.peer).toEqual({ id: bob.welcome.id, name: "bob" });
    // A later session sees the room without bob, and ada saw one leave only.
    const cy = await join(room, "cy");
    expect(cy.welcome.peers).toEqual([{ id: ada.welcome.id, name: "ada" }]);
    await ada.client.next("join");
    expect(ada.client.all("leave")).toHaveLength(1);
  });

  it("answers a client's close frame with a close frame of the same code", async () => {
    const room = freshRoom();
    const ada = await join(room);
    ada.client.close(4001);
    await ada.client.until(() => ada.client.closed !== undefined, "close");
    expect(ada.client.closed?.code).toBe(4001);
  });

  it("answers a close frame without a code with 1000", async () => {
    const ada = await join(freshRoom());
    ada.client.ws.close();
    await ada.client.until(() => ada.client.closed !== undefined, "close");
    expect(ada.client.closed?.code).toBe(1000);
  });
});

describe("routing", () => {
  it("broadcasts to every other session, never back to the sender", async () => {
    const room = freshRoom();
    const [a, b, c] = [await join(room), await join(room), await join(room)];
    a.client.send({ type: "broadcast", data: { text: "hi", n: [1, 2] } });
    for (const peer of [b, c]) {
      const got = await peer.client.next("message");
      expect(got).toEqual({
        type: "message",
        from: a.welcome.id,
        data: { text: "hi", n: [1, 2] },
        ts: expect.any(Number),
        seq: 1,
      });
    }
    // An echo of a's broadcast would reach a before b's later one.
    b.client.send({ type: "broadcast", data: "marker" });
    await a.client.next("message");
    expect(a.client.all("message").map((m) => m.data)).toEqual(["marker"]);
  });

  it("stamps a relayed message with the room's clock", async () => {
    freezeClock().advance(12_345);
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    a.client.send({ type: "broadcast", data: 1 });
    a.client.send({ type: "direct", to: b.welcome.id, data: 2 });
    await b.client.until(() => b.client.all("message").length === 2, "both");
    expect(b.client.all("message").map((m) => m.ts)).toEqual([Date.now(), Date.now()]);
  });

  it("relays any JSON value as data, null included", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    const values = [null, 0, "text", [1, "two"], { deep: { er: true } }, false];
    for (const data of values) a.client.send({ type: "broadcast", data });
    await b.client.until(() => b.client.all("message").length === values.length, "all");
    expect(b.client.all("message").map((m) => m.data)).toEqual(values);
  });

  it("delivers a direct message to its one recipient, with `to`", async () => {
    const room = freshRoom();
    const [a, b, c] = [await join(room), await join(room), await join(room)];
    a.client.send({ type: "direct", to: b.welcome.id, data: "psst" });
    const got = await b.client.next("message");
    expect(got).toEqual({
      type: "message",
      from: a.welcome.id,
      to: b.welcome.id,
      data: "psst",
      ts: expect.any(Number),
    });
    // c receives nothing: a broadcast from b arrives as c's first message.
    b.client.send({ type: "broadcast", data: "after" });
    const first = await c.client.next("message");
    expect(first.data).toBe("after");
  });

  it("answers a direct message to an unknown session with unknown_recipient", async () => {
    const room = freshRoom();
    const a = await join(room);
    a.client.send({ type: "direct", to: "no-such-session", data: 1 });
    const error = await a.client.next("error");
    expect(error).toMatchObject({ code: "unknown_recipient", message: expect.any(String) });
  });

  it("does not route a direct message into another room", async () => {
    const a = await join(freshRoom());
    const b = await join(freshRoom());
    a.client.send({ type: "direct", to: b.welcome.id, data: 1 });
    expect((await a.client.next("error")).code).toBe("unknown_recipient");
  });

  it("answers a direct message to a session that left with unknown_recipient", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    b.client.close();
    await a.client.next("leave");
    a.client.send({ type: "direct", to: b.welcome.id, data: 1 });
    expect((await a.client.next("error")).code).toBe("unknown_recipient");
  });

  it("keeps one sender's messages in order for every receiver", async () => {
    const room = freshRoom();
    const a = await join(room);
    const b = await join(room);
    // 40 is the default burst: all pass the rate limit at once.
    for (let n = 0; n < 40; n++) a.client.send({ type: "broadcast", data: n });
    await b.client.until(() => b.client.all("message").length === 40, "40 messages");
    expect(b.client.all("message").map((m) => m.data)).toEqual([...Array(40).keys()]);
  });

  it("answers the text ping with pong", async () => {
    const a = await join(freshRoom());
    a.client.send("ping");
    await a.client.until(() => a.client.raw.includes("pong"), "pong");
  });
});
