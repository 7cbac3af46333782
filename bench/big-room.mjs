/**
 * The big-room bench: `npm run bench -- --big-room [--sockets 15000] [--shards 8]
 * [--protocol ndjson|plain|both] [--broadcasts 10] [--join-minutes 10]`.
 *
 * As many live sockets in one room as one workerd process holds (issue 15):
 * every client joins one room from a loopback source address of its own block
 * (each address has ~28,000 ephemeral ports), the server API publishes a
 * numbered broadcast every second, and every client checks it got each one,
 * once, in order. Reported per run: seconds until all were welcomed, workerd
 * RSS and open files per socket, delivery p50/p99 per broadcast (publish to
 * receipt), lost and out-of-order deliveries. Without --shards it measures the
 * single object; with --shards N it runs the same room again with
 * SHARD_COUNT=N and prints both side by side. `--processes P` (P >= 2) serves
 * the room from P workerd processes joined by a dev registry
 * (bench/lib/cross-process.mjs): the room in process 0, the clients on the
 * others. Not in CI; each run ends by itself (a join deadline, a drain
 * deadline) and stops every process it started.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { processName, writeConfigs } from "./lib/cross-process.mjs";
import { Generators } from "./lib/generators.mjs";
import { cpuSeconds, rssBytes, sleep } from "./lib/proc.mjs";
import { startWorkerd } from "./lib/servers.mjs";

/** A process here may hold 20,000 open files; a generator keeps well below. */
const CLIENTS_PER_GENERATOR = 5000;
/** Clients per loopback source address: far below its ~28,000 ephemeral ports. */
const CLIENTS_PER_ADDRESS = 4000;
const ROOM = "big";
const TOKEN = "big-room-bench";

/** @param {number} pid @returns {number} open files of a process (sockets included) */
function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/**
 * Loopback source addresses for one run: a block no earlier run of this
 * process used, and a random second octet so a run right after another bench
 * does not meet its ports still in TIME_WAIT.
 */
const octet = 1 + Math.floor(Math.random() * 250);
let block = 0;
/** @param {number} clients */
function addresses(clients) {
  block++;
  const count = Math.ceil(clients / CLIENTS_PER_ADDRESS);
  return Array.from({ length: count }, (_, i) => `127.${octet}.${block}.${2 + i}`);
}

/**
 * A serving process's CPU seconds so far: its workerd, and every process it
 * runs (wrangler's or miniflare's node, a dev proxy).
 * @param {import("./lib/servers.mjs").Server} server
 */
function processCpu(server) {
  const all = server.cpuPids().reduce((n, p) => n + cpuSeconds(p.pid), 0);
  return { workerd: cpuSeconds(server.measuredPid()), all };
}

/** Waits until the servers use under 10% of a core together (joins settled), at most `ms`. */
async function quiet(/** @type {() => number[]} */ pids, /** @type {number} */ ms) {
  const cpu = () => pids().reduce((n, pid) => n + cpuSeconds(pid), 0);
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const before = cpu();
    await sleep(1000);
    if (cpu() - before < 0.1) return true;
  }
  return false;
}

/** @param {string} base @param {string} path @param {RequestInit} [init] */
async function admin(base, path, init = {}, room = ROOM) {
  const response = await fetch(`${base}/rooms/${room}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  });
  return response.json();
}

/**
 * Publishes `count` numbered broadcasts one second apart through the server
 * API, then waits until every live client has them all (or nothing new
 * arrived for 5 s, at most 60 s).
 * @param {Generators} gens @param {string} base @param {number} count @param {number} live
 */
async function broadcasts(gens, base, count, live) {
  const id = await gens.watch();
  const start = performance.now() + 500;
  const publishMs = [];
  for (let n = 1; n <= count; n++) {
    const due = start + (n - 1) * 1000;
    if (performance.now() < due) await sleep(due - performance.now());
    const t = performance.timeOrigin + performance.now();
    await admin(base, "/messages", {
      method: "POST",
      body: JSON.stringify({ data: { bench: [t, id, 0, n] } }),
    });
    publishMs.push(performance.timeOrigin + performance.now() - t);
  }
  const deadline = performance.now() + 60_000;
  let last = -1;
  let changed = performance.now();
  while (performance.now() < deadline) {
    const received = await gens.received();
    if (received >= count * live) break;
    if (received !== last) [last, changed] = [received, performance.now()];
    else if (performance.now() - changed > 5000) break;
    await sleep(200);
  }
  return { publishMs, ...(await gens.collectWatch()) };
}

/**
 * The serving processes: one, or with `processes` > 1 one per generated
 * config, sharing a dev registry; clients go to every process but the
 * room's own (process 0) when there are several.
 * @param {{entry: string, shards: number, protocol: "plain" | "ndjson", processes: number}} o
 * @param {string[]} vars
 */
async function startServers(o, vars) {
  const hostArgs = [`ADMIN_TOKEN=${TOKEN}`, ...vars].flatMap((v) => ["--var", v]);
  const base = { entry: o.entry, direct: true, protocol: o.protocol };
  if (o.processes < 2) {
    const server = await startWorkerd({ ...base, key: "big", label: "workerd", hostArgs });
    return { servers: [server], entries: [server], dirs: [] };
  }
  const { dirs, configs, entry } = await writeConfigs(o);
  const servers = [];
  for (const [k, config] of configs.entries()) {
    const args = [
      "--config",
      config,
      "--name",
      processName(k),
      "--registry",
      join(/** @type {string} */ (dirs[0]), "registry"),
    ];
    servers.push(
      await startWorkerd({
        ...base,
        // The host serves --entry; the config's `main` names the same bundle.
        entry,
        key: processName(k),
        label: processName(k),
        hostArgs: [...hostArgs, ...args],
      }),
    );
  }
  return { servers, entries: servers.slice(1), dirs };
}

/**
 * One room of `o.sockets` clients on fresh servers.
 * @param {{entry: string, sockets: number, shards: number, protocol: "plain" | "ndjson", processes: number,
 *   broadcasts: number, joinMs: number, say: (text: string) => void}} o
 */
async function run(o) {
  const sharded = o.shards > 0;
  const where = o.processes > 1 ? ` over ${o.processes} processes` : "";
  const label = `${sharded ? `${o.shards} shards` : "single object"}${where}, ${o.protocol} clients`;
  // Across processes each config sets its own SHARD_COUNT (bench/lib/cross-process.mjs).
  const vars = sharded
    ? o.processes > 1
      ? []
      : [`SHARD_COUNT=${o.shards}`]
    : // The platform's cap per object; a threshold nothing reaches keeps the room single.
      ["MAX_CONNECTIONS_PER_ROOM=32768", "SHARD_COUNT=0", "SHARD_AT_SESSIONS=1000000000"];
  const { servers, entries, dirs } = await startServers(o, vars);
  const server = /** @type {import("./lib/servers.mjs").Server} */ (servers[0]);
  const gens = new Generators(Math.max(2, Math.ceil(o.sockets / CLIENTS_PER_GENERATOR)));
  // Memory and files count every serving process, the room's own too.
  const pids = () => servers.map((e) => e.measuredPid());
  const sum = (/** @type {(pid: number) => number} */ f) => pids().reduce((n, p) => n + f(p), 0);
  try {
    o.say(`== big room: ${label}, ${o.sockets} sockets, ${gens.procs.length} generator processes`);
    if (o.processes > 1) {
      // A room first reached through the dev registry's proxy has no name (ctx.id.name is
      // undefined there), so it would call its shards by the wrong names: its own process's
      // Worker wakes it first, by name, and keeps that instance's name while it lives.
      for (const room of ["warm", ROOM]) await admin(server.base, "", {}, room);
    }
    for (const entry of entries) {
      const warm = await gens.connect(entry, [{ room: "warm", name: "w", roomSize: 1 }], 1);
      if (!warm.connected) throw new Error(`no client connected: ${warm.errors[0]}`);
    }
    await gens.closeAll();
    await quiet(pids, 10_000);
    const rssBefore = sum((p) => rssBytes(p) ?? 0);
    const filesBefore = sum(openFiles);
    const from = addresses(o.sockets);
    const specs = Array.from({ length: o.sockets }, (_, i) => ({
      room: ROOM,
      name: `c${i}`,
      roomSize: o.sockets,
      localAddress: from[i % from.length],
    }));
    // CPU over the joins, per serving process: which side pays for a join across processes.
    const joinCpuBefore = servers.map(processCpu);
    const joinGenCpuBefore = await gens.cpu();
    const deadline = performance.timeOrigin + performance.now() + o.joinMs;
    // Each serving process gets its slice of the clients, all at once.
    const slices = await Promise.all(
      entries.map((entry, k) =>
        gens.connect(
          entry,
          specs.filter((_, i) => i % entries.length === k),
          100,
          true,
          deadline,
        ),
      ),
    );
    const joined = {
      connected: slices.reduce((n, j) => n + j.connected, 0),
      failed: slices.reduce((n, j) => n + j.failed, 0),
      errors: slices.flatMap((j) => j.errors),
      started: Math.min(...slices.map((j) => j.started)),
      lastWelcome: Math.max(...slices.map((j) => j.lastWelcome)),
    };
    const joinSeconds = (joined.lastWelcome - joined.started) / 1000;
    const joinCpu = {
      servers: servers.map((s, i) => {
        const [now, before] = [processCpu(s), joinCpuBefore[i] ?? { workerd: 0, all: 0 }];
        return { label: s.label, workerd: now.workerd - before.workerd, all: now.all - before.all };
      }),
      generators: (await gens.cpu()) - joinGenCpuBefore,
    };
    o.say(
      `  ${joined.connected}/${o.sockets} welcomed in ${joinSeconds.toFixed(1)} s` +
        (joined.failed ? ` (${joined.failed} failed: ${joined.errors[0]})` : "") +
        `; CPU meanwhile: ${joinCpu.servers.map((c) => `${c.label} ${c.workerd.toFixed(1)} s (${c.all.toFixed(1)} s with its other processes)`).join(", ")}, generators ${joinCpu.generators.toFixed(1)} s`,
    );
    const settled = await quiet(pids, 120_000);
    const rssAfter = sum((p) => rssBytes(p) ?? 0);
    const filesAfter = sum(openFiles);
    const perProcess = servers.map((s) => ({
      label: s.label,
      openFiles: openFiles(s.measuredPid()),
      rss: rssBytes(s.measuredPid()) ?? 0,
    }));
    if (servers.length > 1) {
      for (const p of perProcess) {
        o.say(`    ${p.label}: ${p.openFiles} open files, RSS ${(p.rss / 2 ** 20).toFixed(0)} MiB`);
      }
    }
    // The room's description without its peer list: 40,000 peers would swell the results.
    const { peers, ...room } = await admin(server.base, "");
    o.say(
      `  RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MiB, ` +
        `open files ${filesBefore} -> ${filesAfter}; room: mode ${room.mode ?? "single (no shards in this build)"}, ` +
        `${room.connections} connections${settled ? "" : " (server still busy)"}`,
    );
    const live = joined.connected;
    // CPU over the broadcasts and their drain: whether the machine, not the room, set the latency.
    const cpuBefore = servers.map((s) => cpuSeconds(s.measuredPid()));
    const genCpuBefore = await gens.cpu();
    const wallBefore = performance.now();
    const b = await broadcasts(gens, server.base, o.broadcasts, live);
    const wall = (performance.now() - wallBefore) / 1000;
    const cpu = {
      seconds: wall,
      servers: servers.map((s, i) => ({
        label: s.label,
        seconds: cpuSeconds(s.measuredPid()) - (cpuBefore[i] ?? 0),
      })),
      generators: (await gens.cpu()) - genCpuBefore,
    };
    const serverCpu = cpu.servers.reduce((n, s) => n + s.seconds, 0);
    o.say(
      `  CPU over ${wall.toFixed(1)} s of broadcasts: servers ${serverCpu.toFixed(1)} s ` +
        `(${cpu.servers.map((s) => `${s.label} ${s.seconds.toFixed(1)}`).join(", ")}), ` +
        `generators ${cpu.generators.toFixed(1)} s`,
    );
    const per = [...b.perN].sort(([x], [y]) => x - y);
    const result = {
      label,
      shards: o.shards,
      processes: o.processes,
      protocol: o.protocol,
      sockets: o.sockets,
      connected: joined.connected,
      failed: joined.failed,
      errors: joined.errors,
      joinSeconds,
      joinCpu,
      rssBefore,
      rssAfter,
      rssPerSocket: live ? (rssAfter - rssBefore) / live : 0,
      filesPerSocket: live ? (filesAfter - filesBefore) / live : 0,
      perProcess,
      cpu,
      room,
      broadcasts: o.broadcasts,
      expected: o.broadcasts * live,
      received: b.received,
      lost: o.broadcasts * live - b.received,
      outOfOrder: b.outOfOrder,
      unexpectedCloses: b.unexpectedCloses,
      publishMs: b.publishMs,
      p50: b.hist.percentile(50),
      p99: b.hist.percentile(99),
      max: b.hist.max,
      perBroadcast: per.map(([n, h]) => ({
        n,
        received: h.n,
        p50: h.percentile(50),
        p99: h.percentile(99),
        max: h.max,
      })),
    };
    o.say(
      `  ${o.broadcasts} broadcasts: ${b.received}/${result.expected} delivered, ${result.lost} lost, ` +
        `${b.outOfOrder} out of order; p50 ${result.p50?.toFixed(0)} ms, p99 ${result.p99?.toFixed(0)} ms`,
    );
    for (const p of result.perBroadcast) {
      o.say(
        `    #${p.n}: ${p.received} received, p50 ${p.p50?.toFixed(0)} p99 ${p.p99?.toFixed(0)} ms`,
      );
    }
    await gens.closeAll();
    return result;
  } finally {
    await gens.exit();
    for (const s of servers) await s.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

const int = (/** @type {number} */ n) => Math.round(n).toLocaleString("en-US");
const ms = (/** @type {number | null} */ n) => (n == null ? "–" : n.toFixed(0));

/** The runs side by side; a sharded run's ratio is to the single run of its protocol. @param {any[]} runs */
export function bigRoomTable(runs) {
  const baseOf = (/** @type {any} */ r) =>
    runs.find((b) => b.shards === 0 && b.protocol === r.protocol);
  /** @param {string} label @param {(r: any) => number | null} get @param {(n: number) => string} fmt */
  const row = (label, get, fmt) => {
    const cells = runs.map((r) => {
      const v = get(r);
      if (v == null) return "–";
      const b = r.shards > 0 ? baseOf(r) : undefined;
      const bv = b ? get(b) : null;
      return bv ? `${fmt(v)} (${(v / bv).toFixed(2)}×)` : fmt(v);
    });
    return `| ${label} | ${cells.join(" | ")} |`;
  };
  const worst = (/** @type {any} */ r, /** @type {"p50" | "p99"} */ k) =>
    r.perBroadcast.reduce((m, /** @type {any} */ p) => Math.max(m, p[k] ?? 0), 0);
  return [
    `| big room | ${runs.map((r) => r.label).join(" | ")} |`,
    `|---|${runs.map(() => "---:").join("|")}|`,
    `| room mode the server reported | ${runs.map((r) => r.room.mode ?? "single (no shards in this build)").join(" | ")} |`,
    row("sockets connected", (r) => r.connected, int),
    row(
      "seconds until all welcomed",
      (r) => r.joinSeconds,
      (n) => n.toFixed(1),
    ),
    row(
      "workerd RSS per socket, KiB",
      (r) => r.rssPerSocket / 1024,
      (n) => n.toFixed(0),
    ),
    row(
      "workerd open files per socket",
      (r) => r.filesPerSocket,
      (n) => n.toFixed(2),
    ),
    row("broadcasts (1/s, server API)", (r) => r.broadcasts, int),
    row("deliveries received", (r) => r.received, int),
    `| lost / out of order | ${runs.map((r) => `${r.lost} / ${r.outOfOrder}`).join(" | ")} |`,
    row("delivery p50 ms, all broadcasts", (r) => r.p50, ms),
    row("delivery p99 ms, all broadcasts", (r) => r.p99, ms),
    row("worst broadcast's p50 ms", (r) => worst(r, "p50"), ms),
    row("worst broadcast's p99 ms", (r) => worst(r, "p99"), ms),
    "",
  ].join("\n");
}

/**
 * Runs the big room (single object, then sharded with --shards) for each
 * protocol and writes big-room.json and big-room.md to `out`.
 * @param {{entry: string, out: string, sockets: number, shards: number, protocols: ("plain" | "ndjson")[],
 *   processes: number, broadcasts: number, joinMs: number, say: (text: string) => void}} o
 */
export async function runBigRoom(o) {
  const runs = [];
  for (const protocol of o.protocols) {
    // One object cannot span processes: across them only the sharded room runs.
    const layouts = o.processes > 1 ? [o.shards] : o.shards > 0 ? [0, o.shards] : [0];
    for (const shards of layouts) {
      runs.push(await run({ ...o, protocol, shards }));
      // Let the closed sockets' leave storm end before the next server starts.
      await sleep(2000);
    }
  }
  const table = bigRoomTable(runs);
  const name = o.processes > 1 ? "big-room-processes" : "big-room";
  mkdirSync(o.out, { recursive: true });
  writeFileSync(
    join(o.out, `${name}.json`),
    `${JSON.stringify({ date: new Date(), runs }, null, 2)}\n`,
  );
  writeFileSync(join(o.out, `${name}.md`), `# Big room\n\n${table}`);
  console.log(`\n${table}`);
  return runs;
}
