/**
 * A room that refuses a multiplexed session (here: a ban) refuses it after
 * the hub already sent the connection's next frames up behind the join; those
 * frames get their own answer, and the connection's other rooms go on.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freshRoom } from "../client";
import { connectHub, nextIn } from "../hubs/hubs";
import { admin, frozenAhead, thaw, token } from "./trust";

beforeEach(() => {
  frozenAhead();
});
afterEach(thaw);

describe("a room refusing a subscription on a hub", () => {
  it("answers the subscribe and each frame sent right behind it, and keeps the other rooms", async () => {
    const [barred, open] = [freshRoom(), freshRoom()];
    const banned = await admin("POST", `/rooms/${barred}/bans`, { user: "u-bob", seconds: 600 });
    expect(banned.status).toBe(200);
    const bob = await connectHub({ client: "bob-hub" });
    const grant = await token("u-bob", 3600);
    bob.send({ type: "subscribe", room: barred, token: grant });
    bob.send({ type: "broadcast", room: barred, data: "hi", id: "right-behind" });
    bob.send({ type: "subscribe", room: open, token: grant });
    const refusal = await nextIn(bob, barred, "error", (e) => e.id === undefined);
    expect(refusal.code).toBe("banned");
    const behind = await nextIn(bob, barred, "error", (e) => e.id === "right-behind");
    expect(behind.code).toBe("not_subscribed");
    await nextIn(bob, open, "welcome");
    bob.send({ type: "broadcast", room: open, data: "still here", id: "open-1" });
    expect((await nextIn(bob, open, "ack", (a) => a.id === "open-1")).seq).toBe(1);
  });
});
