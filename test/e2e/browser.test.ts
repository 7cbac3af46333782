/**
 * The demo page in real Chromium against `wrangler dev`: two people join one
 * room, see each other, exchange a broadcast and a direct message; one goes
 * offline and comes back, and then shows every message sent meanwhile once.
 * Then the room list: each room's head count and unread messages change live,
 * with every room on one socket. The browser comes from npm (see ./chromium),
 * so no system package is needed.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { chromiumLaunch } from "./chromium";
import { type DevServer, startWranglerDev } from "./wrangler";

let dev: DevServer;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  const launch = await chromiumLaunch();
  dev = await startWranglerDev();
  profile = mkdtempSync(join(tmpdir(), "relay-chromium-"));
  context = await chromium.launchPersistentContext(profile, { ...launch, headless: true });
});

afterAll(async () => {
  await context?.close();
  await dev?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** The WebSockets each page opened, by their URL's path. */
const sockets = new Map<Page, string[]>();

async function open(
  name: string,
  viewport: { width: number; height: number },
  room = "browser-demo",
): Promise<Page> {
  const page = await context.newPage();
  const opened: string[] = [];
  sockets.set(page, opened);
  page.on("websocket", (socket) => opened.push(new URL(socket.url()).pathname));
  await page.setViewportSize(viewport);
  await page.goto(`${dev.url}/`);
  await page.fill("#room", room);
  await page.fill("#name", name);
  await page.click("#join button[type=submit]");
  await expect.poll(() => page.textContent("#status")).toBe("connected");
  return page;
}

async function say(page: Page, text: string, to = "Everyone"): Promise<void> {
  await page.selectOption("#to", { label: to });
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

const texts = (page: Page) =>
  page.$$eval("#messages .text", (els) => els.map((e) => e.textContent));
const people = (page: Page) => page.$$eval("#peers li", (els) => els.map((e) => e.textContent));
const states = (page: Page) =>
  page.$$eval("#messages li.mine .state", (els) => els.map((e) => e.textContent));

/** Waits until every text is shown, then a moment more so a duplicate would have time to appear. */
async function shows(page: Page, wanted: string[]): Promise<(string | null)[]> {
  await expect
    .poll(async () => {
      const shown = await texts(page);
      return wanted.filter((text) => !shown.includes(text));
    })
    .toEqual([]);
  await page.waitForTimeout(300);
  return texts(page);
}

const times = (list: (string | null)[], text: string) => list.filter((t) => t === text).length;

it("runs the demo chat in Chromium, through going offline and back", {
  timeout: 90_000,
}, async () => {
  const ada = await open("ada", { width: 1000, height: 640 });
  const bob = await open("bob", { width: 390, height: 760 });
  await expect.poll(() => people(ada)).toEqual(["ada (you)", "bob"]);
  await expect.poll(() => people(bob)).toEqual(["bob (you)", "ada"]);

  // Typing is presence state: bob sees it while ada types, and not once she sent.
  await ada.fill("#text", "hel");
  await expect.poll(() => people(bob)).toEqual(["bob (you)", "ada (typing…)"]);
  await say(ada, "hello everyone");
  await shows(bob, ["hello everyone"]);
  await expect.poll(() => people(bob)).toEqual(["bob (you)", "ada"]);
  await say(bob, "hi ada, just you", "ada");
  await shows(ada, ["hi ada, just you"]);
  expect(await ada.textContent("#messages li.direct .meta")).toContain("(private)");

  await bob.click("#offline");
  await expect.poll(() => bob.textContent("#status")).toBe("offline");
  await expect.poll(() => people(ada)).toEqual(["ada (you)"]);
  const missed = ["while you were away 1", "while you were away 2", "while you were away 3"];
  for (const text of missed) await say(ada, text);
  await say(bob, "typed while offline");
  await expect.poll(() => states(ada)).toEqual(["✓", "✓", "✓", "✓"]);

  await bob.click("#offline");
  await expect.poll(() => bob.textContent("#status")).toBe("connected");
  const bobSees = await shows(bob, missed);
  for (const text of ["hello everyone", ...missed]) expect(times(bobSees, text)).toBe(1);
  const adaSees = await shows(ada, ["typed while offline"]);
  expect(times(adaSees, "typed while offline")).toBe(1);
  await expect.poll(() => states(bob)).toEqual(["✓", "✓"]);
  expect(await bob.isHidden("#notice")).toBe(true);
  await expect.poll(() => people(ada)).toEqual(["ada (you)", "bob"]);

  mkdirSync("test-results", { recursive: true });
  await ada.screenshot({ path: "test-results/browser-ada.png" });
  await bob.screenshot({ path: "test-results/browser-bob.png" });
  // Refresh the README's picture on purpose only: it changes with every run's clock.
  if (process.env.UPDATE_SCREENSHOT)
    copyFileSync("test-results/browser-ada.png", "docs/screenshot.png");
});

/** The room list as shown: each room's name, head count and unread count (0 when hidden). */
const roomList = (page: Page) =>
  page.$$eval("#rooms li", (els) =>
    els.map((li) => {
      const unread = li.querySelector(".unread:not([hidden])");
      return {
        room: li.getAttribute("data-room"),
        here: Number(li.querySelector(".occupancy")?.textContent),
        unread: unread ? Number(unread.textContent) : 0,
      };
    }),
  );

async function addRoom(page: Page, room: string): Promise<void> {
  await page.fill("#new-room", room);
  await page.press("#new-room", "Enter");
  await expect.poll(() => page.textContent("#room-title")).toBe(room);
}

it("keeps every room's head count and unread messages live in the room list, over one socket", {
  timeout: 90_000,
}, async () => {
  const [one, two] = ["browser-list-1", "browser-list-2"];
  const cy = await open("cy", { width: 1000, height: 640 }, one);
  await addRoom(cy, two);
  await cy.click(`#rooms li[data-room="${one}"] button`);
  await expect.poll(() => cy.textContent("#room-title")).toBe(one);
  await expect
    .poll(() => roomList(cy))
    .toEqual([
      { room: one, here: 1, unread: 0 },
      { room: two, here: 1, unread: 0 },
    ]);

  // Someone comes into room two, which cy is not looking at: its count goes up.
  const di = await open("di", { width: 390, height: 760 }, two);
  await expect
    .poll(() => roomList(cy))
    .toEqual([
      { room: one, here: 1, unread: 0 },
      { room: two, here: 2, unread: 0 },
    ]);
  await say(di, "anyone in two?");
  await say(di, "hello?");
  await expect
    .poll(() => roomList(cy))
    .toEqual([
      { room: one, here: 1, unread: 0 },
      { room: two, here: 2, unread: 2 },
    ]);
  expect(await texts(cy)).not.toContain("anyone in two?");

  // Opening room two reads them.
  await cy.click(`#rooms li[data-room="${two}"] button`);
  expect(await shows(cy, ["anyone in two?", "hello?"])).toContain("hello?");
  await expect
    .poll(() => roomList(cy))
    .toEqual([
      { room: one, here: 1, unread: 0 },
      { room: two, here: 2, unread: 0 },
    ]);

  // di leaves: the count goes down again.
  await di.click("#leave");
  await expect
    .poll(() => roomList(cy))
    .toEqual([
      { room: one, here: 1, unread: 0 },
      { room: two, here: 1, unread: 0 },
    ]);
  // Both rooms, one socket.
  expect(sockets.get(cy)).toEqual(["/ws"]);
});
