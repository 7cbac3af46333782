/**
 * A shard too far behind: the room stops queueing for it and names the
 * sessions that lost items, and the shard closes them with 1013 so their
 * clients resume, rather than deliver a stream with a hole in it.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Fanout, type ShardStub } from "../../src/big-rooms/fanout";
import { shardName } from "../../src/big-rooms/layout";
import type { DownBatch } from "../../src/big-rooms/wire";
import { freshRoom } from "../client";
import { joinOn, seqs } from "./shards";

describe("a shard that falls behind", () => {
  it("gets its queue dropped and its sessions named as lost once the room queued 50,000 items for it", async () => {
    const room = freshRoom();
    const calls: DownBatch[] = [];
    let answerFirst = () => {};
    const shard: ShardStub = {
      downlink: (batch) => {
        calls.push(batch);
        // The first call hangs, as a stuck shard's would, until the test lets it go.
        return calls.length === 1
          ? new Promise((resolve) => (answerFirst = resolve))
          : Promise.resolve();
      },
    };
    await runInDurableObject(env.ROOMS.getByName(room), async (_instance, state) => {
      const fanout = new Fanout(
        state.storage.sql,
        () => shard,
        undefined,
        queueMicrotask,
        () => room,
      );
      fanout.add({ peer: { id: "p", name: "p" }, scope: "s" }, 0, false);
      fanout.broadcast(1, "x", "first");
      await new Promise((resolve) => setTimeout(resolve, 0));
      for (let seq = 2; seq <= 50_002; seq++) fanout.broadcast(seq, "x", `m${seq}`);
      answerFirst();
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
    expect(calls).toHaveLength(2);
    const [, second] = calls;
    expect(second?.items[0]).toEqual({ kind: "lost", ids: ["p"] });
    // What was queued before the overflow is gone; only what came after it goes.
    expect(second?.items.length).toBeLessThan(50_000);
  });

  it("closes a welcomed session with 1013 when told its items were lost, and it resumes", async () => {
    const room = freshRoom();
    const ada = await joinOn(room, 0, "ada");
    const bob = await joinOn(room, 1, "bob");
    ada.client.send({ type: "broadcast", data: "hi", id: "1" });
    await bob.client.next("message");
    const shard = env.SHARDS.getByName(shardName(room, 1));
    const lost = { kind: "lost" as const, ids: [bob.welcome.id] };
    await shard.downlink({ room, shard: 1, life: "another", seq: 1, items: [lost] });
    await bob.client.until(() => bob.client.closed !== undefined, "bob's close");
    expect(bob.client.closed?.code).toBe(1013);
    const back = await joinOn(room, 1, "bob", { since: 1, epoch: bob.welcome.epoch });
    expect(back.welcome.recovered).toBe(true);
    ada.client.send({ type: "broadcast", data: "again", id: "2" });
    await back.client.next("message");
    expect(seqs(back.client)).toEqual([2]);
  });
});
