/**
 * The demo page in real Chromium against `wrangler dev`: two people join one
 * room, see each other, exchange a broadcast and a direct message; one goes
 * offline and comes back, and then shows every message sent meanwhile once.
 * The browser comes from npm (see ./chromium), so no system package is needed.
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

async function open(name: string, viewport: { width: number; height: number }): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  await page.goto(`${dev.url}/`);
  await page.fill("#room", "browser-demo");
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
