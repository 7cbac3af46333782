/**
 * `node bench/documents.mjs [--quick] [--rounds 3] [--providers 20] [--rates 5,20,40]
 *   [--compare DIR]... [--wrangler-dev] [--profile]`
 *
 * The documents scenario: N stock y-websocket providers edit one Yjs document
 * at a stated rate each, against edge-relay's /docs on a direct workerd
 * socket (no entry worker, no dev proxy: the production path) and y-websocket
 * 1.5's own Node server (`bin/server.js`), alternated over several rounds
 * (fresh servers each round), so both see the same moments of a shared machine.
 *
 * It counts content, not events. Each edit is one transaction, as a keystroke
 * is: a character typed into the shared text, and the sender's clock pushed to
 * the sender's own array. A receiver reads every clock it is given, so latency
 * is per edit even when the server merges several edits into one update; at
 * the end, each provider's copy of every other sender's array and the length
 * of its text say what arrived: delivered is 100% only when every edit reached
 * every other provider.
 *
 * `--profile` CPU-profiles the relay's isolate through the inspector during
 * its first round and prints the top self time. `runDocuments` is the
 * scenario for bench.mjs; nothing here asserts on timing.
 */
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { selfTimes } from "./lib/cpu-profile.mjs";
import { Histogram } from "./lib/histogram.mjs";
import { inspect } from "./lib/inspector.mjs";
import { freePort, sleep } from "./lib/proc.mjs";
import { buildBundle, startWorkerd, startWranglerDev } from "./lib/servers.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** 20 providers at 5, 20 and 40 edits/s each: 100, 400 and 800 updates/s in. */
export const DOCUMENTS_FULL = {
  providers: 20,
  rates: [5, 20, 40],
  stepMs: 5000,
  graceMs: 3000,
  rounds: 3,
};
export const DOCUMENTS_QUICK = {
  providers: 5,
  rates: [10, 40],
  stepMs: 1500,
  graceMs: 1500,
  rounds: 1,
};

/**
 * @typedef {{providers: number, rates: number[], stepMs: number, graceMs: number, rounds: number}} Plan
 * @typedef {(vars?: Record<string, string>, inspector?: boolean) => Promise<{label: string, ws: string,
 *   inspectorPort?: number, stop: () => Promise<void>}>} Start
 * @typedef {{server: string, round: number, load: number, providers: number, ratePerProvider: number,
 *   updatesPerSecond: number, deliveredPerSecond: number, deliveredShare: number, textsWhole: boolean,
 *   p50: number | null, p99: number | null}} Row
 */

/**
 * Runs the scenario: relay and y-websocket alternated, `plan.rounds` times
 * (which goes first alternates too); answers one row per server, round and rate.
 * `compare` adds other relays (`--compare DIR`, repeatable: other checkouts') to the rotation.
 * @param {Plan} plan @param {{wranglerDev?: boolean, profile?: boolean, compare?: Start[]}} [options]
 * @returns {Promise<Row[]>}
 */
export async function runDocuments(plan = DOCUMENTS_QUICK, options = {}) {
  /** @type {Row[]} */
  const rows = [];
  // Each provider adds a process "exit" listener (y-websocket's own).
  process.setMaxListeners(plan.providers + 10);
  for (let round = 1; round <= plan.rounds; round++) {
    /** @type {Start[]} */
    const servers = [startMiniflareRelay, startYWebsocket];
    servers.push(...(options.compare ?? []));
    // Each round starts with another server, so none always runs first.
    const order = servers.map(
      (_, i) => servers[(i + round - 1) % servers.length] ?? startYWebsocket,
    );
    for (const start of order) {
      const profiling = options.profile && round === 1 && start === startMiniflareRelay;
      const server = await start({}, profiling);
      const profiler = profiling
        ? await startProfiler(/** @type {number} */ (server.inspectorPort))
        : undefined;
      try {
        for (const rate of plan.rates) {
          const load = loadavg()[0] ?? 0;
          rows.push({ server: server.label, round, load, ...(await step(server.ws, plan, rate)) });
        }
      } finally {
        await profiler?.stop();
        await server.stop();
      }
    }
  }
  if (options.wranglerDev) {
    const server = await startRelayUnderDev();
    try {
      for (const rate of plan.rates)
        rows.push({
          server: server.label,
          round: 1,
          load: loadavg()[0] ?? 0,
          ...(await step(server.ws, plan, rate)),
        });
    } finally {
      await server.stop();
    }
  }
  return rows;
}

/**
 * The relay on a direct socket (no entry worker, no dev proxy): the production
 * path. `vars` override the bench's lifted limits; `inspector` opens the V8
 * inspector on a port of its own. @param {Record<string, string>} [vars] @param {boolean} [inspector]
 */
export async function startMiniflareRelay(vars = {}, inspector = false) {
  const { entry, outdir } = await buildBundle();
  const label = "edge-relay /docs (direct socket)";
  const hostArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}=${value}`]);
  const inspectorPort = inspector ? await freePort() : undefined;
  if (inspectorPort) hostArgs.push("--inspector-port", String(inspectorPort));
  const server = await startWorkerd({ key: "direct", label, entry, direct: true, hostArgs });
  return {
    label,
    ws: `${server.base.replace("http", "ws")}/docs`,
    inspectorPort,
    /** The process that serves, for CPU accounting. */
    pid: server.measuredPid,
    stop: async () => {
      await server.stop();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/**
 * The relay of another checkout of this repository (its own bench starts it
 * from its own sources), labelled with its directory: a before/after in one run.
 * @param {string} dir @returns {Promise<Start>}
 */
async function relayOf(dir) {
  const theirs = await import(join(dir, "bench/documents.mjs"));
  return async (vars, inspector) => {
    const server = await theirs.startMiniflareRelay(vars, inspector);
    return { ...server, label: `edge-relay /docs, ${dir} (direct socket)` };
  };
}

/** The relay as developers see it; the bench's vars lift the per-socket rate limits. */
async function startRelayUnderDev() {
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

/** Profiles the relay's isolate until `stop`, which prints and writes the profile. @param {number} port */
async function startProfiler(port) {
  const { cdp, close } = await inspect(port);
  await cdp("Profiler.enable");
  await cdp("Profiler.setSamplingInterval", { interval: 200 });
  await cdp("Profiler.start");
  return {
    stop: async () => {
      const { profile } = /** @type {any} */ (await cdp("Profiler.stop"));
      const out = join(ROOT, "bench/results/documents.cpuprofile");
      writeFileSync(out, JSON.stringify(profile));
      const { total, top } = selfTimes(profile, 30);
      console.log(`relay isolate samples: ${total}; top self time:`);
      for (const { key, share } of top)
        console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${key}`);
      console.log(`wrote ${out}`);
      close();
    },
  };
}

/**
 * One provider of the scenario: its document, and what it has seen of each sender.
 * @param {string} url @param {string} name @param {number} index @param {number} count @param {Histogram} latency
 */
function editor(url, name, index, count, latency) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url, name, doc, {
    WebSocketPolyfill: /** @type {any} */ (WebSocket),
    disableBc: true,
  });
  for (let sender = 0; sender < count; sender++) {
    if (sender === index) continue;
    // Every clock in an insert is one edit, however many arrive in one update.
    doc.getArray(`clocks-${sender}`).observe((event) => {
      const now = performance.timeOrigin + performance.now();
      for (const change of event.changes.delta) {
        for (const sent of /** @type {number[]} */ (change.insert ?? []))
          latency.record(now - sent);
      }
    });
  }
  const text = doc.getText("t");
  const clocks = doc.getArray(`clocks-${index}`);
  return {
    doc,
    provider,
    /** One keystroke: a character and the time it was typed, in one transaction. */
    edit: () =>
      doc.transact(() => {
        text.insert(text.length, "x");
        clocks.push([performance.timeOrigin + performance.now()]);
      }),
    /** Edits of `sender` this provider holds. @param {number} sender */
    heard: (sender) => doc.getArray(`clocks-${sender}`).length,
    textLength: () => text.length,
  };
}

/**
 * One step: every provider edits at `rate` per second for `stepMs`; then up to
 * `graceMs` for the last edits to arrive everywhere.
 * @param {string} url @param {{providers: number, stepMs: number, graceMs: number}} plan @param {number} rate
 */
async function step(url, plan, rate) {
  const name = `bench-doc-${Date.now().toString(36)}-${rate}`;
  const latency = new Histogram();
  const editors = Array.from({ length: plan.providers }, (_, i) =>
    editor(url, name, i, plan.providers, latency),
  );
  await Promise.all(
    editors.map(
      ({ provider }) => new Promise((r) => (provider.synced ? r(0) : provider.once("sync", r))),
    ),
  );
  await sleep(200);

  const sent = editors.map(() => 0);
  const started = performance.now();
  const interval = 1000 / rate;
  // Each provider on its own schedule, offset so the edits interleave.
  await Promise.all(
    editors.map(async (editor, i) => {
      let next = started + (interval * i) / editors.length;
      while (next < started + plan.stepMs) {
        await sleep(Math.max(0, next - performance.now()));
        editor.edit();
        sent[i] = (sent[i] ?? 0) + 1;
        next += interval;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const total = sent.reduce((a, b) => a + b, 0);
  const expected = total * (editors.length - 1);
  const delivered = () =>
    editors.reduce(
      (sum, e, i) => sum + sent.reduce((n, s, j) => n + (i === j ? 0 : Math.min(e.heard(j), s)), 0),
      0,
    );
  const deadline = performance.now() + plan.graceMs;
  while (delivered() < expected && performance.now() < deadline) await sleep(50);
  const arrived = delivered();
  const textsWhole = editors.every((e) => e.textLength() === total);
  for (const { provider, doc } of editors) {
    provider.destroy();
    doc.destroy();
  }
  return {
    providers: editors.length,
    ratePerProvider: rate,
    updatesPerSecond: Math.round(total / elapsed),
    deliveredPerSecond: Math.round(arrived / elapsed),
    deliveredShare: expected ? arrived / expected : 1,
    textsWhole,
    p50: latency.percentile(50),
    p99: latency.percentile(99),
  };
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** @param {number | null | undefined} v */
const ms = (v) => (v == null ? "-" : v.toFixed(1));

/**
 * Every round's rows, then the medians per server and rate and the relay's
 * ratio to y-websocket's medians.
 * @param {Row[]} rows
 */
export function documentsTable(rows) {
  const lines = [
    "| server | round | load avg | updates/s in | delivered/s | delivered (by content) | texts whole | p50 ms | p99 ms |",
    "|---|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.server} | ${r.round} | ${r.load.toFixed(1)} | ${r.updatesPerSecond} | ${r.deliveredPerSecond} | ${(r.deliveredShare * 100).toFixed(1)}% | ${r.textsWhole ? "yes" : "**no**"} | ${ms(r.p50)} | ${ms(r.p99)} |`,
    );
  }
  lines.push("", ...summaryTable(rows));
  return lines.join("\n");
}

/**
 * Medians over rounds (range in brackets) per rate and server, and each
 * server's medians as ratios of y-websocket's. @param {Row[]} rows
 */
function summaryTable(rows) {
  const servers = [...new Set(rows.map((r) => r.server))];
  const rates = [...new Set(rows.map((r) => r.ratePerProvider))];
  const ywebsocket = servers.find((s) => s.startsWith("y-websocket"));
  /** @param {string | undefined} server @param {number} rate @param {"p50" | "p99"} p */
  const stat = (server, rate, p) => {
    const values = rows
      .filter((r) => r.server === server && r.ratePerProvider === rate && r[p] != null)
      .map((r) => /** @type {number} */ (r[p]));
    if (!values.length) return undefined;
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  /** @param {ReturnType<typeof stat>} s */
  const cell = (s) => (s ? `${ms(s.median)} (${ms(s.min)}-${ms(s.max)})` : "-");
  /** @param {string} server @param {number} rate @param {"p50" | "p99"} p */
  const ratio = (server, rate, p) => {
    const a = stat(server, rate, p);
    const b = stat(ywebsocket, rate, p);
    return a && b ? `${(a.median / b.median).toFixed(2)}x` : "-";
  };
  const lines = [
    "| updates/s in | server | p50 ms, median (range) | p99 ms, median (range) | p50, p99 vs y-websocket | delivered, worst round |",
    "|---:|---|---:|---:|---:|---:|",
  ];
  for (const rate of rates) {
    for (const server of servers) {
      const mine = rows.filter((r) => r.ratePerProvider === rate && r.server === server);
      const updates = Math.round(median(mine.map((r) => r.updatesPerSecond)));
      const worst = Math.min(...mine.map((r) => r.deliveredShare));
      const vs =
        server === ywebsocket
          ? "1x"
          : `${ratio(server, rate, "p50")}, ${ratio(server, rate, "p99")}`;
      lines.push(
        `| ${updates} | ${server} | ${cell(stat(server, rate, "p50"))} | ${cell(stat(server, rate, "p99"))} | ${vs} | ${(worst * 100).toFixed(1)}% |`,
      );
    }
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      providers: { type: "string" },
      rates: { type: "string" },
      "wrangler-dev": { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      compare: { type: "string", multiple: true, default: [] },
    },
  });
  const plan = { ...(values.quick ? DOCUMENTS_QUICK : DOCUMENTS_FULL) };
  if (values.rounds) plan.rounds = Number(values.rounds);
  if (values.providers) plan.providers = Number(values.providers);
  if (values.rates) plan.rates = values.rates.split(",").map(Number);
  const compare = await Promise.all(values.compare.map((dir) => relayOf(resolve(dir))));
  const options = { wranglerDev: values["wrangler-dev"], profile: values.profile, compare };
  const rows = await runDocuments(plan, options);
  console.log(documentsTable(rows));
  process.exit(0);
}
