/**
 * `node bench/doc-burst.mjs [--edits 3000] [--leave-after 1500] [--runs 3]`
 *
 * The burst a script or an import makes: one stock y-websocket provider sends
 * `edits` one-character edits, each its own transaction and so its own frame,
 * as fast as it can. Measured on edge-relay's /docs (direct socket) and
 * y-websocket 1.5's own server in the same run:
 * - time per update: a second provider watches; the time from the first edit
 *   to the watcher holding them all, divided by `edits`. The relay runs with
 *   the bench's lifted limits, so this is its speed, not its limit.
 * - kept when leaving early: the writer is destroyed `leave-after` ms after its
 *   burst began, without waiting for anything; a late joiner counts the edits
 *   the document kept. The relay runs with wrangler.toml's document limits.
 * Timing is reported as a ratio to y-websocket's server; nothing asserts on it.
 */
import { parseArgs } from "node:util";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { startMiniflareRelay, startYWebsocket } from "./documents.mjs";
import { cpuSeconds, sleep } from "./lib/proc.mjs";

const { values } = parseArgs({
  options: {
    edits: { type: "string", default: "3000" },
    "leave-after": { type: "string", default: "1500" },
    runs: { type: "string", default: "3" },
    "spread-ms": { type: "string", default: "0" },
  },
});
const EDITS = Number(values.edits);
const LEAVE_AFTER_MS = Number(values["leave-after"]);
const RUNS = Number(values.runs);
/** 0: the edits in one synchronous loop; else spread evenly over this many ms. */
const SPREAD_MS = Number(values["spread-ms"]);
/** How long a late joiner waits for the edits to stop arriving. */
const SETTLE_MS = 3000;

let docs = 0;

/** A synced provider on `url` for document `name`. @param {string} url @param {string} name */
async function provider(url, name) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(url, name, doc, {
    WebSocketPolyfill: /** @type {any} */ (WebSocket),
    disableBc: true,
  });
  await new Promise((resolve) => (p.synced ? resolve(0) : p.once("sync", resolve)));
  return { doc, text: doc.getText("t"), provider: p };
}

/** Sends the burst: one transaction, one frame, per character. @param {Y.Text} text */
async function burst(text) {
  const started = performance.now();
  for (let i = 0; i < EDITS; i++) {
    text.insert(text.length, ".");
    const due = started + (SPREAD_MS * (i + 1)) / EDITS;
    if (SPREAD_MS > 0 && performance.now() < due) await sleep(due - performance.now());
  }
}

/**
 * Milliseconds per update: seen by a watcher (wall), and the server's CPU;
 * wall is -1 if the watcher never saw them all. @param {{ws: string, pid: () => number}} server
 */
async function timePerUpdate(server) {
  const url = server.ws;
  const name = `burst-time-${Date.now().toString(36)}-${++docs}`;
  const [writer, watcher] = [await provider(url, name), await provider(url, name)];
  const all = new Promise((resolve) => {
    watcher.text.observe(() => {
      if (watcher.text.length >= EDITS) resolve(performance.now());
    });
  });
  const cpu = cpuSeconds(server.pid());
  const started = performance.now();
  await burst(writer.text);
  const done = await Promise.race([all, sleep(60_000).then(() => undefined)]);
  const cpuMs = ((cpuSeconds(server.pid()) - cpu) * 1000) / EDITS;
  for (const p of [writer, watcher]) p.provider.destroy();
  return { wall: done === undefined ? -1 : (Number(done) - started) / EDITS, cpu: cpuMs };
}

/** Edits a late joiner finds after the writer left `LEAVE_AFTER_MS` into its burst. @param {string} url */
async function keptWhenLeaving({ ws: url }) {
  const name = `burst-leave-${Date.now().toString(36)}-${++docs}`;
  const writer = await provider(url, name);
  const started = performance.now();
  await burst(writer.text);
  await sleep(Math.max(0, LEAVE_AFTER_MS - (performance.now() - started)));
  writer.provider.destroy();

  const joiner = await provider(url, name);
  // Edits may still be arriving: wait until the count stops moving.
  let seen = -1;
  while (joiner.text.length !== seen) {
    seen = joiner.text.length;
    await sleep(SETTLE_MS);
  }
  joiner.provider.destroy();
  return seen;
}

/** The document limits wrangler.toml ships with, over the bench's lifted ones. */
function shippedDocLimits() {
  const { bindings = {} } = unstable_getMiniflareWorkerOptions("wrangler.toml").workerOptions;
  return Object.fromEntries(
    Object.entries(bindings).filter(([name]) => name.startsWith("DOC_RATE_LIMIT")),
  );
}

/**
 * Runs `measure` `RUNS` times on a fresh server.
 * @template T
 * @param {() => Promise<{ws: string, pid: () => number, stop: () => Promise<void>}>} start
 * @param {(server: {ws: string, pid: () => number}) => Promise<T>} measure
 */
async function on(start, measure) {
  const server = await start();
  try {
    /** @type {T[]} */
    const results = [];
    for (let i = 0; i < RUNS; i++) results.push(await measure(server));
    return results;
  } finally {
    await server.stop();
  }
}

const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

process.setMaxListeners(50);
const relayTime = await on(() => startMiniflareRelay(), timePerUpdate);
const relayKept = await on(() => startMiniflareRelay(shippedDocLimits()), keptWhenLeaving);
const yTime = await on(startYWebsocket, timePerUpdate);
const yKept = await on(startYWebsocket, keptWhenLeaving);
const wall = (/** @type {{wall: number}[]} */ xs) => xs.map((x) => x.wall);
const cpu = (/** @type {{cpu: number}[]} */ xs) => xs.map((x) => x.cpu);
const ms = (/** @type {number[]} */ xs) => xs.map((x) => x.toFixed(3)).join(", ");
console.log(
  `| server | wall ms per update | server CPU ms per update | kept of ${EDITS}, leaving after ${LEAVE_AFTER_MS} ms |`,
);
console.log("|---|---|---|---|");
for (const [label, time, kept] of [
  ["edge-relay /docs (direct socket)", relayTime, relayKept],
  ["y-websocket 1.5 server", yTime, yKept],
]) {
  console.log(`| ${label} | ${ms(wall(time))} | ${ms(cpu(time))} | ${kept.join(", ")} |`);
}
const ratio = (/** @type {(xs: {wall: number, cpu: number}[]) => number[]} */ of) =>
  median(of(relayTime)) / median(of(yTime));
console.log(
  `\nrelay / y-websocket, medians: wall ${ratio(wall).toFixed(2)}x, server CPU ${ratio(cpu).toFixed(2)}x`,
);
process.exit(0);
