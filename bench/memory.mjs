/**
 * `node bench/memory.mjs [--clients 300] [--room-size 300] [--out DIR]` (Node 22: `npx node`)
 *
 * Where a WebSocket's memory goes on workerd. Each condition starts a fresh
 * server, connects the same clients (one room of --room-size, like the join
 * storm), lets the joins settle and reads, per serving process, the growth of
 * resident memory (VmRSS) and, on workerd through the inspector, of the V8
 * heap (JS objects plus the runtime's C++ objects V8 tracks; no GC can be
 * forced there, so garbage is included); each divided by the sockets connected. Conditions
 * vary one thing at a time:
 *   - clients offering permessage-deflate or not (what the server agreed is shown);
 *   - our relay against bench/floor, a Durable Object that only forwards
 *     frames (the runtime's own cost of a hibernatable socket);
 *   - a direct socket (production's path) against Miniflare's entry worker
 *     and against `wrangler dev` (its dev proxy is a second process);
 *   - the relay with the `no_web_socket_compression` compatibility flag.
 * Prints a table and the differences that attribute the cost, and writes
 * memory.md to bench/results/ (or --out). Measures; asserts nothing.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Generators } from "./lib/generators.mjs";
import { inspect } from "./lib/inspector.mjs";
import { freePort, rssBytes, sleep } from "./lib/proc.mjs";
import { buildBundle, FLOOR_ENTRY, startWorkerd, startWranglerDev } from "./lib/servers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    clients: { type: "string", default: "300" },
    "room-size": { type: "string", default: "300" },
    out: { type: "string", default: join(HERE, "results") },
  },
});
const CLIENTS = Number(flags.clients);
const ROOM_SIZE = Number(flags["room-size"]);
const KiB = 1024;
const kib = (/** @type {number | null | undefined} */ v) =>
  v == null ? "–" : (v / KiB).toFixed(1);

const bundle = await buildBundle();
const gens = new Generators(2);

/**
 * @typedef {{name: string, offer: boolean, start: (inspectorPort: number) => Promise<any>,
 *   heap: boolean}} Condition
 */
/** @param {string} key @param {string} entry @param {object} o */
const workerd = (key, entry, o) => (/** @type {number} */ port) =>
  startWorkerd({
    key,
    label: key,
    entry,
    ...o,
    hostArgs: [...(o.hostArgs ?? []), "--inspector-port", String(port)],
  });
const relayDirect = workerd("direct", bundle.entry, { direct: true });
const floorDirect = workerd("floor", FLOOR_ENTRY, { direct: true, worker: "floor" });
const relayNoCompression = workerd("direct", bundle.entry, {
  direct: true,
  hostArgs: ["--compat-flag", "no_web_socket_compression"],
});
const relayEntry = workerd("miniflare", bundle.entry, {});

/** @type {Condition[]} */
const CONDITIONS = [
  { name: "relay, direct socket", offer: true, start: relayDirect, heap: true },
  { name: "relay, direct socket", offer: false, start: relayDirect, heap: true },
  {
    name: "relay, direct, no_web_socket_compression",
    offer: true,
    start: relayNoCompression,
    heap: true,
  },
  { name: "floor, direct socket", offer: true, start: floorDirect, heap: true },
  { name: "floor, direct socket", offer: false, start: floorDirect, heap: true },
  { name: "relay, Miniflare entry worker", offer: true, start: relayEntry, heap: true },
  { name: "relay, Miniflare entry worker", offer: false, start: relayEntry, heap: true },
  { name: "relay, wrangler dev", offer: true, start: () => startWranglerDev(), heap: false },
  { name: "relay, wrangler dev", offer: false, start: () => startWranglerDev(), heap: false },
];

/**
 * @param {any} server @param {Awaited<ReturnType<typeof inspect>> | undefined} isolate
 * @returns {Promise<{rss: Record<string, number>, heap: number | null, heapTotal: number | null}>}
 */
async function sample(server, isolate) {
  let heap = null;
  let heapTotal = null;
  if (isolate) {
    // workerd's inspector does not answer HeapProfiler.collectGarbage, so this
    // is the heap as it stands: live objects plus garbage not yet collected.
    const usage = await isolate.cdp("Runtime.getHeapUsage");
    heap = usage.usedSize + (usage.embedderHeapUsedSize ?? 0);
    heapTotal = usage.totalSize;
  }
  const rss = Object.fromEntries(
    server.memoryPids().map(({ name, pid }) => [name, rssBytes(pid) ?? 0]),
  );
  return { rss, heap, heapTotal };
}

/** @param {Condition} c */
async function measure(c) {
  const port = await freePort();
  const server = await c.start(port);
  const isolate = c.heap ? await inspect(port) : undefined;
  try {
    const room = (/** @type {string} */ name, /** @type {number} */ n) =>
      Array.from({ length: n }, (_, i) => ({ room: name, name: `c${i}`, roomSize: n }));
    // Warm-up: a first room, so the isolate and the storage are up before the baseline.
    await gens.connect(server, room("warm", 4), 4, c.offer);
    await gens.closeAll();
    await sleep(1000);
    const before = await sample(server, isolate);
    const specs = [];
    for (let r = 0; specs.length < CLIENTS; r++)
      specs.push(...room(`mem-${r}`, Math.min(ROOM_SIZE, CLIENTS - specs.length)));
    const joined = await gens.connect(server, specs, 50, c.offer);
    await sleep(2000); // let the join notices drain
    const after = await sample(server, isolate);
    await gens.closeAll();
    const n = joined.connected || 1;
    const perSocket = Object.fromEntries(
      Object.keys(after.rss).map((k) => [k, (after.rss[k] - (before.rss[k] ?? 0)) / n]),
    );
    const row = {
      name: c.name,
      offered: c.offer,
      agreed: Object.keys(joined.extensions)
        .map((e) => e.split(";")[0])
        .join(", "),
      connected: joined.connected,
      rssBefore: before.rss,
      rssAfter: after.rss,
      perSocket,
      totalPerSocket: Object.values(perSocket).reduce((a, b) => a + b, 0),
      heapPerSocket:
        after.heap != null && before.heap != null ? (after.heap - before.heap) / n : null,
      heapTotalPerSocket:
        after.heapTotal != null && before.heapTotal != null
          ? (after.heapTotal - before.heapTotal) / n
          : null,
    };
    console.log(
      `${row.name}, deflate ${c.offer ? "offered" : "not offered"} -> ${row.agreed}: ` +
        `${kib(row.totalPerSocket)} KiB RSS/socket ` +
        `(${Object.entries(perSocket)
          .map(([k, v]) => `${k} ${kib(v)}`)
          .join(", ")})` +
        (row.heapPerSocket != null
          ? `, V8 heap used ${kib(row.heapPerSocket)}, reserved ${kib(row.heapTotalPerSocket)} KiB/socket`
          : ""),
    );
    return row;
  } finally {
    isolate?.close();
    await server.stop();
  }
}

const rows = [];
try {
  for (const c of CONDITIONS) rows.push(await measure(c));
} finally {
  await gens.exit();
  rmSync(bundle.outdir, { recursive: true, force: true });
}

const find = (/** @type {string} */ name, /** @type {boolean} */ offer) =>
  rows.find((r) => r.name === name && r.offered === offer);
/** @param {string} label @param {any} a @param {any} b @param {(r: any) => number | null} get */
const diff = (label, a, b, get) =>
  a && b && get(a) != null && get(b) != null
    ? `| ${label} | ${kib(/** @type {number} */ (get(a)) - /** @type {number} */ (get(b)))} |`
    : `| ${label} | – |`;
const total = (/** @type {any} */ r) => r.totalPerSocket;
const worker = (/** @type {any} */ r) => r.perSocket["workerd (Worker)"] ?? null;
const proxy = (/** @type {any} */ r) => r.perSocket["workerd (dev proxy)"] ?? null;
const heap = (/** @type {any} */ r) => r.heapPerSocket;
/** @param {string} label @param {any} r @param {(r: any) => number | null} get */
const one = (label, r, get) => `| ${label} | ${r ? kib(get(r)) : "–"} |`;

const md = [
  `# Memory per WebSocket on workerd (${new Date().toISOString()})`,
  "",
  `${CLIENTS} clients in rooms of ${ROOM_SIZE}, each condition on a fresh server; growth after the joins settle, divided by the sockets connected. RSS is VmRSS per process; V8 heap is the isolate's used heap plus the embedder (C++) objects V8 tracks, as it stands (workerd's inspector cannot force a GC, so uncollected garbage is included; not read under wrangler dev).`,
  "",
  "| condition | deflate offered | agreed | RSS/socket, KiB (per process) | V8 heap used/socket, KiB | V8 heap reserved/socket, KiB |",
  "|---|---|---|---|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.offered ? "yes" : "no"} | ${r.agreed} | ${kib(r.totalPerSocket)} (${Object.entries(
        r.perSocket,
      )
        .map(([k, v]) => `${k} ${kib(v)}`)
        .join(", ")}) | ${kib(r.heapPerSocket)} | ${kib(r.heapTotalPerSocket)} |`,
  ),
  "",
  "Attribution (differences between rows, KiB per socket):",
  "",
  "| part | KiB/socket |",
  "|---|---:|",
  one(
    "runtime: a hibernatable socket with nothing of ours (floor, no deflate)",
    find("floor, direct socket", false),
    total,
  ),
  diff(
    "compression state, floor (deflate agreed - not offered)",
    find("floor, direct socket", true),
    find("floor, direct socket", false),
    total,
  ),
  diff(
    "compression state, relay (deflate agreed - not offered)",
    find("relay, direct socket", true),
    find("relay, direct socket", false),
    total,
  ),
  diff(
    "ours: relay - floor, neither compressing (RSS)",
    find("relay, direct socket", false),
    find("floor, direct socket", false),
    total,
  ),
  diff(
    "ours: relay - floor, neither compressing (V8 heap used)",
    find("relay, direct socket", false),
    find("floor, direct socket", false),
    heap,
  ),
  diff(
    "harness: Miniflare entry worker - direct socket (deflate offered)",
    find("relay, Miniflare entry worker", true),
    find("relay, direct socket", true),
    total,
  ),
  diff(
    "harness: wrangler dev's Worker process - direct socket (deflate offered)",
    find("relay, wrangler dev", true),
    find("relay, direct socket", true),
    worker,
  ),
  one(
    "harness: wrangler dev's dev proxy process (deflate offered)",
    find("relay, wrangler dev", true),
    proxy,
  ),
  "",
];
mkdirSync(flags.out, { recursive: true });
writeFileSync(join(flags.out, "memory.md"), md.join("\n"));
writeFileSync(join(flags.out, "memory.json"), `${JSON.stringify(rows, null, 2)}\n`);
console.log(`\n${md.join("\n")}`);
process.exit(0);
