/**
 * `npm run bench -- --multiplex [--clients 1000] [--rooms-each 20] [--hubs 8,1]`
 *
 * Many rooms on one connection (issue 22): N clients each in K rooms (rooms
 * of 5-50 members), once with one socket per room (`/rooms/:room/ws`) and
 * once with one socket per client through the hubs (`GET /ws`, one
 * subscribe per room), each against a fresh `wrangler dev` in the same run,
 * with the same `edge-relay.ndjson` clients. Per side: server RSS growth per
 * client, seconds until every room is joined (every welcome in), delivery
 * p50/p99 at one broadcast rate spread over the rooms, and the link calls
 * (uplink and downlink RPCs, counted by the test-only `LINK_FAULTS=count=1`,
 * src/big-rooms/link.ts) per broadcast; then the cost per hour by the model
 * of docs/large-rooms.md. Writes multiplex.json and multiplex.md. Measures;
 * asserts nothing. Load goes to 127.0.0.1 only and every phase is bounded.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { Histogram } from "./lib/histogram.mjs";
import { rssBytes, sleep } from "./lib/proc.mjs";
import { BENCH_VARS, startWranglerDev } from "./lib/servers.mjs";

const NDJSON = "edge-relay.ndjson";
const JOIN_TIMEOUT_MS = 180_000;
const CONNECT_CONCURRENCY = 50;
// Prices as in docs/large-rooms.md ("Cost"): Workers Paid, 2026-12.
const PER_REQUEST = 0.15 / 1e6;
const PER_GB_S = 12.5 / 1e6;
const OBJECT_GB = 0.125;

/** A deterministic generator, so both sides get the same rooms. @param {number} seed */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Rooms of 5-50 members whose memberships add up to N·K, each client in
 * exactly K distinct rooms (each room takes the clients with most places left).
 * @param {number} clients @param {number} each @returns {number[][]} members per room
 */
export function layout(clients, each) {
  const rnd = random(22);
  const left = Array.from({ length: clients }, () => each);
  /** @type {number[][]} */
  const rooms = [];
  let remaining = clients * each;
  while (remaining > 0) {
    let size = Math.min(5 + Math.floor(rnd() * 46), clients, remaining);
    const open = left.filter((n) => n > 0).length;
    size = Math.min(size, open);
    const order = left
      .map((n, i) => ({ n, i, tie: rnd() }))
      .filter((c) => c.n > 0)
      .sort((a, b) => b.n - a.n || a.tie - b.tie);
    const members = order.slice(0, size).map((c) => c.i);
    for (const i of members) left[i] -= 1;
    rooms.push(members);
    remaining -= size;
  }
  return rooms;
}

/**
 * One side's sockets. `direct`: a socket per (client, room); `hub`: a socket
 * per client carrying every room. Both count welcomes and time deliveries.
 */
class Side {
  /**
   * @param {string} base @param {"direct" | "hub"} mode @param {number[][]} rooms @param {number} clients
   * @param {string} [prefix] of client ids and names
   */
  constructor(base, mode, rooms, clients, prefix = "c") {
    this.prefix = prefix;
    this.ws = base.replace(/^http/, "ws");
    this.mode = mode;
    this.rooms = rooms;
    this.clients = clients;
    /** @type {WebSocket[]} */
    this.sockets = [];
    /** @type {Map<string, WebSocket>} "client/room" -> socket (direct), or client -> socket (hub) */
    this.byKey = new Map();
    this.welcomes = 0;
    this.errors = 0;
    this.hist = new Histogram();
    this.received = 0;
    this.onWelcome = () => {};
  }

  /** @param {WebSocket} socket */
  watch(socket) {
    socket.on("message", (data) => {
      for (const line of String(data).split("\n")) {
        if (!line || line === "pong") continue;
        const frame = JSON.parse(line);
        if (frame.type === "welcome") {
          this.welcomes += 1;
          this.onWelcome();
        } else if (frame.type === "message" && typeof frame.data?.t === "number") {
          this.received += 1;
          this.hist.record(performance.now() - frame.data.t);
        } else if (frame.type === "error" || frame.type === "unsubscribed") this.errors += 1;
      }
    });
    socket.on("error", () => {
      this.errors += 1;
    });
    this.sockets.push(socket);
  }

  /** @param {string} url @returns {Promise<WebSocket>} */
  open(url) {
    const socket = new WebSocket(url, [NDJSON], { perMessageDeflate: false });
    this.watch(socket);
    return new Promise((resolve, reject) => {
      socket.once("open", () => resolve(socket));
      socket.once("error", reject);
    });
  }

  /** Opens every socket (bounded concurrency) and resolves when every room has welcomed. */
  async join() {
    const expected = this.rooms.reduce((n, m) => n + m.length, 0);
    const all = new Promise((resolve) => {
      this.onWelcome = () => this.welcomes >= expected && resolve(undefined);
    });
    /** @type {(() => Promise<void>)[]} */
    const tasks = [];
    if (this.mode === "direct") {
      this.rooms.forEach((members, r) => {
        for (const c of members) {
          tasks.push(async () => {
            const url = `${this.ws}/rooms/mx-${r}/ws?name=${this.prefix}${c}`;
            this.byKey.set(`${c}/${r}`, await this.open(url));
          });
        }
      });
    } else {
      /** @type {number[][]} */
      const mine = Array.from({ length: this.clients }, () => []);
      this.rooms.forEach((members, r) => {
        for (const c of members) mine[c]?.push(r);
      });
      mine.forEach((rooms, c) => {
        tasks.push(async () => {
          const socket = await this.open(
            `${this.ws}/ws?client=${this.prefix}${c}&name=${this.prefix}${c}`,
          );
          this.byKey.set(String(c), socket);
          socket.send(
            rooms.map((r) => JSON.stringify({ type: "subscribe", room: `mx-${r}` })).join("\n"),
          );
        });
      });
    }
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) await tasks[next++]?.();
    };
    await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
    const timeout = sleep(JOIN_TIMEOUT_MS).then(() => "timeout");
    const outcome = await Promise.race([all.then(() => "ok"), timeout]);
    return { seconds: (performance.now() - t0) / 1000, complete: outcome === "ok", expected };
  }

  /** One broadcast from member `c` of room `r`, stamped with the send time. @param {number} c @param {number} r */
  broadcast(c, r) {
    const data = { t: performance.now() };
    if (this.mode === "direct") {
      this.byKey.get(`${c}/${r}`)?.send(JSON.stringify({ type: "broadcast", data }));
    } else {
      this.byKey.get(String(c))?.send(JSON.stringify({ type: "broadcast", room: `mx-${r}`, data }));
    }
  }

  close() {
    for (const s of this.sockets) s.terminate();
  }
}

/** Link calls by direction, from the `link_calls` lines wrangler dev prints. */
class CallCounter {
  constructor() {
    this.up = 0;
    this.down = 0;
    this.partial = "";
  }

  /** @param {string} chunk */
  feed(chunk) {
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      const at = line.indexOf('{"event":"link_calls"');
      if (at < 0) continue;
      try {
        const tally = JSON.parse(line.slice(at));
        this.up += tally.up ?? 0;
        this.down += tally.down ?? 0;
      } catch {}
    }
  }

  take() {
    const taken = { up: this.up, down: this.down };
    this.up = 0;
    this.down = 0;
    return taken;
  }
}

/** @param {import("./lib/servers.mjs").Server} server */
function rss(server) {
  return server.memoryPids().reduce((sum, { pid }) => sum + (rssBytes(pid) ?? 0), 0);
}

/**
 * One side on a fresh server.
 * @param {{mode: "direct" | "hub", hubs: number, rooms: number[][], clients: number,
 *   rate: number, seconds: number, say: (s: string) => void}} o
 */
async function runSide(o) {
  const counter = new CallCounter();
  const server = await startWranglerDev({
    vars: { ...BENCH_VARS, HUB_COUNT: String(o.hubs), LINK_FAULTS: "count=1" },
    onOutput: (chunk) => counter.feed(chunk),
  });
  const label = o.mode === "direct" ? "direct (socket per room)" : `hub (HUB_COUNT=${o.hubs})`;
  try {
    // Warm-up: every room object (and, through 64 warm-up clients, every
    // hub) up before the baseline, so the growth is the clients' sockets and sessions.
    const warm = new Side(
      server.base,
      "direct",
      o.rooms.map(() => [0]),
      1,
      "w",
    );
    await warm.join();
    warm.close();
    if (o.mode === "hub") {
      const n = Math.min(64, o.rooms.length);
      const clients = Array.from({ length: n }, (_, i) => [i]);
      const warmHubs = new Side(server.base, "hub", clients, n, "w");
      await warmHubs.join();
      warmHubs.close();
    }
    await sleep(3000);
    counter.take();
    const before = rss(server);
    const side = new Side(server.base, o.mode, o.rooms, o.clients);
    const joined = await side.join();
    o.say(
      `  ${label}: ${side.welcomes}/${joined.expected} welcomes in ${joined.seconds.toFixed(1)} s`,
    );
    await sleep(3000);
    const after = rss(server);
    const joinCalls = counter.take();
    // The common load: `rate` broadcasts a second, each from a random member of a random room.
    const rnd = random(7);
    const sent = { n: 0, deliveries: 0 };
    const start = performance.now();
    const total = Math.round(o.rate * o.seconds);
    while (sent.n < total) {
      const due = start + (sent.n * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const r = Math.floor(rnd() * o.rooms.length);
      const members = o.rooms[r] ?? [];
      const c = members[Math.floor(rnd() * members.length)] ?? 0;
      side.broadcast(c, r);
      sent.n += 1;
      sent.deliveries += members.length - 1;
    }
    // The last deliveries, then the last once-a-second tally line.
    await sleep(3000);
    const calls = counter.take();
    const result = {
      side: label,
      mode: o.mode,
      hubs: o.mode === "hub" ? o.hubs : null,
      sockets: side.sockets.length,
      joinSeconds: joined.complete ? joined.seconds : null,
      welcomes: side.welcomes,
      expectedWelcomes: joined.expected,
      rssDeltaBytes: after - before,
      rssPerClientKiB: (after - before) / o.clients / 1024,
      joinCalls,
      broadcasts: sent.n,
      expectedDeliveries: sent.deliveries,
      delivered: side.received,
      p50: side.hist.percentile(50),
      p99: side.hist.percentile(99),
      calls,
      callsPerBroadcast: (calls.up + calls.down) / sent.n,
      errors: side.errors,
    };
    side.close();
    o.say(
      `  ${label}: ${result.rssPerClientKiB.toFixed(1)} KiB/client, p50 ${result.p50?.toFixed(1)} ms, ` +
        `p99 ${result.p99?.toFixed(1)} ms, ${result.callsPerBroadcast.toFixed(2)} calls/broadcast`,
    );
    return result;
  } finally {
    await server.stop();
  }
}

/**
 * Requests and duration an hour by the model of docs/large-rooms.md, at the
 * bench's broadcast rate: client frames bill 20:1 on either side; a hub adds
 * its link calls; every room object (and each hub) is awake all hour.
 * @param {any} r @param {number} rate @param {number} roomCount
 */
function costPerHour(r, rate, roomCount) {
  const framesIn = rate / 20;
  const links = r.callsPerBroadcast * rate;
  const requests = (framesIn + links) * 3600;
  const objects = roomCount + (r.hubs ?? 0);
  const gbS = objects * OBJECT_GB * 3600;
  return {
    requestsPerHour: requests,
    objectsAwake: objects,
    requests$: requests * PER_REQUEST,
    duration$: gbS * PER_GB_S,
    total$: requests * PER_REQUEST + gbS * PER_GB_S,
  };
}

/** @param {number | null | undefined} v @param {number} [d] */
const f = (v, d = 1) => (v == null ? "-" : v.toFixed(d));

/** @param {any} run */
function markdown(run) {
  const rows = run.results.map(
    (/** @type {any} */ r) =>
      `| ${r.side} | ${r.sockets} | ${f(r.rssPerClientKiB)} | ${f(r.joinSeconds)} | ${f(r.p50)} | ${f(r.p99)} | ` +
      `${f(r.delivered / r.expectedDeliveries, 3)} | ${f(r.callsPerBroadcast, 2)} (${r.calls.up} up, ${r.calls.down} down) | ` +
      `${r.cost.requestsPerHour.toFixed(0)} | $${f(r.cost.total$, 3)} |`,
  );
  return [
    `# Many rooms on one connection (${run.startedAt})`,
    "",
    `${run.clients} clients × ${run.roomsEach} rooms (${run.rooms} rooms of 5-50), ${run.rate} broadcasts/s for ${run.seconds} s, wrangler dev, edge-relay.ndjson clients.`,
    "",
    "| side | sockets | server RSS / client (KiB) | join all (s) | p50 (ms) | p99 (ms) | delivered | link calls / broadcast | requests / h | cost / h |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

/**
 * Runs the direct side, then one hub side per `hubs` entry, each on a fresh server.
 * @param {{clients: number, roomsEach: number, hubs: number[], rate: number, seconds: number,
 *   out: string, say: (s: string) => void}} o
 */
export async function runMultiplex(o) {
  const rooms = layout(o.clients, o.roomsEach);
  o.say(`multiplex: ${o.clients} clients × ${o.roomsEach} rooms over ${rooms.length} rooms`);
  const results = [];
  const common = { rooms, clients: o.clients, rate: o.rate, seconds: o.seconds, say: o.say };
  results.push(await runSide({ ...common, mode: "direct", hubs: 8 }));
  for (const hubs of o.hubs) results.push(await runSide({ ...common, mode: "hub", hubs }));
  for (const r of results) r.cost = costPerHour(r, o.rate, rooms.length);
  const direct = results[0];
  for (const r of results.slice(1)) {
    r.vsDirect = {
      memory: r.rssPerClientKiB / direct.rssPerClientKiB,
      p99: r.p99 / direct.p99,
      joinSeconds: r.joinSeconds && direct.joinSeconds ? r.joinSeconds / direct.joinSeconds : null,
    };
  }
  const run = {
    startedAt: new Date().toISOString(),
    clients: o.clients,
    roomsEach: o.roomsEach,
    rooms: rooms.length,
    rate: o.rate,
    seconds: o.seconds,
    results,
  };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, "multiplex.json"), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(o.out, "multiplex.md"), markdown(run));
  o.say(markdown(run));
  return run;
}
