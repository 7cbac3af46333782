/**
 * examples/chat-rules, a Worker of someone else's built from
 * edge-relay/server and depending on this package by path, under its own
 * `wrangler dev`: the relay under /realtime, an authorize hook, a room rule.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startWranglerDev } from "./wrangler";
import { refusedUpgrade, until, WsClient } from "./ws-client";

const EXAMPLE = join(process.cwd(), "examples/chat-rules");
let dev: DevServer;

beforeAll(async () => {
  // `npm install` there links edge-relay from ../.. as a user's would.
  if (!existsSync(join(EXAMPLE, "node_modules/edge-relay"))) {
    await promisify(execFile)("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: EXAMPLE,
    });
  }
  dev = await startWranglerDev(
    {},
    { config: join(EXAMPLE, "wrangler.toml"), health: "/realtime/health" },
  );
});

afterAll(async () => {
  await dev?.stop();
});

const socket = (room: string, name: string, invite = "let-me-in") =>
  `${dev.ws}/realtime/rooms/${room}/ws?name=${name}&invite=${invite}`;

describe("the example Worker", () => {
  it("keeps its own routes and mounts the relay under /realtime", async () => {
    expect(await (await fetch(`${dev.url}/`)).text()).toContain("my app");
    expect(await (await fetch(`${dev.url}/realtime/health`)).json()).toEqual({ ok: true });
  });

  it("refuses a socket without the invite through its authorize hook", async () => {
    const refused = await refusedUpgrade(socket("lobby", "eve", "wrong"));
    expect(refused.status).toBe(401);
  });

  it("stamps a broadcast with its sender, stored and replayed so", async () => {
    const ada = await WsClient.open(socket("lobby", "ada"));
    const bob = await WsClient.open(socket("lobby", "bob"));
    ada.send({ type: "broadcast", data: "hi", id: "m1" });
    expect((await bob.next("message")).data).toEqual({ by: "ada", said: "hi" });
    const welcome = ada.all("welcome")[0];
    const late = await WsClient.open(`${socket("lobby", "cy")}&since=0&epoch=${welcome?.epoch}`);
    expect((await late.next("message")).data).toEqual({ by: "ada", said: "hi" });
    for (const client of [ada, bob, late]) client.ws.close();
  });

  it("refuses a non-moderator in announcements: the sender gets forbidden, nobody gets it", async () => {
    const eve = await WsClient.open(socket("announcements", "eve"));
    const grace = await WsClient.open(socket("announcements", "grace"));
    const bob = await WsClient.open(socket("announcements", "bob"));
    eve.send({ type: "broadcast", data: "buy now", id: "spam" });
    expect(await eve.next("error")).toMatchObject({ code: "forbidden", id: "spam" });
    grace.send({ type: "broadcast", data: "release at noon", id: "news" });
    await bob.next("message");
    // The moderator's message arrived; the refused one never reached anyone.
    expect(bob.all("message").map((m) => m.data)).toEqual([
      { by: "grace", said: "release at noon" },
    ]);
    await until(() => grace.all("ack").length === 1, "grace's ack");
    expect(grace.all("message")).toEqual([]);
    for (const client of [eve, grace, bob]) client.ws.close();
  });
});
