/**
 * A shard's ring holds one gapless run. A shard that skipped ahead (nobody
 * to deliver to, then a batch starting past its last seq) must not serve a
 * resume across the skipped range from its ring: that resume reads the
 * room's log.
 */
import { describe, expect, it } from "vitest";
import { freshRoom } from "../client";
import { joinOn, publish, seqs } from "./shards";

describe("a shard that skipped ahead in the room's stream", { timeout: 20_000 }, () => {
  it("resumes a client across the skipped range from the room's log, not its ring", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    await publish(room, 3, "a");
    await bob.client.until(() => seqs(bob.client).length === 3, "3 broadcasts");
    bob.client.close();
    await ada.client.next("leave", (f) => f.peer.id === bob.welcome.id);
    // Shard 1 holds nobody: 4-6 never reach it.
    await publish(room, 3, "b");
    // Its next session's welcome (seq 6) lies past its last seq (3): it skips ahead.
    const cy = await joinOn(room, 1, "cy");
    expect(cy.welcome.seq).toBe(6);
    await publish(room, 2, "c");
    await cy.client.until(() => seqs(cy.client).length === 2, "2 broadcasts");
    const back = await joinOn(room, 1, "bob", { since: 3, epoch: bob.welcome.epoch });
    expect(back.welcome).toMatchObject({ recovered: true, seq: 8 });
    await back.client.until(() => seqs(back.client).length >= 5, "the 5 it missed");
    expect(seqs(back.client)).toEqual([4, 5, 6, 7, 8]);
    expect(back.client.all("message").map((m) => m.data)).toEqual(["b1", "b2", "b3", "c1", "c2"]);
  });
});
