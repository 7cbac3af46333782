/**
 * Resume on a shard: from its ring when the shard saw what was missed, from
 * the room's log when it did not, and exactly once either way, whichever
 * shard the client comes back to.
 */
import { describe, expect, it } from "vitest";
import { freshRoom, type TestClient } from "../client";
import { joinOn, publish, seqs } from "./shards";

const send = (client: TestClient, data: unknown, id?: string) =>
  client.send({ type: "broadcast", data, id });

describe("resume on a shard", { timeout: 20_000 }, () => {
  it.each([
    ["from the ring of a shard that saw it", 1],
    ["from the room's log, on a shard that did not", 2],
  ])("replays what was missed exactly once, %s", async (_how, comeBackOn) => {
    const room = freshRoom();
    const speaker = await joinOn(room, 0, "speaker");
    // Shard 1 keeps a live session, so its ring holds what the resumer misses.
    const keeper = await joinOn(room, 1, "keeper");
    const resumer = await joinOn(room, 1, "resumer");
    await publish(room, 3, "seen");
    await resumer.client.until(() => seqs(resumer.client).length === 3, "three");
    resumer.client.close();
    await speaker.client.next("leave");
    await publish(room, 150, "missed");
    await keeper.client.until(() => seqs(keeper.client).length === 153, "all at the keeper");

    const back = await joinOn(room, comeBackOn, "back", { since: 3, epoch: resumer.welcome.epoch });
    expect(back.welcome).toMatchObject({ recovered: true, seq: 153 });
    send(speaker.client, "live", "live");
    await back.client.next("message", (m) => m.data === "live");
    expect(seqs(back.client)).toEqual(Array.from({ length: 151 }, (_, i) => i + 4));
  });

  it("serves many resumers on one shard at once, each exactly once, while live ones arrive", async () => {
    const room = freshRoom();
    const speaker = await joinOn(room, 0, "speaker");
    const epoch = speaker.welcome.epoch;
    await publish(room, 120, "m");
    const points = [0, 10, 50, 119, 120];
    // Live broadcasts keep coming while they replay.
    const during = publish(room, 20, "during");
    const resumers = await Promise.all(
      points.map((since, i) => joinOn(room, 2, `r${i}`, { since, epoch })),
    );
    await during;
    send(speaker.client, "live", "live");
    for (const [i, { client, welcome }] of resumers.entries()) {
      expect(welcome.recovered).toBe(true);
      await client.next("message", (m) => m.data === "live");
      const since = points[i] ?? 0;
      expect(seqs(client)).toEqual(Array.from({ length: 141 - since }, (_, k) => since + 1 + k));
    }
  });
});
