/**
 * The relay as queues (bench/README.md, "Simulation"): a room object alone
 * (N = 0, it holds every socket) or a room object that orders and N shards
 * that hold the sockets, linked by batched RPC with one call in flight per
 * link and direction. Each workerd process is a Thread of a Machine
 * (bench/sim/queue.mjs) whose cores it shares, by processor sharing, with
 * the load generators and with `background` threads of other work; its jobs
 * cost what bench/sim/measure.mjs measured (service-times.json, turned into
 * seconds by `costs`).
 */
import { Clock, Machine, random, Samples } from "./queue.mjs";

/** @typedef {import("./queue.mjs").Thread} Thread */

/** Lines per frame the relay's outlet packs at most (src/protocol.ts MAX_BATCH_FRAMES). */
const MAX_LINES = 100;

/** Least-squares line through points. @param {[number, number][]} points */
export function fitLine(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

/**
 * Seconds per operation, from service-times.json (microseconds).
 * @param {any} st
 */
export function costs(st) {
  const us = 1e-6;
  const rpc = fitLine(st.probe.rpc.map((p) => [p.items, p.usPerCall]));
  const commit = fitLine(st.probe.commit.map((p) => [p.rows, p.usPerTurn]));
  // One socket's share of a turn that sends it j one-line frames: a + j·b.
  const plain = st.probe.send.filter((p) => p.lines === 1);
  const turn = fitLine(plain.map((p) => [p.perTurn, p.perTurn * p.usPerFrame]));
  // A frame of L lines, one per socket and turn: a line through the measured L
  // (noise can make a small L look dearer than L = 1; the slope is what counts).
  const single = st.probe.send.filter((p) => p.perTurn === 1);
  const byLines = fitLine(single.map((p) => [p.lines, p.usPerFrame]));
  const lone = /** @type {{usPerFrame: number}} */ (single.find((p) => p.lines === 1)).usPerFrame;
  const commitRowUs = Math.max(0, commit.slope);
  const inboundUs = Math.max(st.relay.inboundUs - commitRowUs, st.probe.inboundEventUs);
  return {
    /** Both sides of one call with k items; the caller pays `callShare` of it. */
    rpc: (/** @type {number} */ k) => (rpc.intercept + rpc.slope * k) * us,
    callShare: 0.5,
    commit: (/** @type {number} */ rows) => (commit.intercept + commitRowUs * rows) * us,
    /** An inbound broadcast's event, parse and handling, without its commit. */
    inbound: inboundUs * us,
    /** The room's part of that for a frame that came by uplink: all but the event and parse. */
    order: Math.max(0, inboundUs - st.probe.inboundEventUs) * us,
    /** Per socket and turn in which it gets frames. */
    socketTurn: Math.max(0, turn.intercept) * us,
    /** Per frame of `L` lines, on top of socketTurn. */
    frame: (/** @type {number} */ L) =>
      (Math.max(0, lone - turn.intercept) + Math.max(0, byLines.slope) * (L - 1)) * us,
  };
}

/**
 * The cost of one send job: `sockets` sockets each getting `rows` broadcasts
 * in one turn, as one frame each (plain) or packed into frames (ndjson). A
 * socket's frames of one turn share its send turn: the probe sees it (10
 * frames a turn cost 5.5 µs each against 13 for one), and so does the relay,
 * whose CPU per delivery falls from ~40 µs at 20 msg/s to 17.7 at its edge.
 * @param {ReturnType<typeof costs>} c @param {"plain" | "ndjson"} protocol
 * @param {number} sockets @param {number} rows
 */
export function sendCost(c, protocol, sockets, rows) {
  if (sockets <= 0 || rows <= 0) return 0;
  if (protocol === "plain") return sockets * (c.socketTurn + rows * c.frame(1));
  const full = Math.floor(rows / MAX_LINES);
  const rest = rows % MAX_LINES;
  const frames = full * c.frame(MAX_LINES) + (rest > 0 ? c.frame(rest) : 0);
  return sockets * (c.socketTurn + frames);
}

/**
 * @typedef {object} Scenario
 * @property {number} clients sockets in the room; every one receives, any may send
 * @property {number} shards 0: the room object holds every socket
 * @property {"plain" | "ndjson"} protocol
 * @property {number} rate broadcasts/s offered by all clients together
 * @property {number} seconds how long broadcasts arrive
 * @property {number} [drain] seconds after that in which deliveries still count (default 3)
 * @property {number} [linkMs] one-way latency of a link call, ms
 * @property {"own" | "shared"} [cpus] one thread per object, or one for all (one workerd)
 * @property {number} [processes] workerd processes, one thread each: the room in the
 *   first, the shards split evenly over the others (1: everything in one); overrides cpus
 * @property {number} [cores] cores the threads share (default: one per thread)
 * @property {number} [background] threads of other work that always want a core
 * @property {number} [generators] load-generator threads that receive every delivery
 * @property {number} [generatorCost] CPU seconds a generator spends per delivery it receives
 * @property {"bench" | "poisson" | "publish"} [arrivals] bench: 2 generators releasing what
 *   is due every 2 ms (bench/lib/loadgen.mjs); poisson: independent arrivals; publish:
 *   evenly spaced, the first at 0 (the big-room bench's server API, 1/s)
 * @property {"clients" | "api"} [source] clients: a member sends each broadcast (through its
 *   shard) and does not get it back; api: the server API hands it to the room, every member gets it
 * @property {number} [seed]
 */

/** Sockets one send job covers: a sweep over thousands is sliced so its readers start on the first slice. */
const SLICE = 500;

/** Arrival times of broadcasts in [0, seconds). @param {Scenario} s @param {() => number} rnd */
function arrivals(s, rnd) {
  const times = [];
  const kind = s.arrivals ?? "poisson";
  if (kind === "publish") {
    for (let t = 0; t < s.seconds; t += 1 / s.rate) times.push(t);
  } else if (kind === "poisson") {
    for (let t = -Math.log(1 - rnd()) / s.rate; t < s.seconds; t += -Math.log(1 - rnd()) / s.rate)
      times.push(t);
  } else {
    for (let g = 0; g < 2; g++) {
      const phase = rnd() * 0.002;
      let sent = 0;
      for (let t = phase; t < s.seconds + 0.002; t += 0.002) {
        const due = Math.floor((s.rate / 2) * Math.min(t, s.seconds)) - sent;
        for (let i = 0; i < due; i++) times.push(t);
        sent += Math.max(0, due);
      }
    }
    times.sort((a, b) => a - b);
  }
  return times;
}

/**
 * The threads of a scenario: the room's, and each shard's (the same thread
 * for objects in one process).
 * @param {Scenario} s @param {Machine} machine
 */
function threads(s, machine) {
  const processes = s.processes ?? (s.cpus === "shared" ? 1 : undefined);
  const room = machine.thread();
  if (processes === undefined) {
    return { room, all: [room], shard: Array.from({ length: s.shards }, () => machine.thread()) };
  }
  const holders = Array.from({ length: Math.max(0, processes - 1) }, () => machine.thread());
  const perProcess = Math.ceil(s.shards / Math.max(1, holders.length));
  const shard = Array.from(
    { length: s.shards },
    (_, i) => holders[Math.floor(i / perProcess)] ?? room,
  );
  return { room, all: [room, ...holders], shard };
}

/**
 * Runs one scenario. Returns deliveries/s (counted within the drain window),
 * the share delivered, latency percentiles (ms) from a broadcast's arrival
 * at its first object to its send to each receiver (or, with generators, its
 * read), CPU per thread (room's first, as a share of one core over the run),
 * and the room object's RPC calls/s (received + made).
 * @param {Scenario} s @param {ReturnType<typeof costs>} c
 */
export function simulate(s, c) {
  const clock = new Clock();
  const rnd = random(s.seed ?? 1);
  const link = (s.linkMs ?? 1) / 1000;
  const drain = s.drain ?? 3;
  const api = s.source === "api";
  const machine = new Machine(clock, s.cores ?? Number.POSITIVE_INFINITY, s.background ?? 0);
  const layout = threads(s, machine);
  const room = layout.room;
  const generators = Array.from({ length: s.generators ?? 0 }, () => machine.thread());
  const latency = new Samples();
  const stats = { delivered: 0, expected: 0, rpcIn: 0, rpcOut: 0 };
  const deadline = s.seconds + drain;

  /** Records the deliveries of `rows` (their arrival times) sent over [from, to]. */
  const deliver = (
    /** @type {number[]} */ rows,
    /** @type {number} */ receivers,
    /** @type {number} */ from,
    /** @type {number} */ to,
  ) => {
    if (generators.length > 0) {
      // The sends reach the generators as one job each: a delivery counts when it is read.
      const share = (receivers * rows.length * (s.generatorCost ?? 0)) / generators.length;
      for (const g of generators)
        g.submit((start) => ({
          cost: share,
          done: (end) => record(rows, receivers / generators.length, Math.max(from, start), end),
        }));
      return;
    }
    record(rows, receivers, from, to);
  };
  /** Deliveries of `rows` to `receivers`, spread over [from, to]. */
  const record = (
    /** @type {number[]} */ rows,
    /** @type {number} */ receivers,
    /** @type {number} */ from,
    /** @type {number} */ to,
  ) => {
    const perRow = (to - from) / rows.length;
    rows.forEach((arrived, i) => {
      // Plain sends go row by row; an ndjson frame carries every row at once.
      const [a, b] =
        s.protocol === "plain" ? [from + i * perRow, from + (i + 1) * perRow] : [from, to];
      if (b <= deadline) stats.delivered += receivers;
      latency.spread(a - arrived, b - arrived, receivers);
    });
  };
  /**
   * One turn's sends of `rows` to `sockets` sockets (`receivers` of them
   * count: a sender does not get its own), run next on `thread` in slices;
   * `then` when the last slice is sent.
   * @param {Thread} thread @param {number[]} rows @param {number} sockets
   * @param {number} receivers @param {(end: number) => void} then
   */
  const sendAll = (thread, rows, sockets, receivers, then) => {
    const slice = (/** @type {number} */ left) => {
      const n = Math.min(SLICE, left);
      thread.next((start) => ({
        cost: sendCost(c, s.protocol, n, rows.length),
        done: (end) => {
          deliver(rows, (receivers * n) / sockets, start, end);
          if (left > n) slice(left - n);
          else then(end);
        },
      }));
    };
    if (sockets > 0) slice(sockets);
    else then(clock.now);
  };

  const log = {
    pending: /** @type {number[]} */ ([]),
    /** @type {((committed: number) => void)[]} */
    released: [],
    scheduled: false,
  };
  /**
   * The group commit: one job at the end of a turn takes every row written so
   * far; `after` runs once for the whole batch when it is stored, and every
   * writer whose rows it took is then told (`release`: an uplink call returns).
   * @param {number[]} rows @param {(batch: number[]) => void} after
   * @param {(committed: number) => void} [release]
   */
  const append = (rows, after, release) => {
    log.pending.push(...rows);
    if (release) log.released.push(release);
    if (log.scheduled) return;
    log.scheduled = true;
    room.submit(() => {
      const batch = log.pending;
      const released = log.released;
      log.pending = [];
      log.released = [];
      log.scheduled = false;
      return {
        cost: c.commit(batch.length),
        done: (committed) => {
          after(batch);
          for (const r of released) r(committed);
        },
      };
    });
  };
  const times = arrivals(s, rnd);
  const senders = api ? 0 : 1;

  if (s.shards === 0) {
    // Every receiver but the sender gets each row, after the commit, in the commit's turn.
    const onCommit = (/** @type {number[]} */ batch) =>
      sendAll(room, batch, s.clients - senders, s.clients - senders, () => {});
    for (const t of times)
      clock.at(t, () =>
        room.submit(() => ({ cost: c.inbound, done: () => append([t], onCommit) })),
      );
  } else {
    const shards = Array.from({ length: s.shards }, (_, i) => ({
      cpu: /** @type {Thread} */ (layout.shard[i]),
      sockets: Math.floor(s.clients / s.shards) + (i < s.clients % s.shards ? 1 : 0),
      up: { queue: /** @type {number[]} */ ([]), busy: false },
      down: { queue: /** @type {number[]} */ ([]), busy: false },
    }));
    /** Room -> shard: one call in flight; what piles up meanwhile is the next batch. */
    const downlink = (/** @type {(typeof shards)[number]} */ shard) => {
      if (shard.down.busy || shard.down.queue.length === 0) return;
      shard.down.busy = true;
      const batch = shard.down.queue;
      shard.down.queue = [];
      stats.rpcOut++;
      room.submit(() => ({
        cost: c.callShare * c.rpc(batch.length),
        done: (end) =>
          clock.at(end + link, () =>
            shard.cpu.submit(() => ({
              cost: (1 - c.callShare) * c.rpc(batch.length),
              done: () =>
                sendAll(
                  shard.cpu,
                  batch,
                  shard.sockets,
                  shard.sockets - senders / s.shards,
                  (sent) =>
                    clock.at(sent + link, () => {
                      shard.down.busy = false;
                      downlink(shard);
                    }),
                ),
            })),
          ),
      }));
    };
    const fanOut = (/** @type {number[]} */ batch) => {
      for (const shard of shards) {
        shard.down.queue.push(...batch);
        downlink(shard);
      }
    };
    /** Shard -> room: frames go up in order; the call returns once they are committed. */
    const uplink = (/** @type {(typeof shards)[number]} */ shard) => {
      if (shard.up.busy || shard.up.queue.length === 0) return;
      shard.up.busy = true;
      const batch = shard.up.queue;
      shard.up.queue = [];
      stats.rpcIn++;
      shard.cpu.submit(() => ({
        cost: c.callShare * c.rpc(batch.length),
        done: (end) =>
          clock.at(end + link, () =>
            room.submit(() => ({
              cost: (1 - c.callShare) * c.rpc(batch.length) + batch.length * c.order,
              done: () =>
                append(batch, fanOut, (committed) =>
                  clock.at(committed + link, () => {
                    shard.up.busy = false;
                    uplink(shard);
                  }),
                ),
            })),
          ),
      }));
    };
    for (const t of times) {
      if (api) {
        // The server API reaches the room itself: no shard and no uplink on the way.
        clock.at(t, () =>
          room.submit(() => ({ cost: c.inbound, done: () => append([t], fanOut) })),
        );
        continue;
      }
      const shard = /** @type {(typeof shards)[number]} */ (
        shards[Math.floor(rnd() * shards.length)]
      );
      clock.at(t, () =>
        shard.cpu.submit(() => ({
          cost: c.inbound,
          done: () => {
            shard.up.queue.push(t);
            uplink(shard);
          },
        })),
      );
    }
  }
  const offered = times.length;
  stats.expected = offered * (s.clients - senders);
  clock.run(deadline + 60);
  const span = Math.max(clock.now, s.seconds);
  return {
    offered: offered / s.seconds,
    deliveriesPerSec: stats.delivered / s.seconds,
    deliveredRatio: stats.expected ? stats.delivered / stats.expected : 1,
    p50: latency.quantile(0.5) * 1000,
    p99: latency.quantile(0.99) * 1000,
    roomRpcPerSec: (stats.rpcIn + stats.rpcOut) / s.seconds,
    roomRpcIn: stats.rpcIn / s.seconds,
    roomRpcOut: stats.rpcOut / s.seconds,
    roomCpu: room.used / span,
    /** CPU seconds each thread used: the room's (with whatever shares its process) first. */
    cpuSeconds: layout.all.map((t) => t.used),
    generatorCpuSeconds: generators.reduce((n, g) => n + g.used, 0),
  };
}
