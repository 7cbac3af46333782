/**
 * `npm run sim [-- --link-ms 1 --seconds 10]` (about 20 s)
 *
 * Validates the model of bench/sim/model.mjs against what `npm run bench`
 * measured (bench/results/latest.json), then predicts sharded rooms with one
 * CPU per object. Prints markdown and writes bench/sim/results.md. Service
 * times come from bench/sim/service-times.json (`npx node
 * bench/sim/measure.mjs` measures them again).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { costs, simulate } from "./model.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    "link-ms": { type: "string", default: "1" },
    seconds: { type: "string", default: "10" },
    // Threads of other work that wanted a core while the bench ran (this machine is shared).
    background: { type: "string", default: "0" },
  },
});
const BACKGROUND = Number(flags.background);
/** The bench machine's cores (nproc), shared by workerd, the generators and other work. */
const BENCH_CORES = 2;
const LINK_MS = Number(flags["link-ms"]);
const SECONDS = Number(flags.seconds);
/** The bench's rule for a sustained step (bench/README.md). */
const P99_MS = 100;
const DELIVERED = 0.99;
const TARGET = { clients: 100_000, rate: 10, rpcBudget: 1000 };

const serviceTimes = JSON.parse(readFileSync(join(HERE, "service-times.json"), "utf8"));
const bench = JSON.parse(readFileSync(join(HERE, "../results/latest.json"), "utf8"));
const c = costs(serviceTimes);

/**
 * The bench machine as the model sees it: two cores, the run's two load
 * generators as threads that read every delivery (their CPU per delivery is
 * the median over the run's sustained steps: generator CPU seconds over
 * deliveries received), and BACKGROUND threads of other work.
 * @param {any[]} points a ramp's steps from bench/results/latest.json
 */
function benchMachine(points) {
  const per = points
    .filter((p) => p.sustained && p.received > 0)
    .map((p) => p.generatorCpuSeconds / p.received)
    .sort((a, b) => a - b);
  const generatorCost = per[Math.floor(per.length / 2)] ?? 0;
  return { cores: BENCH_CORES, generators: 2, generatorCost, background: BACKGROUND };
}

/** @param {ReturnType<typeof simulate>} r */
const sustained = (r) => r.deliveredRatio >= DELIVERED && !(r.p99 > P99_MS);
const fmt = (/** @type {number} */ x, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";
const pct = (/** @type {number} */ model, /** @type {number} */ measured) =>
  `${model >= measured ? "+" : ""}${fmt((model / measured - 1) * 100)}%`;

/**
 * The bench's ramp: up the grid until a step fails, then three geometric
 * bisections between the last sustained and the first failed rate.
 * @param {(rate: number) => ReturnType<typeof simulate>} run @param {number[]} rates
 */
function ramp(run, rates) {
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
  if (best && failed) {
    let lo = best.rate;
    let hi = failed;
    for (let i = 0; i < 3; i++) {
      const mid = Math.round(Math.sqrt(lo * hi));
      const r = run(mid);
      if (sustained(r)) {
        best = { rate: mid, ...r };
        lo = mid;
      } else hi = mid;
    }
  }
  return { best, topOfRamp: !failed };
}

/** The measured single-object fan-out edge, per protocol, and the model's. */
function validateFanout() {
  const rates = bench.meta.params.fanout.rates;
  const clients = bench.meta.params.fanout.clients;
  const rows = [];
  for (const [key, protocol] of [
    ["direct", "plain"],
    ["direct-ndjson", "ndjson"],
  ]) {
    const fanout = bench.results.find((r) => r.key === key)?.fanout;
    if (!fanout) continue;
    const machine = benchMachine(fanout.points);
    const model = ramp(
      (rate) =>
        simulate(
          { clients, shards: 0, protocol, rate, seconds: 3, arrivals: "bench", ...machine },
          c,
        ),
      rates,
    );
    const measured = fanout.bestSustainedDeliveriesPerSec;
    const top = !fanout.firstFailedOffered;
    const modelled = model.best?.deliveriesPerSec ?? 0;
    rows.push({
      protocol,
      clients,
      measured,
      measuredTopOfRamp: top,
      model: modelled,
      modelTopOfRamp: model.topOfRamp,
      error: modelled / measured - 1,
      within20: top && model.topOfRamp ? true : Math.abs(modelled / measured - 1) <= 0.2,
      modelP99AtEdge: model.best?.p99,
      cpu: cpuCheck(fanout, clients, protocol),
    });
  }
  return rows;
}

/**
 * The room's CPU, model against measured (workerd's CPU seconds over a step,
 * drain included, divided by the step's 3 s), at a few sustained steps: a
 * check of the service times that does not depend on where the edge falls.
 * @param {any} fanout @param {number} clients @param {"plain" | "ndjson"} protocol
 */
function cpuCheck(fanout, clients, protocol) {
  const seconds = bench.meta.params.stepMs / 1000;
  return fanout.points
    .filter(
      (/** @type {any} */ p) => p.sustained && [100, 300, 500, 1000, 3000].includes(p.offered),
    )
    .map((/** @type {any} */ p) => ({
      offered: p.offered,
      measured: p.serverCpu["workerd (Worker)"] / seconds,
      model: simulate(
        {
          clients,
          shards: 0,
          protocol,
          rate: p.offered,
          seconds,
          arrivals: "bench",
          ...benchMachine(fanout.points),
        },
        c,
      ).roomCpu,
    }));
}

/**
 * The 4-shard overhead run, when bench/results/latest.json has it (its
 * `overhead` entry, bench/README.md): a room of `clients` as one object and
 * over `shards` shards, every object on one thread. Compared at the common
 * rate both sides sustained, and by each side's sustained edge on the
 * overhead ramp, the model ramped on the same grid with the same bisections.
 */
function validateOverhead() {
  const entry = bench.overhead;
  const single = entry?.sides.find((/** @type {any} */ s) => s.shards === 0);
  const sharded = entry?.sides.find((/** @type {any} */ s) => s.shards > 0);
  if (!single || !sharded) return undefined;
  const machine = benchMachine([...single.points, ...sharded.points]);
  const run = (/** @type {number} */ shards, /** @type {number} */ rate) =>
    simulate(
      {
        ...machine,
        clients: entry.clients,
        shards,
        protocol: entry.protocol ?? "plain",
        rate,
        seconds: 3,
        arrivals: "bench",
        cpus: "shared",
        linkMs: 0.05,
      },
      c,
    );
  const rates = bench.meta.params.overhead?.rates ?? bench.meta.params.fanout.rates;
  const sides = [single, sharded].map((side) => {
    const model = ramp((rate) => run(side.shards, rate), rates);
    const edge = model.best?.deliveriesPerSec ?? 0;
    const measured = side.bestSustainedDeliveriesPerSec;
    return {
      side,
      atRate: run(side.shards, entry.rate),
      edge,
      edgeTopOfRamp: model.topOfRamp,
      within20: Math.abs(edge / measured - 1) <= 0.2,
    };
  });
  const [one, many] = sides;
  const ratio = (/** @type {(s: any) => number} */ get) => get(many) / get(one);
  return {
    entry,
    sides,
    measuredRatio: ratio((s) => s.side.bestSustainedDeliveriesPerSec),
    modelRatio: ratio((s) => s.edge),
  };
}

/** Highest broadcast rate a layout sustains (Poisson arrivals), by doubling, then geometric bisection. */
function maxRate(
  /** @type {number} */ clients,
  /** @type {number} */ shards,
  /** @type {"plain" | "ndjson"} */ protocol,
) {
  // At least ~50 broadcasts per run, so a low rate is not judged on a handful.
  const run = (/** @type {number} */ rate) =>
    simulate(
      {
        clients,
        shards,
        protocol,
        rate,
        seconds: Math.max(3, 50 / rate),
        linkMs: LINK_MS,
        drain: 1,
      },
      c,
    );
  let lo = 0.25;
  if (!sustained(run(lo))) return 0;
  while (lo < 1e5 && sustained(run(lo * 2))) lo *= 2;
  let hi = lo * 2;
  for (let i = 0; i < 6; i++) {
    const mid = Math.sqrt(lo * hi);
    if (sustained(run(mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

function predict() {
  const rows = [];
  for (const clients of [10_000, 100_000]) {
    for (const protocol of /** @type {const} */ (["plain", "ndjson"])) {
      for (const shards of [1, 2, 4, 8, 16, 32, 64]) {
        const at = simulate(
          { clients, shards, protocol, rate: TARGET.rate, seconds: SECONDS, linkMs: LINK_MS },
          c,
        );
        const top = maxRate(clients, shards, protocol);
        const atTop = simulate(
          { clients, shards, protocol, rate: top, seconds: SECONDS, linkMs: LINK_MS },
          c,
        );
        rows.push({
          clients,
          protocol,
          shards,
          at10: at,
          ok10: sustained(at),
          maxRate: top,
          atTop,
        });
      }
    }
  }
  return rows;
}

function report(
  /** @type {ReturnType<typeof validateFanout>} */ fanout,
  /** @type {ReturnType<typeof validateOverhead>} */ overhead,
  /** @type {ReturnType<typeof predict>} */ rows,
) {
  const out = [];
  out.push(`## Validation\n`);
  out.push(
    `Single object (N = 0), fan-out 1 room × ${fanout[0]?.clients}, bench arrivals (2 generators, 2 ms ticks), 3 s steps, sustained = ≥ 99% delivered within 3 s and p99 ≤ 100 ms, ramp and 3 bisections as the bench:\n`,
  );
  out.push("| clients | measured sustained deliveries/s | model | model − measured | within 20% |");
  out.push("|---|---:|---:|---:|---|");
  for (const r of fanout)
    out.push(
      `| ${r.protocol} | ${fmt(r.measured)}${r.measuredTopOfRamp ? " (top of ramp)" : ""} | ${fmt(r.model)}${r.modelTopOfRamp ? " (top of ramp)" : ""} | ${pct(r.model, r.measured)} | ${r.within20 ? "yes" : "no"} |`,
    );
  out.push(
    "\nThe room's CPU (share of one core) at sustained steps, measured (workerd, whole step) and modelled:\n",
  );
  out.push("| clients | msg/s | measured | model | model / measured |");
  out.push("|---|---:|---:|---:|---:|");
  for (const r of fanout)
    for (const p of r.cpu)
      out.push(
        `| ${r.protocol} | ${fmt(p.offered)} | ${fmt(p.measured, 2)} | ${fmt(p.model, 2)} | ${fmt(p.model / p.measured, 2)} |`,
      );
  out.push("");
  if (!overhead)
    out.push("4-shard overhead run (one workerd, one shared thread): not measured yet.\n");
  else {
    const e = overhead.entry;
    out.push(
      `4-shard overhead run, ${e.clients} ${e.protocol} clients, every object on one shared CPU (the model with 0.05 ms links), the overhead ramp and its bisections:\n`,
    );
    out.push(
      `| | room mode measured | measured sustained deliveries/s | model | model − measured | within 20% | measured p50 / p99 ms at ${fmt(e.rate)} msg/s | model p50 / p99 ms |`,
    );
    out.push("|---|---|---:|---:|---:|---|---:|---:|");
    for (const s of overhead.sides)
      out.push(
        `| ${s.side.label} | ${s.side.mode ?? "–"} | ${fmt(s.side.bestSustainedDeliveriesPerSec)} | ${fmt(s.edge)}${s.edgeTopOfRamp ? " (top of ramp)" : ""} | ${pct(s.edge, s.side.bestSustainedDeliveriesPerSec)} | ${s.within20 ? "yes" : "no"} | ${fmt(s.side.p50, 1)} / ${fmt(s.side.p99, 1)} | ${fmt(s.atRate.p50, 1)} / ${fmt(s.atRate.p99, 1)} |`,
      );
    out.push(
      `\nsharded / single sustained deliveries/s: measured ${fmt(overhead.measuredRatio, 2)}x, model ${fmt(overhead.modelRatio, 2)}x\n`,
    );
  }
  out.push(`## Predictions: one CPU per object, link ${LINK_MS} ms one way, Poisson broadcasts\n`);
  out.push(
    `"at 10/s": a room receiving 10 broadcasts/s for ${SECONDS} s. "max": the highest broadcast rate with ≥ 99% delivered and p99 ≤ 100 ms. Room RPC/s = uplink calls received + downlink calls made; budget ~${fmt(TARGET.rpcBudget)}/s.\n`,
  );
  out.push(
    "| clients | protocol | shards | at 10/s: deliveries/s | p50 ms | p99 ms | room RPC/s | room CPU | sustained | max broadcasts/s | max deliveries/s | p99 ms at max | room RPC/s at max |",
  );
  out.push("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
  for (const r of rows)
    out.push(
      `| ${fmt(r.clients)} | ${r.protocol} | ${r.shards} | ${fmt(r.at10.deliveriesPerSec)} | ${fmt(r.at10.p50, 1)} | ${fmt(r.at10.p99, 1)} | ${fmt(r.at10.roomRpcPerSec)} | ${fmt(r.at10.roomCpu * 100)}% | ${r.ok10 ? "yes" : "no"} | ${fmt(r.maxRate, 1)} | ${fmt(r.atTop.deliveriesPerSec)} | ${fmt(r.atTop.p99, 1)} | ${fmt(r.atTop.roomRpcPerSec)} |`,
    );
  out.push("");
  for (const protocol of ["plain", "ndjson"]) {
    const fit = rows.find(
      (r) =>
        r.clients === TARGET.clients &&
        r.protocol === protocol &&
        r.ok10 &&
        r.at10.roomRpcPerSec < TARGET.rpcBudget,
    );
    out.push(
      fit
        ? `- ${fmt(TARGET.clients)} ${protocol} clients, ${TARGET.rate} broadcasts/s: **${fit.shards} shards** (fewest in the table that sustain it; room ${fmt(fit.at10.roomRpcPerSec)} RPC/s, p99 ${fmt(fit.at10.p99, 1)} ms).`
        : `- ${fmt(TARGET.clients)} ${protocol} clients, ${TARGET.rate} broadcasts/s: no layout in the table sustains it under the RPC budget.`,
    );
  }
  return out.join("\n");
}

const fanout = validateFanout();
const overhead = validateOverhead();
const rows = predict();
const text = report(fanout, overhead, rows);
console.log(text);
writeFileSync(
  join(HERE, "results.md"),
  `# Simulation results\n\nService times measured ${serviceTimes.measuredAt}; \`npm run sim\` on ${new Date().toISOString().slice(0, 10)}.\n\n${text}\n`,
);
