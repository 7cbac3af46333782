/**
 * The demo editor in real Chromium against `wrangler dev`: two people open one
 * document, type at once, and end with the same text; each sees the other in
 * the people list and as a named remote cursor.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { chromiumLaunch } from "./chromium";
import { type DevServer, startWranglerDev } from "./wrangler";

let dev: DevServer;
let browser: Browser;

beforeAll(async () => {
  dev = await startWranglerDev();
  browser = await chromium.launch({ ...(await chromiumLaunch()), headless: true });
});

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
});

async function open(doc: string, name: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${dev.url}/editor.html?doc=${doc}`);
  await page.fill("#name", name);
  await page.click("#join button[type=submit]");
  await expect.poll(() => page.textContent("#status")).toBe("connected");
  return page;
}

/** The document's text: the lines without the remote cursors' name tags. */
const text = (page: Page) =>
  page.$eval(".cm-content", (content) => {
    const copy = content.cloneNode(true) as typeof content;
    for (const caret of copy.querySelectorAll(".cm-ySelectionCaret")) caret.remove();
    return copy.textContent;
  });

it("two pages edit one document at once and converge", { timeout: 60_000 }, async () => {
  const doc = `browser-doc-${Date.now().toString(36)}`;
  const ada = await open(doc, "Ada");
  const bob = await open(doc, "Bob");
  await ada.click(".cm-content");
  await bob.click(".cm-content");
  await Promise.all([
    ada.keyboard.type("ada was here. ", { delay: 15 }),
    bob.keyboard.type("bob too. ", { delay: 15 }),
  ]);
  await expect
    .poll(async () => {
      const [a, b] = await Promise.all([text(ada), text(bob)]);
      return a === b && a.includes("ada was here. ") && a.includes("bob too. ");
    })
    .toBe(true);
  // Presence from awareness: the people list and the remote cursor's name.
  await expect
    .poll(() => bob.$$eval("#people li", (els) => els.map((e) => e.textContent)))
    .toEqual(expect.arrayContaining(["Ada", "Bob (you)"]));
  await expect
    .poll(() => bob.$$eval(".cm-ySelectionInfo", (els) => els.map((e) => e.textContent)))
    .toContain("Ada");
});
