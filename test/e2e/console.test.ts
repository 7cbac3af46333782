/**
 * The debug console (public/console.html) in real Chromium against
 * `wrangler dev`: sign in with the admin token, see a room a test client is
 * in, watch it while people talk, publish into it, read its history, and
 * look at a document and the hubs' multiplexed connections, with the token
 * nowhere but this tab's session storage.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { chromiumLaunch } from "./chromium";
import { type DevServer, startWranglerDev } from "./wrangler";
import { WsClient } from "./ws-client";

const ADMIN = "e2e-console-admin";
const ROOM = "console-demo";

let dev: DevServer;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  const launch = await chromiumLaunch();
  dev = await startWranglerDev({ ADMIN_TOKEN: ADMIN });
  profile = mkdtempSync(join(tmpdir(), "relay-console-"));
  context = await chromium.launchPersistentContext(profile, { ...launch, headless: true });
});

afterAll(async () => {
  await context?.close();
  await dev?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const texts = (page: Page, selector: string) =>
  page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ""));
const countOf = (page: Page, list: string, name: string) =>
  page
    .locator(`#${list}-list button[data-name="${name}"] .count`)
    .textContent({ timeout: 1000 })
    .catch(() => null);
const events = (page: Page) => texts(page, "#events .text");

/** A multiplexed connection (`GET /ws`) subscribed to `rooms`, once each room has welcomed it. */
async function multiplexed(client: string, rooms: string[]): Promise<WebSocket> {
  const ws = new WebSocket(`${dev.ws}/ws?client=${client}&name=${client}`);
  const welcomed = new Set<string>();
  const all = new Promise<void>((resolve) => {
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; room?: string };
      if (frame.type === "welcome" && frame.room) welcomed.add(frame.room);
      if (welcomed.size === rooms.length) resolve();
    });
  });
  await new Promise((resolve) => ws.once("open", resolve));
  for (const room of rooms) ws.send(JSON.stringify({ type: "subscribe", room }));
  await all;
  return ws;
}

/** The hubs table as numbers: a row per hub the console lists. */
async function hubRows(page: Page) {
  const rows = await page.$$eval("#hubs-list tr", (trs) =>
    trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
  );
  return rows.map(([, connections = "", rooms = "", perConnection = ""]) => ({
    connections: Number(connections),
    rooms: Number(rooms),
    perConnection: perConnection.split(" · ").map(Number),
  }));
}

it("watches a room in the console while a client talks in it, and publishes into it", {
  timeout: 90_000,
}, async () => {
  const ada = await WsClient.open(`${dev.ws}/rooms/${ROOM}/ws?name=ada`);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1200, height: 760 });
  await page.goto(`${dev.url}/console`);

  await page.fill("#token", "not-the-token");
  await page.press("#token", "Enter");
  await expect.poll(() => page.textContent("#login-error")).toContain("refused");
  await page.fill("#token", ADMIN);
  await page.press("#token", "Enter");
  await expect.poll(() => countOf(page, "rooms", ROOM), { timeout: 10_000 }).toBe("1");
  // The hubs that hold connections for many rooms are listed too (wrangler.toml: 8): a row per
  // hub holding any, with its connections, its rooms and each connection's rooms, most first.
  await expect.poll(() => page.textContent("#hubs-list")).toBe("no multiplexed connections");
  const cleo = await multiplexed("cleo", ["console-side-a", "console-side-b"]);
  const dan = await multiplexed("dan", ["console-side-b"]);
  await expect
    .poll(() => page.textContent("#hubs-total"), { timeout: 10_000 })
    .toMatch(/^2 connections on 8 hubs/);
  const rows = await hubRows(page);
  expect(rows.reduce((sum, row) => sum + row.connections, 0)).toBe(2);
  expect(rows.flatMap((row) => row.perConnection).sort((a, b) => a - b)).toEqual([1, 2]);
  for (const row of rows) expect(row.perConnection).toHaveLength(row.connections);
  // One hub holding both holds both rooms; apart, each holds its connection's.
  const held = rows.length === 1 ? [2] : [1, 2];
  expect(rows.map((row) => row.rooms).sort((a, b) => a - b)).toEqual(held);

  await page.click(`#rooms-list button[data-name="${ROOM}"]`);
  await expect.poll(() => page.textContent("#watch-status")).toBe("watching");
  await expect.poll(() => texts(page, "#room-peers li")).toEqual(["ada"]);

  const bob = await WsClient.open(`${dev.ws}/rooms/${ROOM}/ws?name=bob`);
  ada.send({ type: "presence", state: { typing: true } });
  ada.send({ type: "broadcast", data: { text: "hello from ada" } });
  await bob.next("message");
  await expect
    .poll(() => events(page))
    .toEqual(['ada (#1): {"text":"hello from ada"}', 'ada set {"typing":true}', "bob joined"]);
  // The watcher is nobody in the room: bob was told of ada only.
  expect(bob.frames.find((f) => f.type === "welcome")).toMatchObject({ occupancy: 2 });
  await expect.poll(() => countOf(page, "rooms", ROOM), { timeout: 15_000 }).toBe("2");

  await page.fill("#publish-data", '{"text": "hi from the console"}');
  await page.click("#publish button[type=submit]");
  const published = await ada.next("message", (m) => m.from === "server");
  expect(published.data).toEqual({ text: "hi from the console" });
  await expect
    .poll(async () => (await events(page))[0])
    .toBe('server (#2): {"text":"hi from the console"}');

  await page.click("#history-load");
  await expect
    .poll(() => texts(page, "#history .text"))
    .toEqual([
      'ada (#1): {"text":"hello from ada"}',
      'server (#2): {"text":"hi from the console"}',
    ]);

  mkdirSync("test-results", { recursive: true });
  await page.screenshot({ path: "test-results/console.png" });
  // Refresh the README's picture on purpose only: it changes with every run's clock.
  if (process.env.UPDATE_SCREENSHOT) copyFileSync("test-results/console.png", "docs/console.png");

  // A phone: the room takes the screen's width, its title one line, the publish button its label.
  await page.setViewportSize({ width: 390, height: 844 });
  const panel = await page.locator("#room-panel").boundingBox();
  expect(panel?.width).toBeGreaterThanOrEqual(390 * 0.9);
  const title = await page.locator("#room-panel h2").boundingBox();
  const fontSize = await page
    .locator("#room-panel h2")
    .evaluate((el) =>
      Number.parseFloat(el.ownerDocument.defaultView?.getComputedStyle(el).fontSize ?? "0"),
    );
  expect(title?.height).toBeLessThan(fontSize * 2);
  const publish = page.locator("#publish button[type=submit]");
  expect(await publish.innerText()).toBe("Publish");
  const fits = await publish.evaluate((el) => el.scrollWidth <= el.clientWidth);
  expect(fits).toBe(true);
  for (const part of ["#events", "#history", "#publish-data", "#hubs-table"]) {
    const box = await page.locator(part).boundingBox();
    expect(box?.x).toBeGreaterThanOrEqual(0);
    expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390);
  }
  // The hubs table fits, and each of its cells reads on one line.
  const table = page.locator("#hubs-table");
  expect(await table.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  const lines = await page.$$eval("#hubs-table th, #hubs-table td", (cells) =>
    cells.map((cell) => {
      const range = cell.ownerDocument.createRange();
      range.selectNodeContents(cell);
      return range.getClientRects().length;
    }),
  );
  expect(lines).toEqual(lines.map(() => 1));
  await table.scrollIntoViewIfNeeded();
  await page.screenshot({ path: "test-results/console-phone-hubs.png" });
  await page.locator("#room-panel").scrollIntoViewIfNeeded();
  await page.screenshot({ path: "test-results/console-phone.png" });
  await page.setViewportSize({ width: 1200, height: 760 });

  bob.ws.close();
  await expect.poll(async () => (await events(page))[0]).toBe("bob left");
  // The watcher and ada hear of it on different sockets: wait for ada's own.
  await ada.next("leave");
  expect(ada.all("leave").map((f) => f.peer.name)).toEqual(["bob"]);

  // The token is in this tab's session only: not in the URL, not in lasting storage.
  expect(page.url()).toBe(`${dev.url}/console`);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);

  const doc = new WebSocket(`${dev.ws}/docs/console-doc`);
  await new Promise((resolve) => doc.once("open", resolve));
  await expect.poll(() => countOf(page, "docs", "console-doc"), { timeout: 10_000 }).toBe("1");
  await page.click('#docs-list button[data-name="console-doc"]');
  await expect.poll(() => page.textContent("#doc-connections")).toBe("1");
  doc.close();
  ada.ws.close();
  cleo.close();
  dan.close();
  await expect
    .poll(() => page.textContent("#hubs-total"), { timeout: 10_000 })
    .toMatch(/^0 connections on 8 hubs/);
  expect(await page.textContent("#hubs-list")).toBe("no multiplexed connections");

  await page.click("#logout");
  expect(await page.isVisible("#login")).toBe(true);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
});
