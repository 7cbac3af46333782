/**
 * `npx node bench/sim/measure.mjs [--reps 5] [--out FILE]` (about 3 minutes)
 *
 * Prices, on this machine, the operations bench/sim/model.mjs is made of and
 * writes them to bench/sim/validation/service-times.json (`npm run sim --
 * --validate` runs it first, with the runs it prices). Each figure is the workerd
 * process's CPU time (user + system, from /proc) over a bounded loop of one
 * kind of operation, divided by the count; the median of `--reps` loops.
 *
 * - From bench/sim/probe-worker.mjs (Miniflare, direct socket): an RPC call
 *   between two Durable Objects with k items of ~100 B (k = 1..1000, both
 *   sides together: they share the process); a commit of r rows in one turn;
 *   a send of a frame of L lines to a socket; the bare inbound WebSocket event.
 * - From the relay itself (the bundle `npm run bench` serves, direct socket):
 *   one sender pipelining 100 B broadcasts into a room of 1 and of 20
 *   receivers, as bench/inbound.mjs does. Two room sizes give two equations:
 *   the cost of one inbound broadcast (parse, handling, commit) and of one
 *   plain send to a receiver.
 * - A join, from the relay on fresh workerds (sharding off, and 8 shards):
 *   workerd's CPU per join for the first 100 (announced to everyone) and for
 *   1,000 more past the presence cap, 100 handshakes in flight as the
 *   big-room bench opens them, and the client's CPU per handshake.
 * - The send at light load, from the relay: one sender paced at 50
 *   broadcasts a second (each a turn of its own) into a room of 99 and of 1;
 *   per receiver, one socket's send turn with one frame.
 *
 * `--only join` or `--only send` prices just those into an existing `--out` file.
 *
 * Not used here, on purpose: the fan-out ramp of bench/results/latest.json.
 * The model is validated against it, so it must not be fitted to it.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import WebSocket from "ws";
import { cpuSeconds, freePort, workerdUnder } from "../lib/proc.mjs";
import { buildBundle, startWorkerd } from "../lib/servers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    out: { type: "string", default: join(HERE, "validation/service-times.json") },
    // Prices only the joins or only the paced send, into the `--out` file's other prices.
    only: { type: "string" },
  },
});
const REPS = Number(flags.reps);
/** CPU seconds one loop should take: /proc counts in 10 ms ticks. */
const TARGET_CPU = 0.6;

const median = (/** @type {number[]} */ xs) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/**
 * Microseconds of `pid`'s CPU per operation: one calibration loop sizes the
 * count so a loop takes about TARGET_CPU, then REPS loops, median.
 * @param {() => number} pid @param {(count: number) => Promise<void>} loop @param {number} first
 */
async function price(pid, loop, first) {
  const once = async (/** @type {number} */ count) => {
    const before = cpuSeconds(pid());
    await loop(count);
    return (cpuSeconds(pid()) - before) / count;
  };
  const guess = Math.max(await once(first), 1e-6);
  const count = Math.max(1, Math.round(TARGET_CPU / guess));
  const samples = [];
  for (let r = 0; r < REPS; r++) samples.push(await once(count));
  return { us: round(median(samples) * 1e6), count, samples: samples.map((s) => round(s * 1e6)) };
}

const round = (/** @type {number} */ x) => Math.round(x * 100) / 100;

/** Opens `n` sockets to `url`, each resolved once its first frame arrived. */
function connect(/** @type {string} */ url, /** @type {number} */ n) {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url);
          ws.once("message", () => resolve(ws));
          ws.once("error", reject);
        }),
    ),
  );
}

/** Resolves when every socket got a frame equal to "end". @param {WebSocket[]} sockets */
function ends(sockets) {
  return Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          const on = (/** @type {Buffer} */ data) => {
            if (data.length === 3 && data.toString() === "end") {
              ws.off("message", on);
              resolve(undefined);
            }
          };
          ws.on("message", on);
        }),
    ),
  );
}

/** The probe Worker's figures. */
async function probe() {
  const port = await freePort();
  // Miniflare 5 takes a new option shape and converts the v4 one (as bench/lib/miniflare-host.mjs).
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      workers: [
        {
          name: "probe",
          modules: true,
          scriptPath: join(HERE, "probe-worker.mjs"),
          compatibilityDate: "2026-11-01",
          compatibilityFlags: ["no_web_socket_compression"],
          durableObjects: {
            CALLERS: { className: "Caller", useSQLite: true },
            CALLEES: { className: "Callee", useSQLite: true },
          },
          unsafeDirectSockets: [{ host: "127.0.0.1", port }],
        },
      ],
    }),
  );
  try {
    const base = (await mf.unsafeGetDirectURL("probe")).toString().replace(/\/$/, "");
    const pid = () => workerdUnder(process.pid)[0]?.pid ?? 0;
    const get = async (/** @type {string} */ path) => {
      const response = await fetch(`${base}${path}`);
      if (!response.ok) throw new Error(`${path}: ${response.status}`);
      return response.json();
    };
    const out = { rpc: [], commit: [], send: [], inboundEventUs: 0, sendSockets: 99 };
    for (const k of [1, 10, 100, 1000]) {
      const p = await price(pid, (calls) => get(`/rpc?k=${k}&calls=${calls}`), 200);
      out.rpc.push({ items: k, usPerCall: p.us, calls: p.count, samples: p.samples });
      console.log(`rpc k=${k}: ${p.us} us per call (both sides)`);
    }
    for (const rows of [1, 10, 100]) {
      const p = await price(pid, (turns) => get(`/commit?rows=${rows}&turns=${turns}`), 100);
      out.commit.push({ rows, usPerTurn: p.us, turns: p.count, samples: p.samples });
      console.log(`commit rows=${rows}: ${p.us} us per turn`);
    }
    const wsBase = base.replace("http", "ws");
    const sockets = /** @type {WebSocket[]} */ (
      await connect(`${wsBase}/ws?object=sockets`, out.sendSockets)
    );
    for (const [lines, perTurn] of [
      [1, 1],
      [1, 2],
      [1, 4],
      [1, 10],
      [10, 1],
      [100, 1],
    ]) {
      const p = await price(
        pid,
        async (sends) => {
          const done = ends(sockets);
          const frames = Math.ceil(sends / sockets.length / perTurn) * perTurn;
          await get(`/blast?object=sockets&lines=${lines}&perTurn=${perTurn}&frames=${frames}`);
          await done;
        },
        2000,
      );
      out.send.push({ lines, perTurn, usPerFrame: p.us, samples: p.samples });
      console.log(`send lines=${lines} perTurn=${perTurn}: ${p.us} us per frame and socket`);
    }
    for (const ws of sockets) ws.close();
    const [sender] = /** @type {WebSocket[]} */ (await connect(`${wsBase}/ws?object=sink`, 1));
    const frame = `{"type":"broadcast","data":{"p":"${"x".repeat(70)}"}}`;
    const inbound = await price(
      pid,
      async (frames) => {
        const done = ends([sender]);
        for (let n = 0; n < frames; n++) sender.send(frame);
        sender.send("end");
        await done;
      },
      500,
    );
    sender.close();
    out.inboundEventUs = inbound.us;
    console.log(`bare inbound event: ${inbound.us} us`);
    return out;
  } finally {
    await mf.dispose();
  }
}

/**
 * One sender sending `count` broadcasts into a fresh room of `receivers`:
 * pipelined, or `perSecond` of them, each then a turn of its own.
 */
async function pipeline(
  /** @type {string} */ base,
  /** @type {number} */ receivers,
  /** @type {number} */ count,
  /** @type {string} */ room,
  /** @type {number} */ perSecond = Number.POSITIVE_INFINITY,
) {
  const url = `${base.replace("http", "ws")}/rooms/${room}/ws`;
  const [sender] = /** @type {WebSocket[]} */ (await connect(url, 1));
  const others = /** @type {WebSocket[]} */ (await connect(url, receivers));
  await new Promise((r) => setTimeout(r, 200)); // join notices settle before the clock starts
  const all = Promise.all(
    others.map(
      (ws) =>
        new Promise((resolve) => {
          let seen = 0;
          ws.on("message", (data) => {
            if (data.includes('"type":"message"') && ++seen === count) resolve(undefined);
          });
        }),
    ),
  );
  return {
    run: async () => {
      const payload = "x".repeat(60);
      const gap = 1000 / perSecond;
      const t0 = performance.now();
      for (let n = 0; n < count; n++) {
        const wait = t0 + n * gap - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        sender.send(`{"type":"broadcast","data":{"n":${n},"p":"${payload}"}}`);
      }
      await all;
    },
    close: () => {
      for (const ws of [sender, ...others]) ws.close();
    },
  };
}

/** Joins per loop past the cap: enough workerd CPU for /proc's 10 ms ticks. */
const JOINS = 1000;
/** The relay's announced members (PRESENCE_MAX's default): joins past it are not announced. */
const PRESENCE_MAX = 100;
/** Handshakes in flight, as each big-room generator process has them (bench/big-room.mjs). */
const IN_FLIGHT = 100;

/** Opens `n` sockets to `url`, `IN_FLIGHT` handshakes at a time, each done at its first frame (the welcome). */
async function paced(/** @type {string} */ url, /** @type {number} */ n) {
  const open = /** @type {WebSocket[]} */ ([]);
  let left = n;
  const worker = async () => {
    while (left-- > 0) open.push(.../** @type {WebSocket[]} */ (await connect(url, 1)));
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, worker));
  return open;
}

/**
 * Closes `sockets` and waits until workerd has handled every close (its CPU
 * stops moving): a room's leaves would otherwise be billed to the next
 * room's joins.
 * @param {WebSocket[]} sockets @param {number} pid
 */
async function closeAll(sockets, pid) {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          ws.once("close", resolve);
          ws.close();
        }),
    ),
  );
  await settled(pid);
}

/** Resolves once `pid`'s CPU stopped moving (at most 15 s). @param {number} pid */
async function settled(pid) {
  for (let was = -1, n = 0; n < 50 && cpuSeconds(pid) !== was; n++) {
    was = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * A join's price on a server, both phases of a big room's join: the first
 * PRESENCE_MAX joins of a fresh room (each announced to everyone in it) and
 * JOINS more past the cap (welcome only), paced as the big-room bench paces
 * them. Per join: workerd's CPU, and this process's (the client side of a
 * handshake, the generators' price). Median of REPS rooms.
 * @param {import("../lib/servers.mjs").Server} server @param {string} tag
 */
async function joinPrice(server, tag) {
  const pid = server.measuredPid();
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const url = (/** @type {number} */ r) =>
    `${server.base.replace("http", "ws")}/rooms/join-${tag}-${r}/ws`;
  const phase = async (
    /** @type {string} */ to,
    /** @type {number} */ n,
    /** @type {WebSocket[]} */ into,
  ) => {
    const [w0, c0] = [cpuSeconds(pid), own()];
    into.push(...(await paced(to, n)));
    return { server: ((cpuSeconds(pid) - w0) / n) * 1e6, client: ((own() - c0) / n) * 1e6 };
  };
  const announced = [];
  const past = [];
  for (let r = 0; r < REPS; r++) {
    const open = /** @type {WebSocket[]} */ ([]);
    announced.push(await phase(url(r), PRESENCE_MAX, open));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the notices settle first
    past.push(await phase(url(r), JOINS, open));
    await closeAll(open, pid);
  }
  const m = (
    /** @type {{server: number, client: number}[]} */ xs,
    /** @type {"server" | "client"} */ k,
  ) => round(median(xs.map((x) => x[k])));
  const out = {
    announcedUs: m(announced, "server"),
    pastCapUs: m(past, "server"),
    clientUs: m(past, "client"),
    samples: { announced, past },
  };
  console.log(
    `join (${tag}): ${out.announcedUs} us announced, ${out.pastCapUs} us past the cap, client ${out.clientUs} us`,
  );
  return out;
}

/**
 * A join's price on the single object and on 8 shards (the big-room bench's
 * settings), each on a fresh workerd.
 * @param {string} entry
 */
async function joins(entry) {
  const out = {};
  for (const [tag, vars] of /** @type {const} */ ([
    ["single", ["MAX_CONNECTIONS_PER_ROOM=32768", "SHARD_COUNT=0", "SHARD_AT_SESSIONS=1000000000"]],
    ["sharded", ["SHARD_COUNT=8"]],
  ])) {
    const server = await startWorkerd({
      key: "direct",
      label: `join-${tag}`,
      entry,
      direct: true,
      hostArgs: vars.flatMap((v) => ["--var", v]),
    });
    try {
      out[tag] = await joinPrice(server, tag);
    } finally {
      await server.stop();
    }
  }
  return out;
}

/** The relay's figures: inbound broadcast and plain send, from two room sizes. */
async function relay(/** @type {{entry: string}} */ bundle) {
  const server = await startWorkerd({
    key: "direct",
    label: "relay",
    entry: bundle.entry,
    direct: true,
  });
  try {
    const pid = () => server.measuredPid();
    const points = [];
    let rooms = 0;
    for (const receivers of [1, 20]) {
      const p = await price(
        pid,
        async (count) => {
          const room = await pipeline(server.base, receivers, count, `sim-${receivers}-${rooms++}`);
          await room.run();
          room.close();
        },
        500,
      );
      points.push({ receivers, usPerBroadcast: p.us, broadcasts: p.count, samples: p.samples });
      console.log(`relay, room of 1 + ${receivers}: ${p.us} us per broadcast`);
    }
    const [one, many] = /** @type {[{usPerBroadcast: number}, {usPerBroadcast: number}]} */ (
      points
    );
    const sendUs = round((many.usPerBroadcast - one.usPerBroadcast) / 19);
    return { points, sendUs, inboundUs: round(one.usPerBroadcast - sendUs) };
  } finally {
    await server.stop();
  }
}

/** Broadcasts a second in the paced rooms: 20 ms apart, each a turn of its own. */
const PACED_PER_SECOND = 50;
/** Receivers in the paced room: the ramps' room of 100, less the sender. */
const PACED_RECEIVERS = 99;

/**
 * The send price at light load, where each broadcast is a turn of its own
 * (the pipelined price above has many frames share a socket's turn): one
 * sender paced into a room of 99 receivers and, as many broadcasts, into a
 * room of 1; the difference per receiver is one socket's send turn with one
 * frame. Each loop sized to ~TARGET_CPU; the median of at least five pairs. One short
 * step of a ramp cannot pin it: a 3 s step at 20 msg/s is about 30 of
 * /proc's ticks, and two runs read 29 and 41 µs from it.
 * @param {{entry: string}} bundle
 */
async function pacedSend(bundle) {
  const server = await startWorkerd({
    key: "direct",
    label: "paced",
    entry: bundle.entry,
    direct: true,
  });
  try {
    const pid = server.measuredPid();
    let rooms = 0;
    /** workerd's CPU per broadcast over `count` paced broadcasts into a fresh room. */
    const perBroadcast = async (/** @type {number} */ receivers, /** @type {number} */ count) => {
      const room = await pipeline(
        server.base,
        receivers,
        count,
        `paced-${rooms++}`,
        PACED_PER_SECOND,
      );
      await settled(pid);
      const before = cpuSeconds(pid);
      await room.run();
      const used = cpuSeconds(pid) - before;
      // The next loop settles before it measures, so these closes are not billed to it.
      room.close();
      return used / count;
    };
    const count = Math.round(TARGET_CPU / (await perBroadcast(PACED_RECEIVERS, 50)));
    const samples = [];
    // Pairs are cheap (a few seconds each) and spread ±15%: at least five.
    for (let r = 0; r < Math.max(REPS, 5); r++) {
      const many = await perBroadcast(PACED_RECEIVERS, count);
      const one = await perBroadcast(1, count);
      samples.push(round(((many - one) / (PACED_RECEIVERS - 1)) * 1e6));
    }
    const out = {
      us: median(samples),
      perSecond: PACED_PER_SECOND,
      receivers: PACED_RECEIVERS,
      count,
      samples,
    };
    console.log(
      `paced send (${PACED_PER_SECOND}/s into ${PACED_RECEIVERS}): ${out.us} us per receiver ${JSON.stringify(samples)}`,
    );
    return out;
  } finally {
    await server.stop();
  }
}

/** The relay's figures and the join prices, from one bundle. */
async function relayAll() {
  const bundle = await buildBundle();
  return {
    ...(await relay(bundle)),
    pacedSend: await pacedSend(bundle),
    join: await joins(bundle.entry),
  };
}

if (flags.only) {
  const before = JSON.parse(readFileSync(flags.out, "utf8"));
  const { entry } = await buildBundle();
  const at = { measuredAt: new Date().toISOString(), loadAverageAtStart: round(loadavg()[0]) };
  if (flags.only === "join") before.relay.join = { ...(await joins(entry)), ...at };
  else if (flags.only === "send")
    before.relay.pacedSend = { ...(await pacedSend({ entry })), ...at };
  else throw new Error(`--only ${flags.only}: join or send`);
  writeFileSync(flags.out, `${JSON.stringify(before, null, 2)}\n`);
  console.log(`wrote the ${flags.only} prices into ${flags.out}`);
  process.exit(0);
}

const started = new Date().toISOString();
const load = loadavg()[0];
const probed = await probe();
const measured = await relayAll();
const result = {
  measuredAt: started,
  loadAverageAtStart: round(load),
  node: process.version,
  reps: REPS,
  how: {
    cpu: "workerd process user+system CPU seconds from /proc over a loop of one operation, divided by the count; median of reps loops sized to ~0.6 s CPU each",
    rpc: "probe-worker.mjs: Caller awaits Callee.receive(batch) `calls` times, one call in flight, a fresh batch of k {seq, frame ~100 B} items each; cost of both sides together (one process)",
    commit:
      "probe-worker.mjs: per turn r INSERTs of ~100 B rows, UPDATE meta, DELETE old rows (src/history.ts's commit), then setTimeout(0) so each turn commits on its own",
    send: "probe-worker.mjs: ws.send of frames of L newline-joined ~100 B lines to each of 99 hibernatable sockets (a fan-out room), j frames per socket per turn, then setTimeout(0); per frame and socket",
    inboundEvent:
      "probe-worker.mjs: a webSocketMessage that does nothing, one sender pipelining ~100 B frames",
    relay:
      "the relay bundle on a direct socket: one sender pipelines 100 B broadcasts into a room of 1 and of 20 plain receivers; send = (c20 - c1) / 19, inbound = c1 - send",
    pacedSend:
      "the relay bundle on a direct socket: one sender paced at 50 broadcasts/s into a room of 99 receivers and, as many broadcasts, a room of 1; (c99 - c1) / 98 per broadcast, median of at least 5 pairs of loops of ~0.6 s CPU",
    join: "the relay bundle on a direct socket (single: sharding off; sharded: SHARD_COUNT=8, as the big-room bench): 100 handshakes in flight into a fresh room, workerd CPU per join over the first 100 (announced to everyone) and over 1000 more (past PRESENCE_MAX: accept and welcome; on shards the shard's accept, the uplink join and the welcome down); client: this process's CPU per join past the cap",
  },
  probe: probed,
  relay: measured,
};
writeFileSync(flags.out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${flags.out}`);
