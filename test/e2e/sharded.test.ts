/**
 * The client library in a room spread over three shards, under the real
 * `wrangler dev`: one order for everyone, and a client that goes offline
 * and comes back resumes exactly once, on the shard its client id picks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Message, type RelayClient } from "../../client/index";
import { type DevServer, startWranglerDev } from "./wrangler";
import { until } from "./ws-client";

let dev: DevServer;
const clients: RelayClient[] = [];

beforeAll(async () => {
  dev = await startWranglerDev({ SHARD_COUNT: "3", ADMIN_TOKEN: "e2e-admin" });
});

afterAll(async () => {
  for (const client of clients) client.close();
  await dev?.stop();
});

async function join(room: string, name: string) {
  const client = connect(dev.url, { room, name });
  clients.push(client);
  const got: Message[] = [];
  client.on("message", (message) => got.push(message));
  await until(() => client.status.state === "connected", `${name} connected`);
  return { client, got };
}

describe("the client library over shards", () => {
  it("sees one order, and resumes exactly once after going offline", async () => {
    const room = `sharded-${Date.now().toString(36)}`;
    const people = await Promise.all(["ada", "bob", "cy", "dee", "eve"].map((n) => join(room, n)));
    const description = await fetch(`${dev.url}/rooms/${room}`, {
      headers: { authorization: "Bearer e2e-admin" },
    });
    const { mode, shards } = (await description.json()) as {
      mode: string;
      shards: { sessions: number }[];
    };
    expect(mode).toBe("sharded");
    expect(shards.reduce((sum, shard) => sum + shard.sessions, 0)).toBe(5);

    const [ada, bob] = people as [(typeof people)[0], (typeof people)[0]];
    bob.client.disconnect();
    await until(() => bob.client.status.state === "offline", "bob offline");
    const sent = [];
    for (let n = 1; n <= 12; n++) sent.push(ada.client.broadcast(`m${n}`));
    await Promise.all(sent);
    bob.client.reconnect();
    sent.length = 0;
    for (let n = 13; n <= 15; n++) sent.push(ada.client.broadcast(`m${n}`));
    await Promise.all(sent);

    const all = Array.from({ length: 15 }, (_, i) => `m${i + 1}`);
    for (const { got } of people.slice(1)) {
      await until(() => got.length >= 15, "fifteen messages");
      expect(got.map((m) => m.data)).toEqual(all);
      const seqs = got.map((m) => m.seq ?? 0);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
  });
});
