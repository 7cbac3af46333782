/**
 * Presence at scale (PRESENCE_MAX = 2 here), in both modes: the first two
 * members are announced, later ones are counted; every announced join gets
 * exactly one leave; occupancy rides in the welcome and in frames at most
 * every 2 s while it changes.
 */
import { describe, expect, it } from "vitest";
import { OCCUPANCY_MS } from "../../src/occupancy";
import { freshRoom, join } from "../client";

describe("a room past PRESENCE_MAX", { timeout: 15_000 }, () => {
  it("announces the first members, counts the rest, and gives each announced join one leave", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada", { client: "ada" });
    const bob = await join(room, "bob", { client: "bob" });
    expect(bob.welcome).toMatchObject({ peers: [{ name: "ada" }], occupancy: 2 });
    const quiet = [];
    for (const name of ["cy", "dee", "eve"]) quiet.push(await join(room, name, { client: name }));
    // Newcomers see the announced members only, and how many are here.
    expect(quiet[2]?.welcome.peers.map((p) => p.name).sort()).toEqual(["ada", "bob"]);
    expect(quiet[2]?.welcome.occupancy).toBe(5);
    const count = await ada.client.next("occupancy", (f) => f.count === 5);
    expect(count).toEqual({ type: "occupancy", count: 5 });
    // Quiet members are in the room: they hear and can be reached.
    const cy = quiet[0] as (typeof quiet)[0];
    ada.client.send({ type: "broadcast", data: "all" });
    await cy.client.next("message");
    bob.client.send({ type: "direct", to: cy.welcome.id, data: "psst" });
    expect((await cy.client.next("message", (m) => m.to !== undefined)).data).toBe("psst");
    // Their presence state and their leaving are not announced; bob's are.
    cy.client.send({ type: "presence", state: "typing", id: "p" });
    await cy.client.next("ack");
    cy.client.close();
    bob.client.close();
    await ada.client.next("leave");
    await ada.client.next("occupancy", (f) => f.count === 3);
    expect(ada.client.all("join").map((f) => f.peer.name)).toEqual(["bob"]);
    expect(ada.client.all("leave").map((f) => f.peer.name)).toEqual(["bob"]);
    expect(ada.client.all("presence")).toEqual([]);
    // A freed slot is not handed to a quiet member: nobody sees a leave without a join.
    const fred = await join(room, "fred", { client: "fred" });
    expect(fred.welcome.peers.map((p) => p.name)).toEqual(["ada"]);
    expect(fred.welcome.occupancy).toBe(4);
  });

  it("sends a last occupancy frame with the true count once the room thins below PRESENCE_MAX", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada", { client: "ada" });
    const bob = await join(room, "bob", { client: "bob" });
    const cy = await join(room, "cy", { client: "cy" });
    await ada.client.next("occupancy", (f) => f.count === 3);
    // Both leave after that frame went out: no timer is waiting when the room stops being crowded.
    cy.client.close();
    bob.client.close();
    await ada.client.next("leave");
    const last = await ada.client.next("occupancy", (f) => f.count !== 3);
    expect(last.count).toBe(1);
  });

  it("sends occupancy at most every 2 s while it changes, and the count it settles at", async () => {
    const room = freshRoom();
    const ada = await join(room, "ada", { client: "ada" });
    await join(room, "bob", { client: "bob" });
    const started = Date.now();
    const comers = [];
    for (let i = 0; i < 4; i++) comers.push(await join(room, `q${i}`, { client: `q${i}` }));
    await ada.client.next("occupancy", (f) => f.count === 6);
    for (const { client } of comers) client.close();
    await ada.client.next("occupancy", (f) => f.count === 2);
    const frames = ada.client.all("occupancy");
    // Six changes went by; far fewer frames did, one per period at most.
    expect(frames.length).toBeLessThanOrEqual(
      1 + Math.floor((Date.now() - started) / OCCUPANCY_MS),
    );
    expect(frames.at(-1)?.count).toBe(2);
  });
});
