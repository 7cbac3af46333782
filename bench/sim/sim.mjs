/**
 * `npm run sim [-- --validate [--from STEP]] [--dir bench/sim/validation] [--link-ms 1] [--seconds 10]`
 *
 * The simulation of bench/sim/model.mjs, held to the measurements in
 * bench/sim/validation/ and then asked about rooms this machine cannot hold.
 * With `--validate` (about 15 minutes, 127.0.0.1 only, not in CI) it first
 * runs those measurements again (bench/sim/runs.mjs: the service times, the
 * single-object and 4-shard ramps, 9,500 sockets single and 8 shards, a
 * short cross-process run); without it, it models the last ones (about a
 * minute). `--from 3` runs the measurements again from that step on (0:
 * service times, 3: cross-process), keeping the earlier steps' records.
 * Prints markdown and writes bench/sim/results.md.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { multiplexHour, roomHour } from "./cost.mjs";
import { simulate } from "./model.mjs";
import { measureAll } from "./runs.mjs";
import { sustained, validate } from "./validate.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  options: {
    validate: { type: "boolean", default: false },
    from: { type: "string", default: "0" },
    // Where the measurements are (and, with --validate, go).
    dir: { type: "string", default: join(HERE, "validation") },
    "link-ms": { type: "string", default: "1" },
    seconds: { type: "string", default: "10" },
  },
});
const LINK_MS = Number(flags["link-ms"]);
const SECONDS = Number(flags.seconds);
const TARGET = { clients: 100_000, rate: 10, rpcBudget: 1000 };
/** Clients in many rooms (issue 22): each in 20 rooms of 25, through hubs or a socket per room. */
const MULTIPLEX = { clients: 10_000, roomsEach: 20, roomSize: 25, hubs: [8, 64], rates: [0.1, 1] };

if (flags.validate) await measureAll(flags.dir, Number(flags.from));
const checked = validate(flags.dir);
const c = checked.costs;

const fmt = (/** @type {number} */ x, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";

/** Highest broadcast rate a layout sustains (Poisson arrivals): doubling, then geometric bisection. */
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
  while (lo < 4096 && sustained(run(lo * 2))) lo *= 2;
  let hi = lo * 2;
  for (let i = 0; i < 4; i++) {
    const mid = Math.sqrt(lo * hi);
    if (sustained(run(mid))) lo = mid;
    else hi = mid;
  }
  return lo;
}

function predict() {
  const rows = [];
  // 128 only for 100,000: the fewest that hold 10/s there may lie past 64.
  for (const clients of [10_000, 100_000])
    for (const protocol of /** @type {const} */ (["plain", "ndjson"]))
      for (const shards of [1, 2, 4, 8, 16, 32, 64, ...(clients > 10_000 ? [128] : [])]) {
        const at = simulate(
          {
            clients,
            shards,
            protocol,
            rate: TARGET.rate,
            seconds: SECONDS,
            linkMs: LINK_MS,
          },
          c,
        );
        const cost = roomHour({
          clients,
          rate: TARGET.rate,
          calls: at.roomRpcPerSec,
          objects: shards + 1,
        });
        rows.push({
          clients,
          protocol,
          shards,
          at,
          ok: sustained(at),
          cost,
          max: maxRate(clients, shards, protocol),
        });
      }
  return rows;
}

/**
 * Clients in many rooms, through hubs against a socket per room: calls,
 * cost, and each hub's CPU (its sends and its downlink receipts, priced as a
 * shard's), from the validated service times.
 */
function multiplex() {
  const m = MULTIPLEX;
  return m.rates.flatMap((rate) =>
    m.hubs.map((hubs) => {
      const h = multiplexHour({ ...m, rate, hubs });
      const deliveries = (m.clients / hubs) * m.roomsEach * rate;
      const downlinks = (h.rooms * rate * h.reached) / hubs;
      const hubCpu =
        deliveries * (c.socketTurn + c.frame(1)) + downlinks * (1 - c.callShare) * c.rpc(1);
      return { rate, hubs, ...h, hubCpu };
    }),
  );
}

/** The join prices of the run, for the prices line. @param {any} st */
function joinText(st) {
  const j = st.relay?.join;
  if (!j) return "";
  const one = (/** @type {any} */ x) =>
    `${fmt(x.pastCapUs)} past the presence cap, ${fmt(x.announcedUs)} announced`;
  return ` Join, server CPU: single ${one(j.single)}; 8 shards in one process ${one(j.sharded)}; the client side ${fmt(j.single.clientUs)}.`;
}

/** @param {import("./validate.mjs").Row} r */
function errorText(r) {
  if (!Number.isFinite(r.model)) return ["–", "not modelled"];
  const e = r.model / r.measured - 1;
  return [`${e >= 0 ? "+" : ""}${fmt(e * 100)}%`, Math.abs(e) <= 0.2 ? "yes" : "no"];
}

function report(
  /** @type {ReturnType<typeof predict>} */ rows,
  /** @type {ReturnType<typeof multiplex>} */ mux,
) {
  const out = ["## Validation\n"];
  const runs = checked.runs?.done ?? [];
  out.push(
    `Measured by \`npm run sim -- --validate\` on ${checked.runs?.date?.slice(0, 16) ?? "?"} UTC; service times from the same run (${checked.serviceTimes.measuredAt.slice(11, 16)} UTC, load average ${fmt(checked.serviceTimes.loadAverageAtStart, 1)}). The machine while each step ran:\n`,
  );
  out.push(
    "| step | minutes | load average before → after | other work: cores used | other work: runnable threads |",
  );
  out.push("|---|---:|---|---:|---:|");
  for (const r of runs)
    out.push(
      `| ${r.name} | ${fmt(r.minutes, 1)} | ${fmt(r.load[0], 1)} → ${fmt(r.load[1], 1)} | ${fmt(r.others ?? Number.NaN, 2)} | ${fmt(r.runnable ?? Number.NaN, 2)} |`,
    );
  out.push(
    `\nPrices (µs): send turn per socket ${fmt(c.socketTurn * 1e6, 1)} (measure.mjs's paced room), frame ${fmt(c.frame(1) * 1e6, 1)}, inbound ${fmt(c.inbound * 1e6, 1)}, commit ${fmt(c.commit(1) * 1e6)} + ${fmt((c.commit(11) - c.commit(1)) * 1e5, 1)}/row, RPC ${fmt(c.rpc(0) * 1e6)} + ${fmt((c.rpc(101) - c.rpc(1)) * 1e4, 2)}/item.${joinText(checked.serviceTimes)}\n`,
  );
  out.push("| run | figure | measured | model | model − measured | within 20% |");
  out.push("|---|---|---:|---:|---:|---|");
  for (const r of checked.rows) {
    const digits = r.unit === "cores" ? 2 : r.unit === "s" ? 1 : 0;
    const [err, ok] = errorText(r);
    out.push(
      `| ${r.run} | ${r.figure}${r.unit ? ` (${r.unit})` : ""} | ${fmt(r.measured, digits)} | ${fmt(r.model, digits)}${r.note && Number.isFinite(r.model) ? ` (${r.note})` : ""} | ${err} | ${ok} |`,
    );
  }
  out.push(
    `\n## Predictions: one core per object, link ${LINK_MS} ms one way, Poisson broadcasts\n`,
  );
  out.push(
    `"at 10/s": the room receives 10 broadcasts/s for ${SECONDS} s. "max": the highest rate with ≥ 99% delivered and p99 ≤ 100 ms. Room calls: received (uplinks; the ~${fmt(TARGET.rpcBudget)}/s soft limit counts the requests an object serves) and made (downlinks; each a billed request at its shard, whose CPU is in the room's CPU column). Cost per hour at 10/s by bench/sim/cost.mjs (link calls, client frames and pings at 20:1, upgrades, every object awake).\n`,
  );
  out.push(
    "| clients | protocol | shards | deliveries/s | p50 ms | p99 ms | room calls in / out per s | room CPU | sustained | max broadcasts/s | $ / hour |",
  );
  out.push("|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
  for (const r of rows)
    out.push(
      `| ${fmt(r.clients)} | ${r.protocol} | ${r.shards} | ${fmt(r.at.deliveriesPerSec)} | ${fmt(r.at.p50, 1)} | ${fmt(r.at.p99, 1)} | ${fmt(r.at.roomRpcIn)} / ${fmt(r.at.roomRpcOut)} | ${fmt(r.at.roomCpu * 100, 1)}% | ${r.ok ? "yes" : "no"} | ${fmt(r.max, 1)} | ${fmt(r.cost.dollars, 2)} |`,
    );
  out.push("");
  for (const protocol of ["plain", "ndjson"]) {
    const fit = rows.find((r) => r.clients === TARGET.clients && r.protocol === protocol && r.ok);
    const budget = (/** @type {number} */ calls) =>
      calls < TARGET.rpcBudget ? "within" : "**over**";
    out.push(
      fit
        ? `- ${fmt(TARGET.clients)} ${protocol} clients, ${TARGET.rate} broadcasts/s: **${fit.shards} shards** (the fewest that sustain it; p50 / p99 ${fmt(fit.at.p50, 1)} / ${fmt(fit.at.p99, 1)} ms; the room receives ${fmt(fit.at.roomRpcIn)} calls/s, ${budget(fit.at.roomRpcIn)} the ~${fmt(TARGET.rpcBudget)}/s soft limit, and makes ${fmt(fit.at.roomRpcOut)} at ${fmt(fit.at.roomCpu * 100, 1)}% of its core; $${fmt(fit.cost.dollars, 2)} an hour).`
        : `- ${fmt(TARGET.clients)} ${protocol} clients, ${TARGET.rate} broadcasts/s: no layout in the table sustains it.`,
    );
  }
  const m = MULTIPLEX;
  out.push(
    `\n## Many rooms on one connection: ${fmt(m.clients)} clients × ${m.roomsEach} rooms of ${m.roomSize}\n`,
  );
  out.push(
    `${fmt((m.clients * m.roomsEach) / m.roomSize)} rooms; a socket per (client, room) against one socket per client through hubs (members placed on hubs at random). Calls per broadcast = 1 uplink + one downlink per hub holding a member, below saturation; hub CPU = its sockets' sends and its downlink receipts at the validated prices, as a share of one core.\n`,
  );
  out.push(
    "| broadcasts/s per room | layout | sockets | calls / broadcast | room calls/s | requests / hour | $ / hour | hub CPU |",
  );
  out.push("|---:|---|---:|---:|---:|---:|---:|---:|");
  for (const rate of m.rates) {
    const first = /** @type {(typeof mux)[number]} */ (mux.find((x) => x.rate === rate));
    out.push(
      `| ${rate} | socket per room | ${fmt(m.clients * m.roomsEach)} | 0 | 0 | ${fmt(first.direct.requests / 1e6, 2)} M | ${fmt(first.direct.dollars, 2)} | – |`,
    );
    for (const x of mux.filter((y) => y.rate === rate))
      out.push(
        `| ${rate} | hubs, \`HUB_COUNT=${x.hubs}\` | ${fmt(m.clients)} | ${fmt(x.callsPerBroadcast, 1)} | ${fmt(x.roomCalls, 1)} | ${fmt(x.hub.requests / 1e6, 2)} M | ${fmt(x.hub.dollars, 2)} | ${fmt(x.hubCpu * 100)}% |`,
      );
  }
  return out.join("\n");
}

const text = report(predict(), multiplex());
console.log(text);
writeFileSync(
  join(HERE, "results.md"),
  `# Simulation results\n\n\`npm run sim\` on ${new Date().toISOString().slice(0, 10)}.\n\n${text}\n`,
);
