/**
 * `npm run bench [-- --quick] [-- --servers ws,miniflare] [-- --generators 2]`
 *
 * Benchmarks edge-relay under `wrangler dev` and on workerd through Miniflare
 * (no dev proxy), against a plain `ws` relay and a Socket.IO 4 relay, with the
 * same load generator (separate processes, bench/lib/loadgen.mjs) for all.
 * Writes bench/results/latest.md, latest.json and latency.svg.
 * Nothing here asserts on timing: the bench measures and reports.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Generators } from "./lib/generators.mjs";
import { cpuSeconds, rssBytes, sleep } from "./lib/proc.mjs";
import { latencySvg, markdown } from "./lib/report.mjs";
import { buildBundle, startBaseline, startMiniflare, startWranglerDev } from "./lib/servers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    servers: { type: "string", default: "ws,socketio,miniflare,wrangler-dev" },
    generators: { type: "string", default: "2" },
    // Quick runs go elsewhere, so they never replace the committed full results.
    out: { type: "string" },
  },
});

const FULL = {
  settleMs: 1000,
  stepMs: 3000,
  graceMs: 3000,
  fanout: { clients: 100, rates: [20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000] },
  storm: { clients: 1000, concurrency: 100 },
  rooms: { rooms: 500, size: 4, rates: [500, 1000, 2000, 4000, 8000, 12000, 16000] },
  payload: {
    clients: 10,
    stepMs: 2000,
    sizes: [
      { label: "100 B", bytes: 100, rates: [500, 1000, 2000, 4000, 8000, 12000, 16000] },
      { label: "4 KiB", bytes: 4096, rates: [250, 500, 1000, 2000, 4000, 8000] },
      { label: "60 KiB", bytes: 61440, rates: [25, 50, 100, 200, 400, 800, 1600] },
    ],
  },
};
const QUICK = {
  settleMs: 250,
  stepMs: 500,
  graceMs: 1000,
  fanout: { clients: 20, rates: [50, 200, 800] },
  storm: { clients: 100, concurrency: 50 },
  rooms: { rooms: 25, size: 4, rates: [400, 1600] },
  payload: {
    clients: 10,
    stepMs: 300,
    sizes: [
      { label: "100 B", bytes: 100, rates: [500] },
      { label: "4 KiB", bytes: 4096, rates: [250] },
      { label: "60 KiB", bytes: 61440, rates: [25] },
    ],
  },
};
const P = flags.quick ? QUICK : FULL;
/** p99 above this, or fewer than 99% of deliveries, means the server fell behind. */
const P99_LIMIT_MS = 100;
const DELIVERED_MIN = 0.99;

const gens = new Generators(Math.max(1, Number(flags.generators)));
const startedAt = new Date();
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1);
const say = (/** @type {string} */ text) => console.log(`[${elapsed()}s] ${text}`);

const fmt = (/** @type {number | null} */ v) => (v == null ? "-" : v.toFixed(1));

/** @typedef {Awaited<ReturnType<typeof startWranglerDev>>} Server */

/** Server CPU seconds per process, read from /proc. @param {Server} server */
function serverCpu(server) {
  return Object.fromEntries(server.cpuPids().map(({ name, pid }) => [name, cpuSeconds(pid)]));
}

/** @param {Record<string, number>} a @param {Record<string, number>} b */
function cpuDelta(a, b) {
  return Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
}

/**
 * Waits (at most 60 s) until the server's processes use under 10% of a core,
 * so one scenario's aftermath (1,000 closing sockets each announcing a leave
 * to everyone left) is not measured as the next scenario's load.
 * @param {Server} server
 */
async function quiesce(server) {
  const deadline = performance.now() + 60_000;
  const busy = () => server.cpuPids().reduce((sum, { pid }) => sum + cpuSeconds(pid), 0);
  while (performance.now() < deadline) {
    const before = busy();
    await sleep(500);
    if (busy() - before < 0.05) return;
  }
  say("  (server still busy after 60 s; measuring anyway)");
}

/**
 * Measures one step of a ramp at `rate` msg/s offered, and logs it.
 * @param {Server} server @param {number} rate @param {number} payloadBytes @param {number} stepMs
 */
async function step(server, rate, payloadBytes, stepMs) {
  const cpuBefore = serverCpu(server);
  const genBefore = await gens.cpu();
  const r = await gens.step({ rate, durationMs: stepMs, payloadBytes, graceMs: P.graceMs });
  const genCpu = (await gens.cpu()) - genBefore;
  const cpu = cpuDelta(cpuBefore, serverCpu(server));
  const seconds = stepMs / 1000;
  const p = (/** @type {number} */ q) => r.hist.percentile(q);
  const point = {
    offered: rate,
    sentPerSec: r.sent / seconds,
    expected: r.expected,
    received: r.received,
    deliveredRatio: r.expected ? r.received / r.expected : 0,
    deliveriesPerSec: r.received / seconds,
    inWindowPerSec: r.inWindow / seconds,
    mbPerSec: r.bytes / seconds / 1e6,
    frameBytes: r.frameBytes,
    p50: p(50),
    p95: p(95),
    p99: p(99),
    max: r.hist.max,
    errorFrames: r.errorFrames,
    unexpectedCloses: r.unexpectedCloses,
    serverCpu: cpu,
    generatorCpuSeconds: genCpu,
    sustained: false,
  };
  point.sustained =
    r.expected > 0 &&
    point.deliveredRatio >= DELIVERED_MIN &&
    (point.p99 ?? Infinity) <= P99_LIMIT_MS &&
    point.sentPerSec >= 0.95 * rate;
  const serverCpuText = Object.entries(cpu)
    .map(([k, v]) => `${k} ${((v / seconds) * 100).toFixed(0)}%`)
    .join(", ");
  say(
    `  ${rate} msg/s offered: ${Math.round(point.deliveriesPerSec)} deliveries/s, ` +
      `${(point.deliveredRatio * 100).toFixed(1)}% delivered, p50 ${fmt(point.p50)} p99 ${fmt(point.p99)} ms` +
      ` | server CPU ${serverCpuText} | generators ${((genCpu / seconds) * 100).toFixed(0)}%` +
      (point.sustained ? "" : "  <- not sustained"),
  );
  return point;
}

/**
 * Runs one ramp: connects the clients, then raises the offered load until a
 * step is not sustained.
 * @param {Server} server @param {{room: string, name: string, roomSize: number}[]} specs
 * @param {number[]} rates @param {number} payloadBytes @param {number} stepMs
 */
async function ramp(server, specs, rates, payloadBytes, stepMs) {
  const joined = await gens.connect(server, specs, 50);
  if (joined.failed) say(`  ${joined.failed} clients failed to connect: ${joined.errors[0]}`);
  await sleep(P.settleMs / 3);
  const points = [];
  for (const rate of rates) {
    let point = await step(server, rate, payloadBytes, stepMs);
    // One stall (a GC pause, the other core busy) should not end a ramp: a
    // step that fails is measured once more, for every server alike.
    if (!point.sustained)
      point = { ...(await step(server, rate, payloadBytes, stepMs)), retried: true };
    points.push(point);
    if (!point.sustained) break;
  }
  await gens.closeAll();
  await sleep(P.settleMs / 2);
  const sustained = points.filter((pt) => pt.sustained);
  const best = sustained.reduce(
    (a, b) => (b.deliveriesPerSec > (a?.deliveriesPerSec ?? -1) ? b : a),
    /** @type {(typeof points)[number] | undefined} */ (undefined),
  );
  return {
    clients: specs.length,
    connectFailures: joined.failed,
    points,
    bestSustainedDeliveriesPerSec: best?.deliveriesPerSec ?? 0,
    bestSustainedMBPerSec: best?.mbPerSec ?? 0,
    bestSustainedOffered: best?.offered ?? 0,
    peakDeliveriesPerSec: Math.max(0, ...points.map((pt) => pt.inWindowPerSec)),
  };
}

/** @param {string} room @param {number} n */
const roomOf = (room, n) =>
  Array.from({ length: n }, (_, i) => ({ room, name: `c${i}`, roomSize: n }));

/** @param {Server} server */
async function joinStorm(server) {
  await sleep(P.settleMs);
  const pid = server.measuredPid();
  const rssBefore = rssBytes(pid) ?? 0;
  const cpuBefore = serverCpu(server);
  const genBefore = await gens.cpu();
  const r = await gens.connect(server, roomOf("storm", P.storm.clients), P.storm.concurrency);
  const seconds = (r.lastWelcome - r.started) / 1000;
  const cpu = cpuDelta(cpuBefore, serverCpu(server));
  const genCpu = (await gens.cpu()) - genBefore;
  await sleep(P.settleMs); // let the join notices settle
  const rssAfter = rssBytes(pid) ?? 0;
  await gens.closeAll();
  await quiesce(server);
  const perConnection = r.connected ? (rssAfter - rssBefore) / r.connected : 0;
  say(
    `  join storm: ${r.connected}/${P.storm.clients} welcomed in ${seconds.toFixed(2)} s ` +
      `(${r.failed} failed); RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MiB, ` +
      `${(perConnection / 1024).toFixed(1)} KiB/connection`,
  );
  return {
    clients: P.storm.clients,
    connected: r.connected,
    failed: r.failed,
    errors: r.errors,
    secondsToAllWelcomed: seconds,
    rssBefore,
    rssAfter,
    rssPerConnection: perConnection,
    measuredPid: pid,
    serverCpu: cpu,
    generatorCpuSeconds: genCpu,
  };
}

/** @param {Server} server */
async function benchServer(server) {
  say(`== ${server.label} at ${server.base} (measuring pid ${server.measuredPid()})`);
  const genStart = await gens.cpu();
  const wallStart = performance.now();
  // Warm-up: one small room, so the first scenario does not pay for cold start.
  await ramp(server, roomOf("warmup", 4), [100], 100, 300);
  const rssIdle = rssBytes(server.measuredPid()) ?? 0;
  const storm = await joinStorm(server);
  say(`  fan-out: 1 room of ${P.fanout.clients}`);
  const fanout = await ramp(
    server,
    roomOf("fanout", P.fanout.clients),
    P.fanout.rates,
    100,
    P.stepMs,
  );
  await quiesce(server);
  say(`  many rooms: ${P.rooms.rooms} rooms of ${P.rooms.size}`);
  const specs = [];
  for (let r = 0; r < P.rooms.rooms; r++) specs.push(...roomOf(`room-${r}`, P.rooms.size));
  const rooms = await ramp(server, specs, P.rooms.rates, 100, P.stepMs);
  /** @type {Record<string, Awaited<ReturnType<typeof ramp>>>} */
  const payload = {};
  for (const size of P.payload.sizes) {
    await quiesce(server);
    say(`  payload ${size.label}: 1 room of ${P.payload.clients}`);
    payload[size.label] = await ramp(
      server,
      roomOf(`payload-${size.bytes}`, P.payload.clients),
      size.rates,
      size.bytes,
      P.payload.stepMs,
    );
  }
  const wall = (performance.now() - wallStart) / 1000;
  const genCpu = (await gens.cpu()) - genStart;
  return {
    key: server.key,
    label: server.label,
    rssIdle,
    storm,
    fanout,
    rooms,
    payload,
    generator: { cpuSeconds: genCpu, wallSeconds: wall },
  };
}

const STARTERS = {
  ws: () => startBaseline("ws"),
  socketio: () => startBaseline("socketio"),
  miniflare: async () => {
    const bundle = await buildBundle();
    const server = await startMiniflare(bundle);
    const stop = server.stop;
    server.stop = async () => {
      await stop();
      rmSync(bundle.outdir, { recursive: true, force: true });
    };
    return server;
  },
  "wrangler-dev": () => startWranglerDev(),
};

const keys = /** @type {(keyof typeof STARTERS)[]} */ (
  flags.servers.split(",").filter((k) => k in STARTERS)
);
// The baseline goes first; ratios are taken against it.
keys.sort((a, b) => (a === "ws" ? -1 : b === "ws" ? 1 : 0));

/** @type {any[]} */
const results = [];
/** @type {Server[]} */
const running = [];
const cleanup = async () => {
  for (const s of running.splice(0)) await s.stop().catch(() => {});
  await gens.exit();
};
process.on("SIGINT", () => cleanup().then(() => process.exit(130)));

try {
  // Quick mode starts every server at once (idle servers cost little) to fit
  // in a minute; the full run starts each one alone so nothing else runs.
  /** @type {Map<string, Promise<Server>>} */
  const early = new Map();
  if (flags.quick) {
    for (const key of keys) {
      const started = STARTERS[key]();
      started.then((s) => running.push(s)).catch(() => {});
      early.set(key, started);
    }
  }
  for (const key of keys) {
    const server = await (early.get(key) ?? STARTERS[key]());
    if (!early.has(key)) running.push(server);
    try {
      results.push(await benchServer(server));
    } finally {
      await server.stop();
      running.splice(running.indexOf(server), 1);
    }
  }
} finally {
  await cleanup();
}

const pkg = (/** @type {string} */ name) => {
  try {
    return JSON.parse(readFileSync(join(HERE, "..", "node_modules", name, "package.json"), "utf8"))
      .version;
  } catch {
    return "?";
  }
};
const meta = {
  date: startedAt.toISOString(),
  mode: flags.quick ? "quick" : "full",
  seconds: (performance.now() - t0) / 1000,
  machine: `${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`,
  node: process.version,
  versions: {
    wrangler: pkg("wrangler"),
    miniflare: pkg("miniflare"),
    workerd: pkg("workerd"),
    ws: pkg("ws"),
    "socket.io": pkg("socket.io"),
  },
  generators: gens.procs.length,
  params: P,
  limits: { p99Ms: P99_LIMIT_MS, deliveredMin: DELIVERED_MIN },
};
const out = flags.out ?? join(HERE, flags.quick ? "results/quick" : "results");
mkdirSync(out, { recursive: true });
const md = markdown(meta, results);
writeFileSync(join(out, "latest.md"), md);
writeFileSync(join(out, "latest.json"), `${JSON.stringify({ meta, results }, null, 2)}\n`);
writeFileSync(join(out, "latency.svg"), latencySvg(results, P99_LIMIT_MS));
console.log(`\n${md}`);
say(`wrote ${join(out, "latest.md")}, latest.json, latency.svg`);
