/**
 * `npm run bench [-- --quick] [-- --servers ws,direct] [-- --generators 2] [-- --no-documents]`
 *
 * Benchmarks edge-relay on a direct workerd socket (the production path) with
 * plain and with `edge-relay.ndjson` clients, and under `wrangler dev`,
 * against a plain `ws` relay and a Socket.IO 4 relay, with the same load
 * generator (separate processes, bench/lib/loadgen.mjs) for all; beside the
 * many-rooms row, bench/floor's forward-only Durable Object as the runtime's
 * floor. Writes bench/results/latest.md, latest.json and latency.svg.
 * Nothing here asserts on timing: the bench measures and reports.
 * `--big-room` runs bench/big-room.mjs instead (not in CI); `--multiplex`
 * runs only bench/multiplex.mjs (many rooms on one connection), which the
 * full run includes and `--quick` skips (it takes minutes).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runBigRoom } from "./big-room.mjs";
import { DOCUMENTS_FULL, DOCUMENTS_QUICK, documentsTable, runDocuments } from "./documents.mjs";
import { Generators } from "./lib/generators.mjs";
import { cpuSeconds, rssBytes, sleep } from "./lib/proc.mjs";
import { latencySvg, markdown, overheadTable } from "./lib/report.mjs";
import {
  buildBundle,
  FLOOR_ENTRY,
  startBaseline,
  startWorkerd,
  startWranglerDev,
} from "./lib/servers.mjs";
import { runMultiplex } from "./multiplex.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  allowNegative: true,
  options: {
    quick: { type: "boolean", default: false },
    servers: { type: "string", default: "ws,socketio,direct,direct-ndjson,floor,wrangler-dev" },
    generators: { type: "string", default: "2" },
    // The documents scenario (bench/documents.mjs); --no-documents skips it.
    documents: { type: "boolean", default: true },
    // 4 shards against the single object (issue 15); --no-overhead skips it.
    overhead: { type: "boolean", default: true },
    // The full run ends with the multiplex scenario; --no-then-multiplex skips it (npm run sim -- --validate).
    "then-multiplex": { type: "boolean", default: true },
    // Quick runs go elsewhere, so they never replace the committed full results.
    out: { type: "string" },
    // The big room (bench/big-room.mjs) and its options.
    "big-room": { type: "boolean", default: false },
    sockets: { type: "string", default: "15000" },
    shards: { type: "string", default: "0" },
    protocol: { type: "string", default: "both" },
    broadcasts: { type: "string", default: "10" },
    "join-minutes": { type: "string", default: "10" },
    processes: { type: "string", default: "1" },
    // Many rooms on one connection (bench/multiplex.mjs) and its options.
    multiplex: { type: "boolean", default: false },
    clients: { type: "string", default: "200" },
    "rooms-each": { type: "string", default: "20" },
    hubs: { type: "string", default: "8,1" },
    "broadcast-rate": { type: "string", default: "50" },
  },
});
/** Many rooms on one connection, with the flags' sizes. */
const multiplex = () =>
  runMultiplex({
    clients: Number(flags.clients),
    roomsEach: Number(flags["rooms-each"]),
    hubs: flags.hubs.split(",").map(Number),
    rate: Number(flags["broadcast-rate"]),
    seconds: 10,
    out: flags.out ?? join(HERE, "results"),
    say,
  });

const FULL = {
  settleMs: 1000,
  // Bisections between the last sustained and the first failed step of a ramp.
  bisect: 3,
  // A step that fails is measured once more before it counts.
  retry: true,
  stepMs: 3000,
  graceMs: 3000,
  fanout: { clients: 100, rates: [20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000] },
  storm: { clients: 1000, concurrency: 100 },
  overhead: {
    clients: 100,
    shards: 4,
    rates: [20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000],
  },
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
  bisect: 1,
  retry: false,
  stepMs: 500,
  graceMs: 1000,
  fanout: { clients: 20, rates: [50, 400] },
  storm: { clients: 100, concurrency: 50 },
  overhead: { clients: 100, shards: 4, rates: [100, 400] },
  rooms: { rooms: 25, size: 4, rates: [400, 1600] },
  payload: {
    clients: 10,
    stepMs: 300,
    // The smallest and the largest size prove the path; 4 KiB only in full runs.
    sizes: [
      { label: "100 B", bytes: 100, rates: [500] },
      { label: "60 KiB", bytes: 61440, rates: [25] },
    ],
  },
};
const P = flags.quick ? QUICK : FULL;
/** p99 above this, or fewer than 99% of deliveries, means the server fell behind. */
const P99_LIMIT_MS = 100;
const DELIVERED_MIN = 0.99;

const startedAt = new Date();
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1);
const say = (/** @type {string} */ text) => console.log(`[${elapsed()}s] ${text}`);

if (flags["big-room"]) {
  const built = await buildBundle();
  try {
    await runBigRoom({
      entry: built.entry,
      out: flags.out ?? join(HERE, "results"),
      sockets: Number(flags.sockets),
      shards: Number(flags.shards),
      protocols:
        flags.protocol === "both" ? ["ndjson", "plain"] : [/** @type {any} */ (flags.protocol)],
      broadcasts: Number(flags.broadcasts),
      processes: Number(flags.processes),
      joinMs: Number(flags["join-minutes"]) * 60_000,
      say,
    });
  } finally {
    rmSync(built.outdir, { recursive: true, force: true });
  }
  process.exit(0);
}

if (flags.multiplex) {
  await multiplex();
  process.exit(0);
}

const gens = new Generators(Math.max(1, Number(flags.generators)));

const fmt = (/** @type {number | null} */ v) => (v == null ? "-" : v.toFixed(1));

/** @typedef {import("./lib/servers.mjs").Server} Server */

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
    // Logical messages per WebSocket frame: as the clients sent them, and as
    // the server sent them (counted at the receivers).
    messagesPerFrameIn: r.sentFrames ? r.sent / r.sentFrames : null,
    messagesPerFrameOut: r.frames ? r.lines / r.frames : null,
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
    // Each generator sends whole messages of its share: allow one short each.
    r.sent >= 0.95 * rate * seconds - gens.procs.length;
  const serverCpuText = Object.entries(cpu)
    .map(([k, v]) => `${k} ${((v / seconds) * 100).toFixed(0)}%`)
    .join(", ");
  say(
    `  ${rate} msg/s offered: ${Math.round(point.deliveriesPerSec)} deliveries/s, ` +
      `${(point.deliveredRatio * 100).toFixed(1)}% delivered, p50 ${fmt(point.p50)} p99 ${fmt(point.p99)} ms, ` +
      `msgs/frame out ${fmt(point.messagesPerFrameOut)} | server CPU ${serverCpuText} | ` +
      `generators ${((genCpu / seconds) * 100).toFixed(0)}%` +
      (point.sustained ? "" : "  <- not sustained"),
  );
  return point;
}

/**
 * One step, and (P.retry) once more if it fails: one stall (a GC pause, the
 * other core busy) should not end a ramp. Done alike for every server.
 * @param {Parameters<typeof step>} args
 */
async function steady(...args) {
  const point = await step(...args);
  return point.sustained || !P.retry ? point : { ...(await step(...args)), retried: true };
}

/**
 * Runs one ramp: connects the clients, raises the offered load until a step
 * is not sustained, then bisects between the last sustained and the first
 * failed rate (geometric middle, P.bisect times), so the edge found does not
 * depend on the grid.
 * @param {Server} server @param {{room: string, name: string, roomSize: number}[]} specs
 * @param {number[]} rates @param {number} payloadBytes @param {number} stepMs
 * @param {() => Promise<void>} [onJoined] runs once every client is connected, before the first step
 */
async function ramp(server, specs, rates, payloadBytes, stepMs, onJoined = async () => {}) {
  const joined = await gens.connect(server, specs, 50);
  if (joined.failed) say(`  ${joined.failed} clients failed to connect: ${joined.errors[0]}`);
  await sleep(P.settleMs / 3);
  await onJoined();
  const points = [];
  for (const rate of joined.connected ? rates : []) {
    const point = await steady(server, rate, payloadBytes, stepMs);
    points.push(point);
    if (!point.sustained) break;
  }
  let low = points.findLast((pt) => pt.sustained)?.offered ?? 0;
  let high = points.find((pt) => !pt.sustained)?.offered;
  for (let i = 0; high !== undefined && i < P.bisect; i++) {
    const mid = Math.round(low > 0 ? Math.sqrt(low * high) : high / 2);
    if (mid <= low || mid >= high) break;
    const point = { ...(await steady(server, mid, payloadBytes, stepMs)), bisect: true };
    points.push(point);
    if (point.sustained) low = mid;
    else high = mid;
  }
  await gens.closeAll();
  await sleep(P.settleMs / 2);
  points.sort((a, b) => a.offered - b.offered);
  const sustained = points.filter((pt) => pt.sustained);
  const best = sustained.reduce(
    (a, b) => (b.deliveriesPerSec > (a?.deliveriesPerSec ?? -1) ? b : a),
    /** @type {(typeof points)[number] | undefined} */ (undefined),
  );
  return {
    clients: specs.length,
    connectFailures: joined.failed,
    connectErrors: joined.errors,
    extensions: joined.extensions,
    points,
    bestSustainedDeliveriesPerSec: best?.deliveriesPerSec ?? 0,
    bestSustainedMBPerSec: best?.mbPerSec ?? 0,
    bestSustainedOffered: best?.offered ?? 0,
    bestSustainedMessagesPerFrameOut: best?.messagesPerFrameOut ?? null,
    firstFailedOffered: high ?? null,
    peakDeliveriesPerSec: Math.max(0, ...points.map((pt) => pt.inWindowPerSec)),
  };
}

/** @param {string} room @param {number} n */
const roomOf = (room, n) =>
  Array.from({ length: n }, (_, i) => ({ room, name: `c${i}`, roomSize: n }));

/** RSS per serving process. @param {Server} server @returns {Record<string, number>} */
function rssOf(server) {
  return Object.fromEntries(server.memoryPids().map(({ name, pid }) => [name, rssBytes(pid) ?? 0]));
}

/** @param {Server} server */
async function joinStorm(server) {
  await sleep(P.settleMs);
  const pid = server.measuredPid();
  const rssBefore = rssBytes(pid) ?? 0;
  const allBefore = rssOf(server);
  const cpuBefore = serverCpu(server);
  const genBefore = await gens.cpu();
  const r = await gens.connect(server, roomOf("storm", P.storm.clients), P.storm.concurrency);
  const seconds = (r.lastWelcome - r.started) / 1000;
  const cpu = cpuDelta(cpuBefore, serverCpu(server));
  const genCpu = (await gens.cpu()) - genBefore;
  await sleep(P.settleMs); // let the join notices settle
  const rssAfter = rssBytes(pid) ?? 0;
  const allAfter = rssOf(server);
  await gens.closeAll();
  await quiesce(server);
  const perConnection = r.connected ? (rssAfter - rssBefore) / r.connected : 0;
  const allDelta = Object.keys(allAfter).reduce((d, k) => d + allAfter[k] - (allBefore[k] ?? 0), 0);
  say(
    `  join storm: ${r.connected}/${P.storm.clients} welcomed in ${seconds.toFixed(2)} s ` +
      `(${r.failed} failed); RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MiB, ` +
      `${(perConnection / 1024).toFixed(1)} KiB/connection; extensions ${JSON.stringify(r.extensions)}`,
  );
  return {
    clients: P.storm.clients,
    connected: r.connected,
    failed: r.failed,
    errors: r.errors,
    extensions: r.extensions,
    secondsToAllWelcomed: seconds,
    rssBefore,
    rssAfter,
    rssPerConnection: perConnection,
    rssByProcessBefore: allBefore,
    rssByProcessAfter: allAfter,
    rssAllPerConnection: r.connected ? allDelta / r.connected : 0,
    measuredPid: pid,
    serverCpu: cpu,
    generatorCpuSeconds: genCpu,
  };
}

/** @param {Server} server */
async function manyRooms(server) {
  const specs = [];
  for (let r = 0; r < P.rooms.rooms; r++) specs.push(...roomOf(`room-${r}`, P.rooms.size));
  return ramp(server, specs, P.rooms.rates, 100, P.stepMs);
}

/** @param {Server} server @param {string} [only] run just this scenario (the floor: "rooms") */
async function benchServer(server, only) {
  say(`== ${server.label} at ${server.base} (measuring pid ${server.measuredPid()})`);
  const genStart = await gens.cpu();
  const wallStart = performance.now();
  const usage = async () => ({
    cpuSeconds: (await gens.cpu()) - genStart,
    wallSeconds: (performance.now() - wallStart) / 1000,
  });
  // Warm-up: one small room, so the first scenario does not pay for cold start.
  const warm = await ramp(server, roomOf("warmup", 4), [100], 100, 300);
  const base = { key: server.key, label: server.label, protocol: server.protocol };
  if (warm.connectFailures === warm.clients) {
    const reason = warm.connectErrors[0] ?? "no client connected";
    say(`  skipped: ${reason}`);
    return { ...base, unavailable: reason };
  }
  const rssIdle = rssBytes(server.measuredPid()) ?? 0;
  if (only === "rooms") {
    say(`  many rooms: ${P.rooms.rooms} rooms of ${P.rooms.size}`);
    const rooms = await manyRooms(server);
    return { ...base, only, extensions: warm.extensions, rssIdle, rooms, generator: await usage() };
  }
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
  const rooms = await manyRooms(server);
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
  return {
    ...base,
    extensions: warm.extensions,
    rssIdle,
    storm,
    fanout,
    rooms,
    payload,
    generator: await usage(),
  };
}

/** One relay bundle for every workerd server of the run; removed at the end. */
let bundle;
const relayEntry = async () => {
  bundle ??= buildBundle();
  return (await bundle).entry;
};

/** @type {Record<string, () => Promise<Server>>} */
const STARTERS = {
  ws: () => startBaseline("ws"),
  socketio: () => startBaseline("socketio"),
  direct: async () =>
    startWorkerd({
      key: "direct",
      label: "edge-relay, direct socket, plain clients",
      entry: await relayEntry(),
      direct: true,
    }),
  "direct-ndjson": async () =>
    startWorkerd({
      key: "direct-ndjson",
      label: "edge-relay, direct socket, ndjson clients",
      entry: await relayEntry(),
      direct: true,
      protocol: "ndjson",
    }),
  floor: () =>
    startWorkerd({
      key: "floor",
      label: "runtime floor (forward-only Durable Object, direct socket)",
      entry: FLOOR_ENTRY,
      direct: true,
      worker: "floor",
    }),
  // Miniflare's entry worker in front of the Worker: not in the default run;
  // bench/memory.mjs compares it.
  miniflare: async () =>
    startWorkerd({
      key: "miniflare",
      label: "edge-relay (Miniflare entry worker)",
      entry: await relayEntry(),
    }),
  "wrangler-dev": () => startWranglerDev(),
};
/**
 * The sharding overhead (issue 15): one room of P.overhead.clients plain
 * clients on the single object, then with SHARD_COUNT=P.overhead.shards, each
 * on a fresh server in this run, the same fan-out ramp; compared at the
 * highest offered load both sustained. All objects share one workerd thread
 * here, so this is the cost of the hop, not the gain. Each side records the
 * room's own description (mode, sessions per shard) taken with every client
 * connected, so a side that did not run as asked shows in the table.
 */
async function overheadRun() {
  const { clients, shards, rates } = P.overhead;
  const sides = [
    // Thresholds no room reaches keep the room single: it would shard by load past 500 frames/s.
    {
      shards: 0,
      vars: ["SHARD_COUNT=0", "SHARD_AT_SESSIONS=1000000000", "SHARD_AT_FRAMES=1000000000"],
    },
    { shards, vars: [`SHARD_COUNT=${shards}`] },
  ];
  const measured = [];
  for (const side of sides) {
    const server = await startWorkerd({
      key: `overhead-${side.shards}`,
      label: side.shards ? `${side.shards} shards` : "single object",
      entry: await relayEntry(),
      direct: true,
      hostArgs: [...side.vars, `ADMIN_TOKEN=${OVERHEAD_TOKEN}`].flatMap((v) => ["--var", v]),
    });
    running.push(server);
    try {
      say(`== overhead: ${server.label}, 1 room of ${clients} plain clients`);
      await ramp(server, roomOf("warmup", 4), [100], 100, 300);
      let room = { mode: "unknown", shards: [] };
      const fan = await ramp(
        server,
        roomOf("overhead", clients),
        rates,
        100,
        P.stepMs,
        async () => {
          room = await describeRoom(server, "overhead");
          say(`  room: mode ${room.mode}, shards ${JSON.stringify(room.shards)}`);
        },
      );
      if ((room.mode === "sharded") !== side.shards > 0) {
        say(`  WARNING: the ${server.label} side ran in mode ${room.mode}`);
      }
      measured.push({ ...side, label: server.label, fan, room });
    } finally {
      await server.stop();
      running.splice(running.indexOf(server), 1);
    }
  }
  const sustained = measured.map(
    (m) => new Set(m.fan.points.filter((pt) => pt.sustained).map((pt) => pt.offered)),
  );
  const common = Math.max(0, ...rates.filter((r) => sustained.every((s) => s.has(r))));
  return {
    clients,
    protocol: "plain",
    rate: common,
    sides: measured.map((m) => {
      const at = m.fan.points.find((pt) => pt.offered === common);
      return {
        label: m.label,
        shards: m.shards,
        mode: m.room.mode,
        sessionsPerShard: m.room.shards,
        clients,
        rate: common,
        deliveriesPerSec: at?.deliveriesPerSec ?? null,
        p50: at?.p50 ?? null,
        p99: at?.p99 ?? null,
        bestSustainedDeliveriesPerSec: m.fan.bestSustainedDeliveriesPerSec,
        bestSustainedOffered: m.fan.bestSustainedOffered,
        points: m.fan.points,
      };
    }),
  };
}

const OVERHEAD_TOKEN = "overhead-bench";

/**
 * The room as the server describes it (`GET /rooms/:room`): single or sharded, and how many
 * sessions each shard holds, so a side that did not shard as asked is caught.
 * @param {Server} server @param {string} room
 * @returns {Promise<{mode: string, shards: {index: number, sessions: number}[]}>}
 */
async function describeRoom(server, room) {
  const response = await fetch(`${server.base}/rooms/${room}`, {
    headers: { authorization: `Bearer ${OVERHEAD_TOKEN}` },
  });
  const body = await response.json();
  return { mode: body.mode ?? "single (no shards in this build)", shards: body.shards ?? [] };
}

/** Servers that run only one scenario. */
const ONLY = { floor: "rooms" };

const keys = [...new Set(flags.servers.split(","))].filter((k) => k in STARTERS);
// The baseline goes first; ratios are taken against it.
keys.sort((a, b) => (a === "ws" ? -1 : b === "ws" ? 1 : 0));

/** @type {any[]} */
const results = [];
/** @type {Awaited<ReturnType<typeof overheadRun>> | undefined} */
let overhead;
/** @type {Server[]} */
const running = [];
const cleanup = async () => {
  for (const s of running.splice(0)) await s.stop().catch(() => {});
  await gens.exit();
  if (bundle) rmSync((await bundle).outdir, { recursive: true, force: true });
};
process.on("SIGINT", () => cleanup().then(() => process.exit(130)));

try {
  // Quick mode starts every server at once (idle servers cost little) to fit
  // in a minute; the full run starts each one alone so nothing else runs.
  /** @type {Map<string, Promise<Server>>} */
  const early = new Map();
  if (flags.quick) {
    for (const key of keys) {
      const started = /** @type {() => Promise<Server>} */ (STARTERS[key])();
      started.then((s) => running.push(s)).catch(() => {});
      early.set(key, started);
    }
  }
  for (const key of keys) {
    const server = await (early.get(key) ?? /** @type {() => Promise<Server>} */ (STARTERS[key])());
    if (!early.has(key)) running.push(server);
    try {
      results.push(await benchServer(server, ONLY[/** @type {keyof typeof ONLY} */ (key)]));
    } finally {
      await server.stop();
      running.splice(running.indexOf(server), 1);
    }
  }
  if (flags.overhead) overhead = await overheadRun();
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
// Documents: stock y-websocket providers against /docs and y-websocket's own server.
const documents = flags.documents
  ? await runDocuments(flags.quick ? DOCUMENTS_QUICK : DOCUMENTS_FULL)
  : [];
let md = markdown(meta, results);
if (overhead) md += `\n## Sharding overhead (issue 15)\n\n${overheadTable(overhead)}\n`;
if (documents.length) md += `\n## Documents (Yjs)\n\n${documentsTable(documents)}\n`;
writeFileSync(join(out, "latest.md"), md);
writeFileSync(
  join(out, "latest.json"),
  `${JSON.stringify({ meta, results, documents, ...(overhead ? { overhead } : {}) }, null, 2)}\n`,
);
writeFileSync(join(out, "latency.svg"), latencySvg(results, P99_LIMIT_MS));
console.log(`\n${md}`);
say(`wrote ${join(out, "latest.md")}, latest.json, latency.svg`);
if (!flags.quick && flags["then-multiplex"]) await multiplex();
