/**
 * The model against the measurements of one `npm run sim -- --validate` run
 * (bench/sim/runs.mjs wrote them into one directory): each figure the bench
 * reports, measured and modelled, with the error. The machine is modelled as
 * it was: 2 cores shared by every workerd process (one thread each), the
 * bench's load generators as threads that read every delivery, service times
 * from the same run's bench/sim/measure.mjs.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { joinPrices, simulateJoin } from "./join.mjs";
import { costs, simulate } from "./model.mjs";

/** The bench machine's cores (nproc), shared by workerd, the generators and other work. */
const CORES = 2;
/** The bench's rule for a sustained step (bench/README.md). */
const P99_MS = 100;
const DELIVERED = 0.99;
/** The big-room bench's clients per generator process (bench/big-room.mjs). */
const CLIENTS_PER_GENERATOR = 5000;
/** The big-room bench's handshakes in flight per generator and serving process (bench/big-room.mjs). */
const JOINS_IN_FLIGHT = 100;

/** @param {ReturnType<typeof simulate>} r */
export const sustained = (r) => r.deliveredRatio >= DELIVERED && !(r.p99 > P99_MS);

/** @param {string} file */
const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined);

/**
 * The bench's ramp: up the grid until a step fails, then three geometric
 * bisections between the last sustained and the first failed rate.
 * @param {(rate: number) => ReturnType<typeof simulate>} run @param {number[]} rates
 */
export function ramp(run, rates) {
  let best;
  let failed;
  for (const rate of rates) {
    const r = run(rate);
    if (!sustained(r)) {
      failed = rate;
      break;
    }
    best = { rate, ...r };
  }
  for (let i = 0, lo = best?.rate ?? 0, hi = failed; best && hi && i < 3; i++) {
    const mid = Math.round(Math.sqrt(lo * hi));
    const r = run(mid);
    if (sustained(r)) {
      best = { rate: mid, ...r };
      lo = mid;
    } else hi = mid;
  }
  return { best, topOfRamp: !failed };
}

/**
 * The send price at light load, from the same run's measure.mjs: a paced
 * room's CPU per receiver (`relay.pacedSend`, each broadcast a turn of its
 * own) is one socket's send turn with one frame. The probe's tight loop
 * prices it lower (it sends turn after turn to warm sockets).
 * @param {ReturnType<typeof costs>} c @param {any} st
 */
export function lowLoad(c, st) {
  const paced = st.relay?.pacedSend?.us;
  if (paced === undefined) {
    throw new Error("service-times.json has no paced send price: measure.mjs --only send");
  }
  return { ...c, socketTurn: Math.max(0, paced * 1e-6 - c.frame(1)) };
}

/**
 * A generator's CPU per delivery it read: the median over a ramp's
 * sustained steps (or a big-room run's total), the contender's price.
 * @param {{generatorCpuSeconds: number, received: number, sustained?: boolean}[]} points
 */
function generatorCost(points) {
  const per = points
    .filter((p) => p.sustained !== false && p.received > 0)
    .map((p) => p.generatorCpuSeconds / p.received)
    .sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)] ?? 0;
}

/** @typedef {{run: string, figure: string, measured: number, model: number, unit: string, note?: string}} Row */

/**
 * The overhead run's two sides (single object, 4 shards), each a ramp of
 * 100 plain clients on one workerd: edge, p50/p99 at the common rate, CPU.
 * @param {any} bench the run's latest.json @param {ReturnType<typeof costs>} c
 * @param {number} background other work's runnable threads while the ramps ran
 * @returns {Row[]}
 */
function ramps(bench, c, background) {
  const entry = bench?.overhead;
  if (!entry) return [];
  const rates = bench.meta.params.overhead.rates;
  const rows = [];
  for (const side of entry.sides) {
    const name = side.shards ? `${side.shards}-shard ramp` : "single-object ramp";
    const machine = {
      cores: CORES,
      background,
      generators: 2,
      generatorCost: generatorCost(side.points),
    };
    const run = (/** @type {number} */ rate) =>
      simulate(
        {
          ...machine,
          clients: entry.clients,
          shards: side.shards,
          protocol: "plain",
          rate,
          seconds: 3,
          arrivals: "bench",
          cpus: "shared",
          linkMs: 0.05,
        },
        c,
      );
    const edge = ramp(run, rates);
    rows.push({
      run: name,
      figure: "sustained deliveries/s",
      measured: side.bestSustainedDeliveriesPerSec,
      model: edge.best?.deliveriesPerSec ?? 0,
      unit: "",
      note: edge.topOfRamp ? "model at the top of the ramp" : undefined,
    });
    // Latency at two light loads both sides ran (the ramps' common edge is the machine's, see the README).
    for (const rate of [20, 100]) {
      const p = side.points.find((/** @type {any} */ q) => q.offered === rate);
      if (!p) continue;
      const at = run(rate);
      rows.push(
        { run: name, figure: `p50 at ${rate} msg/s`, measured: p.p50, model: at.p50, unit: "ms" },
        { run: name, figure: `p99 at ${rate} msg/s`, measured: p.p99, model: at.p99, unit: "ms" },
      );
    }
    for (const p of side.points.filter((/** @type {any} */ p) => p.sustained && !p.bisect)) {
      const measured = Object.values(p.serverCpu).reduce((a, b) => a + Number(b), 0) / 3;
      rows.push({
        run: name,
        figure: `workerd CPU at ${p.offered} msg/s`,
        measured,
        model: run(p.offered).cpuSeconds.reduce((a, b) => a + b, 0) / 3,
        unit: "cores",
      });
    }
  }
  return rows;
}

/**
 * A big-room run: the server API publishes one broadcast a second to every
 * socket; delivery p50/p99 (publish to receipt) and the servers' CPU over
 * the broadcasts, per process when there are several.
 * @param {any} r one entry of big-room(-processes).json @param {ReturnType<typeof costs>} c
 * @param {any} st the same run's service times (the join prices)
 * @param {number} background other work's runnable threads while it ran
 * @param {number} used the cores other work used meanwhile
 * @returns {Row[]}
 */
function bigRoom(r, c, st, background, used) {
  const name = `${r.connected.toLocaleString("en-US")} sockets, ${r.shards ? `${r.shards} shards` : "single"}${r.processes > 1 ? ` over ${r.processes} processes` : ""}`;
  const scenario = (/** @type {number} */ others) => ({
    clients: r.connected,
    shards: r.shards,
    protocol: r.protocol,
    rate: 1,
    seconds: r.broadcasts,
    drain: 60,
    arrivals: "publish",
    source: "api",
    processes: r.processes,
    linkMs: 0.05,
    cores: CORES,
    background: others,
    generators: Math.ceil(r.connected / CLIENTS_PER_GENERATOR),
    generatorCost: r.cpu.generators / r.received,
  });
  const model = simulate(scenario(background), c);
  // The same with other work as the cores it used: a lower bound on what it took from this run.
  const low = simulate(scenario(used), c);
  const bracket = (/** @type {number} */ x) =>
    `${Math.round(x).toLocaleString("en-US")} with other work as ${used.toFixed(2)} threads`;
  const rows = [
    {
      run: name,
      figure: "delivery p50",
      measured: r.p50,
      model: model.p50,
      unit: "ms",
      note: bracket(low.p50),
    },
    {
      run: name,
      figure: "delivery p99",
      measured: r.p99,
      model: model.p99,
      unit: "ms",
      note: bracket(low.p99),
    },
  ];
  const servers = r.cpu.servers.map((/** @type {{seconds: number}} */ s) => s.seconds);
  if (servers.length === 1) {
    rows.push({
      run: name,
      figure: "workerd CPU over the broadcasts",
      measured: servers[0],
      model: model.cpuSeconds.reduce((a, b) => a + b, 0),
      unit: "s",
    });
  } else {
    const mean = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push(
      {
        run: name,
        figure: "room process CPU",
        measured: servers[0],
        model: model.cpuSeconds[0] ?? 0,
        unit: "s",
      },
      {
        run: name,
        figure: "CPU per shard process (mean)",
        measured: mean(servers.slice(1)),
        model: mean(model.cpuSeconds.slice(1)),
        unit: "s",
      },
    );
  }
  rows.push(...joinRows(name, r, c, st, background, used));
  return rows;
}

/**
 * The join phase of a big-room run: seconds until every client was welcomed,
 * and where the bench recorded it, the serving processes' CPU meanwhile.
 * @param {string} name @param {any} r @param {ReturnType<typeof costs>} c @param {any} st
 * @param {number} background @param {number} used
 * @returns {Row[]}
 */
function joinRows(name, r, c, st, background, used) {
  // The room's side of a shard's uplink join call.
  const prices = joinPrices(st, r.shards > 0, c.rpc(1) * c.callShare);
  const scenario = (/** @type {number} */ others) => ({
    clients: r.connected,
    processes: r.processes,
    inFlight: JOINS_IN_FLIGHT,
    cores: CORES,
    background: others,
    generators: Math.max(2, Math.ceil(r.sockets / CLIENTS_PER_GENERATOR)),
    linkMs: 0.05,
  });
  const model = simulateJoin(scenario(background), prices);
  const low = simulateJoin(scenario(used), prices).seconds;
  const rows = [
    {
      run: name,
      figure: "seconds until all welcomed",
      measured: r.joinSeconds,
      model: model.seconds,
      unit: "s",
      note: `${low.toFixed(1)} with other work as ${used.toFixed(2)} threads`,
    },
  ];
  /** @type {{workerd: number, all: number}[] | undefined} */
  const cpu = r.joinCpu?.servers;
  if (!cpu) return rows;
  const mean = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const besides = (/** @type {{workerd: number, all: number}[]} */ xs) =>
    `its node and proxy processes: ${mean(xs.map((x) => x.all - x.workerd)).toFixed(1)} s more`;
  const [room, ...shards] = cpu;
  if (!room) return rows;
  rows.push({
    run: name,
    figure: shards.length ? "room process CPU over the joins" : "workerd CPU over the joins",
    measured: room.workerd,
    model: model.cpuSeconds[0] ?? 0,
    unit: "s",
    note: besides([room]),
  });
  if (shards.length) {
    rows.push({
      run: name,
      figure: "CPU per shard process over the joins (mean)",
      measured: mean(shards.map((x) => x.workerd)),
      model: mean(model.cpuSeconds.slice(1)),
      unit: "s",
      note: besides(shards),
    });
  }
  return rows;
}

/**
 * Every figure of a validation directory, model against measured.
 * @param {string} dir
 */
export function validate(dir) {
  const st = read(join(dir, "service-times.json"));
  const bench = read(join(dir, "ramp/latest.json"));
  const single = bench?.overhead?.sides.find((/** @type {any} */ s) => s.shards === 0);
  if (!st || !single) {
    throw new Error(
      `${dir} lacks the service times or the single-object ramp: npm run sim -- --validate`,
    );
  }
  const c = lowLoad(costs(st), st);
  const big = read(join(dir, "big/big-room.json"))?.runs ?? [];
  const cross = read(join(dir, "cross/big-room-processes.json"))?.runs ?? [];
  const runs = read(join(dir, "runs.json"));
  // Other work's runnable threads in each step (runs.mjs), as background threads: 0 where not recorded.
  const others = (/** @type {number} */ step) => runs?.done[step]?.runnable ?? 0;
  const used = (/** @type {number} */ step) => runs?.done[step]?.others ?? 0;
  const rows = [
    ...ramps(bench, c, others(1)),
    ...big.flatMap((/** @type {any} */ r) => bigRoom(r, c, st, others(2), used(2))),
    ...cross.flatMap((/** @type {any} */ r) => bigRoom(r, c, st, others(3), used(3))),
  ];
  return { rows, costs: c, serviceTimes: st, runs };
}
