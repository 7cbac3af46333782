/**
 * `npm run soak [-- --seconds 60] [-- --seed N]`
 *
 * Runs edge-relay under `wrangler dev` (127.0.0.1, fresh state, rate limits
 * lifted) and churns it for N seconds: clients in several rooms join,
 * broadcast, send direct messages and garbage, close cleanly and vanish
 * abruptly (ws.terminate()). Every loop is bounded. Then it checks:
 *   - presence: a fresh observer per room sees exactly the live clients
 *   - delivery: every broadcast from a live (or cleanly closed) client reached
 *     every client that was welcomed before the send and is still connected,
 *     in per-sender order, with no duplicates; same for direct messages
 *   - every garbage frame was answered with an error frame, on an open socket
 *   - no live client was disconnected by the server; clean closes were answered
 *   - each live client's own view of the room (welcome + join - leave) is right
 *   - memory: workerd's RSS stays under its warm-up RSS + 256 MiB; and, in
 *     runs of 90 s or more, it levels off: the peak of the last third is at
 *     most 32 MiB above where that third began. (Under `wrangler dev` RSS
 *     climbs ~3 MiB/s for the first minute as V8 and workerd settle, then
 *     flattens near warm-up + 190 MiB; a leak of one closed connection's
 *     ~0.5 MiB would keep climbing and fail the second check.)
 * Prints each check and `N passed, N failed`; exits non-zero on failure.
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { rssBytes, sleep } from "./lib/proc.mjs";
import { buildBundle, startWorkerd, startWranglerDev } from "./lib/servers.mjs";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    seed: { type: "string" },
    rooms: { type: "string", default: "4" },
    // wrangler-dev (default, what CI runs) or direct (workerd, our Worker on a direct socket)
    target: { type: "string", default: "wrangler-dev" },
  },
});
const SECONDS = Math.max(5, Number(flags.seconds));
const SEED = flags.seed ? Number(flags.seed) : Date.now() % 1e9;
const ROOMS = Array.from({ length: Math.max(1, Number(flags.rooms)) }, (_, i) => `soak-${i}`);
const MAX_PER_ROOM = 10;
const TICK_MS = 50;
/** Per live client, per second: modest rates (rate limiting is tested elsewhere). */
const RATES = { broadcast: 2, direct: 0.3, garbage: 0.3, close: 0.04, terminate: 0.04 };
const JOINS_PER_SECOND = 3;
const MAX_CLIENTS_TOTAL = 40 + SECONDS * 6;
const MiB = 2 ** 20;
const RSS_CAP = 256 * MiB;
const PLATEAU_SLACK = 32 * MiB;
const PLATEAU_MIN_SECONDS = 90;
/** A terminated sender's last frames may die with its TCP reset; older ones may not. */
const TERMINATE_GRACE_MS = 1000;

// mulberry32: reproducible runs with --seed
let seedState = SEED >>> 0;
function random() {
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (/** @type {any[]} */ list) => list[Math.floor(random() * list.length)];
const now = () => performance.timeOrigin + performance.now();

const GARBAGE = [
  () => "this is not json {",
  () => '{"type":"nope","data":1}',
  () => "[1,2,3]",
  () => '{"type":"broadcast"}',
  () => '{"type":"direct","to":"no-such-session","data":1}',
  () => Buffer.from([1, 2, 3, 255]),
  () => JSON.stringify({ type: "broadcast", data: "x".repeat(70_000) }),
];

class SoakClient {
  /** @param {number} key @param {string} room @param {string} base */
  constructor(key, room, base) {
    this.key = key;
    this.room = room;
    /** @type {string | undefined} */
    this.id = undefined;
    this.welcomedAt = 0;
    /** @type {"connecting" | "live" | "closing" | "terminated" | "gone"} */
    this.state = "connecting";
    this.leftAt = Infinity;
    /** @type {number | undefined} */
    this.closeCode = undefined;
    this.serverClosed = false;
    this.n = 0;
    this.garbageSent = 0;
    this.errors = 0;
    /** @type {Map<string, number[]>} sender id -> broadcast numbers received */
    this.received = new Map();
    /** @type {Set<string>} "from:n" of direct messages received */
    this.directs = new Set();
    /** @type {Set<string>} peers as this client sees them */
    this.view = new Set();
    this.ws = new WebSocket(`${base.replace(/^http/, "ws")}/rooms/${room}/ws?name=k${key}`, {
      perMessageDeflate: false,
    });
    this.ready = new Promise((resolve) => {
      this.ws.on("message", (data, isBinary) => {
        if (isBinary) return;
        let frame;
        try {
          frame = JSON.parse(data.toString());
        } catch {
          return; // "pong"
        }
        this.onFrame(frame);
        if (frame?.type === "welcome") resolve(true);
      });
      this.ws.on("error", () => resolve(false));
      this.ws.on("unexpected-response", () => resolve(false));
      this.ws.on("close", (code) => {
        this.closeCode = code;
        if (this.state === "live") {
          this.serverClosed = true;
          this.leftAt = now();
        }
        if (this.state !== "closing" && this.state !== "terminated") this.state = "gone";
        resolve(false);
      });
    });
  }

  /** @param {any} frame */
  onFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "welcome" && !this.id) {
      this.id = frame.id;
      this.welcomedAt = now();
      this.state = "live";
      for (const peer of frame.peers ?? []) this.view.add(peer.id);
    } else if (frame.type === "join") {
      this.view.add(frame.peer?.id);
    } else if (frame.type === "leave") {
      this.view.delete(frame.peer?.id);
    } else if (frame.type === "error") {
      this.errors++;
    } else if (frame.type === "message") {
      const soak = frame.data?.soak;
      if (!Array.isArray(soak)) return;
      if (frame.to) this.directs.add(`${frame.from}:${soak[1]}`);
      else {
        const list = this.received.get(frame.from) ?? [];
        list.push(soak[1]);
        this.received.set(frame.from, list);
      }
    }
    // anything else (ack, newer frame types): ignored
  }

  get live() {
    return this.state === "live";
  }
}

/** @type {{name: string, ok: boolean, detail: string}[]} */
const checks = [];
/** @param {string} name @param {boolean} ok @param {string} detail */
function check(name, ok, detail) {
  checks.push({ name, ok, detail });
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}${detail ? ` — ${detail}` : ""}`);
}

const log = (/** @type {string} */ text) => console.log(`[soak] ${text}`);

log(`starting ${flags.target}; ${SECONDS} s, rooms ${ROOMS.join(", ")}, seed ${SEED}`);
const server = flags.target === "direct" ? await startDirect() : await startWranglerDev();
let exitCode = 1;
try {
  exitCode = await soak(server);
} catch (error) {
  console.error(error);
  console.log(
    `${checks.filter((c) => c.ok).length} passed, ${checks.filter((c) => !c.ok).length + 1} failed`,
  );
} finally {
  await server.stop();
}
process.exit(exitCode);

/** The relay bundle on a direct workerd socket; its temp dir goes with it. */
async function startDirect() {
  const bundle = await buildBundle();
  const server = await startWorkerd({
    key: "direct",
    label: "edge-relay, direct socket",
    entry: bundle.entry,
    direct: true,
  });
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    rmSync(bundle.outdir, { recursive: true, force: true });
  };
  return server;
}

/** @param {import("./lib/servers.mjs").Server} server */
async function soak(server) {
  const pid = server.measuredPid();
  // Warm-up: every room once, a few messages, then let it settle.
  for (const room of ROOMS) {
    const a = new SoakClient(-1, room, server.base);
    const b = new SoakClient(-2, room, server.base);
    await Promise.all([a.ready, b.ready]);
    for (let i = 0; i < 20; i++) a.ws.send(JSON.stringify({ type: "broadcast", data: i }));
    await sleep(200);
    a.state = "closing";
    b.state = "closing";
    a.ws.close(1000);
    b.ws.close(1000);
  }
  await sleep(2000);
  const warmRss = rssBytes(pid) ?? 0;
  let peakRss = warmRss;
  /** RSS every 5 s, with the run time left, for the plateau check. */
  const samples = [];
  log(`workerd (Worker) pid ${pid}, RSS after warm-up ${(warmRss / 2 ** 20).toFixed(1)} MiB`);

  /** @type {SoakClient[]} */
  const clients = [];
  /** @type {{sender: SoakClient, n: number, at: number}[]} */
  const broadcasts = [];
  /** @type {{sender: SoakClient, target: SoakClient, n: number, at: number}[]} */
  const directs = [];
  let keys = 0;
  const p = (/** @type {number} */ perSecond) => random() < (perSecond * TICK_MS) / 1000;
  const end = now() + SECONDS * 1000;
  let lastReport = now();
  let restarts = 0;

  while (now() < end) {
    for (const room of ROOMS) {
      const population = clients.filter(
        (c) => c.room === room && (c.live || c.state === "connecting"),
      ).length;
      if (population < MAX_PER_ROOM && keys < MAX_CLIENTS_TOTAL && p(JOINS_PER_SECOND)) {
        clients.push(new SoakClient(keys++, room, server.base));
      }
    }
    for (const c of clients) {
      if (!c.live) continue;
      if (p(RATES.broadcast)) {
        const n = ++c.n;
        broadcasts.push({ sender: c, n, at: now() });
        c.ws.send(JSON.stringify({ type: "broadcast", data: { soak: [c.key, n] } }));
      }
      if (p(RATES.direct)) {
        const target = pick(clients.filter((o) => o !== c && o.live && o.room === c.room));
        if (target?.id) {
          const n = ++c.n;
          directs.push({ sender: c, target, n, at: now() });
          c.ws.send(JSON.stringify({ type: "direct", to: target.id, data: { soak: [c.key, n] } }));
        }
      }
      if (p(RATES.garbage)) {
        c.garbageSent++;
        c.ws.send(pick(GARBAGE)());
      }
      if (p(RATES.close)) {
        c.state = "closing";
        c.leftAt = now();
        c.ws.close(1000, "bye");
      } else if (p(RATES.terminate)) {
        c.state = "terminated";
        c.leftAt = now();
        c.ws.terminate();
      }
    }
    if (now() - lastReport > 5000) {
      lastReport = now();
      if (server.measuredPid() !== pid) restarts++;
      const rss = rssBytes(pid) ?? 0;
      peakRss = Math.max(peakRss, rss);
      samples.push({ left: end - now(), rss });
      log(
        `${Math.round((end - now()) / 1000)} s left: ${clients.filter((c) => c.live).length} live, ` +
          `${keys} created, ${broadcasts.length} broadcasts, RSS ${(rss / 2 ** 20).toFixed(1)} MiB`,
      );
    }
    await sleep(TICK_MS);
  }

  // Quiesce: let connects finish and in-flight frames arrive.
  await Promise.all(clients.map((c) => c.ready));
  await sleep(2000);
  const live = clients.filter((c) => c.live);
  log(
    `done: ${keys} clients created, ${live.length} live, ${broadcasts.length} broadcasts, ` +
      `${directs.length} directs, ${clients.reduce((n, c) => n + c.garbageSent, 0)} garbage frames`,
  );

  check(
    "workerd (Worker) process kept running",
    restarts === 0 && server.measuredPid() === pid,
    restarts || server.measuredPid() !== pid
      ? `pid ${pid} -> ${server.measuredPid()}`
      : `pid ${pid}`,
  );

  // 1. Presence, as a fresh observer per room sees it.
  for (const room of ROOMS) {
    const observer = new SoakClient(-3, room, server.base);
    const ok = await observer.ready;
    const seen = new Set([...observer.view]);
    const expected = new Set(live.filter((c) => c.room === room).map((c) => c.id));
    const ghosts = [...seen].filter((id) => !expected.has(id));
    const missing = [...expected].filter((id) => !seen.has(id));
    check(
      `presence in ${room}`,
      ok && ghosts.length === 0 && missing.length === 0,
      `${expected.size} live clients, observer sees ${seen.size}` +
        (ghosts.length ? `; ghosts ${ghosts.slice(0, 3).join(", ")}` : "") +
        (missing.length ? `; missing ${missing.slice(0, 3).join(", ")}` : ""),
    );
    observer.state = "closing";
    observer.ws.close(1000);
  }
  await sleep(1000); // the observers' leave notices

  // 2. Broadcast delivery and order.
  let required = 0;
  /** @type {string[]} */
  const lost = [];
  for (const b of broadcasts) {
    const s = b.sender;
    const counts =
      s.live ||
      s.state === "closing" ||
      (s.state === "terminated" && b.at < s.leftAt - TERMINATE_GRACE_MS);
    if (!counts || !s.id) continue;
    for (const r of live) {
      if (r === s || r.room !== s.room || !(r.welcomedAt < b.at)) continue;
      required++;
      if (!r.received.get(s.id)?.includes(b.n)) {
        lost.push(`k${s.key}#${b.n}→k${r.key}`);
      }
    }
  }
  check(
    "every required broadcast delivered",
    lost.length === 0,
    `${required} required deliveries, ${lost.length} missing${lost.length ? ` (${lost.slice(0, 5).join(", ")})` : ""}`,
  );
  let disorder = 0;
  let pairs = 0;
  for (const r of clients) {
    for (const list of r.received.values()) {
      pairs++;
      for (let i = 1; i < list.length; i++) {
        if (/** @type {number} */ (list[i]) <= /** @type {number} */ (list[i - 1])) disorder++;
      }
    }
  }
  check(
    "broadcasts in per-sender order, no duplicates",
    disorder === 0,
    `${pairs} sender→receiver streams, ${disorder} out of order or repeated`,
  );

  // 3. Direct messages between clients that are both still connected.
  const directLost = directs.filter(
    (d) => d.sender.live && d.target.live && !d.target.directs.has(`${d.sender.id}:${d.n}`),
  );
  const directRequired = directs.filter((d) => d.sender.live && d.target.live).length;
  check(
    "every direct message between live clients delivered",
    directLost.length === 0,
    `${directRequired} required, ${directLost.length} missing`,
  );

  // 4. Garbage answered with error frames, connection kept.
  // A direct message whose target left meanwhile may earn one unknown_recipient.
  const unanswered = live.filter((c) => {
    const racy = directs.filter((d) => d.sender === c && !d.target.live).length;
    return c.errors < c.garbageSent || c.errors > c.garbageSent + racy;
  });
  check(
    "every garbage frame answered with an error frame",
    unanswered.length === 0,
    `${live.reduce((n, c) => n + c.garbageSent, 0)} garbage frames from live clients, ` +
      `${unanswered.length} clients with a mismatch` +
      (unanswered.length
        ? ` (e.g. k${unanswered[0]?.key}: sent ${unanswered[0]?.garbageSent}, errors ${unanswered[0]?.errors})`
        : ""),
  );

  // 5. The server never dropped a client; clean closes got a close frame back.
  const dropped = clients.filter((c) => c.serverClosed);
  check(
    "no client disconnected by the server",
    dropped.length === 0,
    `${dropped.length} dropped${dropped.length ? ` (codes ${dropped.map((c) => c.closeCode).slice(0, 5)})` : ""}`,
  );
  const failedConnects = clients.filter((c) => !c.id).length;
  check("every connection attempt welcomed", failedConnects === 0, `${failedConnects} failed`);
  await sleep(500);
  const cleanClosed = clients.filter((c) => c.state === "closing" && c.key >= 0);
  const unanswered1006 = cleanClosed.filter((c) => c.closeCode !== 1000);
  check(
    "clean closes answered with a close frame",
    unanswered1006.length === 0,
    `${cleanClosed.length} clean closes, ${unanswered1006.length} without code 1000 back`,
  );

  // 6. Every live client's own view of the room.
  const wrongView = live.filter((c) => {
    const expected = live.filter((o) => o !== c && o.room === c.room).map((o) => o.id);
    return c.view.size !== expected.length || expected.some((id) => !c.view.has(id ?? ""));
  });
  check(
    "each live client's presence view (welcome + join - leave) is exact",
    wrongView.length === 0,
    `${live.length} clients, ${wrongView.length} with a wrong view`,
  );

  // 7. Memory: close everyone, let it settle, compare with warm-up.
  for (const c of live) {
    c.state = "closing";
    c.ws.close(1000);
  }
  await sleep(2000);
  const finalRss = rssBytes(pid) ?? 0;
  peakRss = Math.max(peakRss, finalRss);
  const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
  check(
    "workerd RSS stays under warm-up RSS + 256 MiB",
    peakRss <= warmRss + RSS_CAP,
    `warm-up ${mib(warmRss)}, after ${mib(finalRss)}, peak seen ${mib(peakRss)}`,
  );
  if (SECONDS >= PLATEAU_MIN_SECONDS) {
    const third = samples.filter((sample) => sample.left <= (SECONDS * 1000) / 3);
    const start = third[0]?.rss ?? finalRss;
    const top = Math.max(start, ...third.map((sample) => sample.rss));
    check(
      "workerd RSS levels off: last third's peak ≤ its start + 32 MiB",
      top <= start + PLATEAU_SLACK,
      `last third began at ${mib(start)}, peaked at ${mib(top)}`,
    );
  }

  const passed = checks.filter((c) => c.ok).length;
  const failed = checks.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}
