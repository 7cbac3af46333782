/**
 * `node bench/documents.mjs [--quick]`
 *
 * The documents scenario: N stock y-websocket providers edit one Yjs document
 * at a stated rate each (one transaction per "keystroke": a character typed
 * and the sender's clock in a map), against edge-relay's /docs under
 * workerd (through Miniflare, no dev proxy, and under `wrangler dev`) and
 * y-websocket 1.5's own Node server (`bin/server.js`) in the same run. It reports updates/s delivered to the other providers and the
 * latency from a provider's edit to each other provider applying it.
 * `runDocuments` is the scenario for bench.mjs; nothing here asserts on timing.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { Histogram } from "./lib/histogram.mjs";
import { freePort, sleep } from "./lib/proc.mjs";
import { buildBundle, startWorkerd, startWranglerDev } from "./lib/servers.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const DOCUMENTS_FULL = {
  providers: 20,
  rates: [5, 10, 20, 40],
  stepMs: 5000,
  graceMs: 3000,
};
export const DOCUMENTS_QUICK = { providers: 5, rates: [10, 40], stepMs: 1500, graceMs: 1500 };

/**
 * Runs the scenario on both servers; answers one row per server and rate.
 * @param {{providers: number, rates: number[], stepMs: number, graceMs: number}} plan
 */
export async function runDocuments(plan = DOCUMENTS_QUICK) {
  const rows = [];
  // Each provider adds a process "exit" listener (y-websocket's own).
  process.setMaxListeners(plan.providers + 10);
  for (const start of [startMiniflareRelay, startRelay, startYWebsocket]) {
    const server = await start();
    try {
      for (const rate of plan.rates)
        rows.push({ server: server.label, ...(await step(server.ws, plan, rate)) });
    } finally {
      await server.stop();
    }
  }
  return rows;
}

/**
 * The relay on a direct socket (no entry worker, no dev proxy): the production
 * path. `vars` override the bench's lifted limits. @param {Record<string, string>} [vars]
 */
export async function startMiniflareRelay(vars = {}) {
  const { entry, outdir } = await buildBundle();
  const label = "edge-relay /docs (direct socket)";
  const hostArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}=${value}`]);
  const server = await startWorkerd({ key: "direct", label, entry, direct: true, hostArgs });
  return {
    label,
    ws: `${server.base.replace("http", "ws")}/docs`,
    /** The process that serves, for CPU accounting. */
    pid: server.measuredPid,
    stop: async () => {
      await server.stop();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** The relay as developers see it; the bench's vars lift the per-socket rate limits. */
async function startRelay() {
  const server = await startWranglerDev();
  return {
    label: "edge-relay /docs (wrangler dev)",
    ws: `${server.base.replace("http", "ws")}/docs`,
    stop: server.stop,
  };
}

/** y-websocket 1.5's reference server, in memory, as its README runs it. */
export async function startYWebsocket() {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "node_modules/y-websocket-v1/bin/server.js")], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port) },
    stdio: "ignore",
    detached: true,
  });
  const base = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(base)).ok) break;
    } catch {
      if (tries > 100) throw new Error("y-websocket server did not start");
      await sleep(100);
    }
  }
  const stop = async () => {
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-(/** @type {number} */ (child.pid)), "SIGTERM");
    await Promise.race([exited, sleep(3000)]);
  };
  const pid = () => /** @type {number} */ (child.pid);
  return { label: "y-websocket 1.5 server (Node)", ws: `ws://127.0.0.1:${port}`, pid, stop };
}

/**
 * One step: every provider edits at `rate` per second for `stepMs`; then a grace
 * period for the last deliveries.
 * @param {string} url @param {{providers: number, stepMs: number, graceMs: number}} plan @param {number} rate
 */
async function step(url, plan, rate) {
  const name = `bench-doc-${Date.now().toString(36)}-${rate}`;
  const latency = new Histogram();
  let delivered = 0;
  const editors = [];
  for (let i = 0; i < plan.providers; i++) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(url, name, doc, {
      WebSocketPolyfill: /** @type {any} */ (WebSocket),
      disableBc: true,
    });
    const clocks = doc.getMap("clocks");
    clocks.observe((event) => {
      if (event.transaction.local) return;
      const now = performance.timeOrigin + performance.now();
      for (const key of event.keysChanged) {
        latency.record(now - /** @type {number} */ (clocks.get(key)));
        delivered++;
      }
    });
    editors.push({ doc, provider, clocks, text: doc.getText("t"), id: String(i) });
  }
  await Promise.all(
    editors.map(
      ({ provider }) => new Promise((r) => (provider.synced ? r(0) : provider.once("sync", r))),
    ),
  );
  await sleep(200);

  let sent = 0;
  const started = performance.now();
  const interval = 1000 / rate;
  // Each provider on its own schedule, offset so the edits interleave.
  await Promise.all(
    editors.map(async (editor, i) => {
      let next = started + (interval * i) / editors.length;
      while (next < started + plan.stepMs) {
        await sleep(Math.max(0, next - performance.now()));
        editor.doc.transact(() => {
          editor.text.insert(editor.text.length, "x");
          editor.clocks.set(editor.id, performance.timeOrigin + performance.now());
        });
        sent++;
        next += interval;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const expected = sent * (editors.length - 1);
  const deadline = performance.now() + plan.graceMs;
  while (delivered < expected && performance.now() < deadline) await sleep(50);
  for (const { provider, doc } of editors) {
    provider.destroy();
    doc.destroy();
  }
  return {
    providers: editors.length,
    ratePerProvider: rate,
    updatesPerSecond: Math.round(sent / elapsed),
    deliveredPerSecond: Math.round(delivered / elapsed),
    deliveredShare: expected ? delivered / expected : 1,
    p50: latency.percentile(50),
    p99: latency.percentile(99),
  };
}

/** @param {Awaited<ReturnType<typeof runDocuments>>} rows */
export function documentsTable(rows) {
  const lines = [
    "| server | providers | edits/s each | updates/s in | delivered/s | delivered | p50 ms | p99 ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.server} | ${r.providers} | ${r.ratePerProvider} | ${r.updatesPerSecond} | ${r.deliveredPerSecond} | ${(r.deliveredShare * 100).toFixed(1)}% | ${r.p50?.toFixed(1) ?? "-"} | ${r.p99?.toFixed(1) ?? "-"} |`,
    );
  }
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
  const rows = await runDocuments(values.quick ? DOCUMENTS_QUICK : DOCUMENTS_FULL);
  console.log(documentsTable(rows));
  process.exit(0);
}
