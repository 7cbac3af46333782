/**
 * `npx node bench/overhead-probe.mjs [--shards 4,0,4,0] [--rates 300,500,750]`
 *
 * The sharding overhead at fixed rates, sides alternated: for each entry of
 * --shards, a fresh direct-socket server (SHARD_COUNT as given, 0 = the
 * single object), one room of 100 plain clients, a 3 s step at each rate
 * (no ramp, no retry). On a machine shared with other work the overhead
 * ramp's edge follows the neighbours' load (bench/README.md, "Sharding
 * overhead, measured"); alternating the sides and repeating them shows what
 * is the hop and what is the noise. Prints one line per step, and the
 * server's log lines other than connects and closes (failed link calls
 * would show there).
 */
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { Generators } from "./lib/generators.mjs";
import { buildBundle, startWorkerd } from "./lib/servers.mjs";

const { values } = parseArgs({
  options: {
    shards: { type: "string", default: "4,0,4,0" },
    rates: { type: "string", default: "300,500,750" },
  },
});
const list = (/** @type {string} */ s) => s.split(",").map(Number);
const CLIENTS = 100;

const built = await buildBundle();
try {
  for (const shards of list(values.shards)) await side(shards);
} finally {
  rmSync(built.outdir, { recursive: true, force: true });
}

/** One fresh server and its steps. @param {number} shards */
async function side(shards) {
  const server = await startWorkerd({
    key: `probe-${shards}`,
    label: shards ? `${shards} shards` : "single object",
    entry: built.entry,
    direct: true,
    hostArgs: [
      `SHARD_COUNT=${shards}`,
      "SHARD_AT_SESSIONS=1000000000",
      "SHARD_AT_FRAMES=1000000000",
    ].flatMap((v) => ["--var", v]),
  });
  const gens = new Generators(2);
  try {
    const specs = Array.from({ length: CLIENTS }, (_, i) => ({
      room: "probe",
      name: `c${i}`,
      roomSize: CLIENTS,
    }));
    await gens.connect(server, specs, 50);
    for (const rate of list(values.rates)) {
      const r = await gens.step({ rate, durationMs: 3000, payloadBytes: 100, graceMs: 3000 });
      const ms = (/** @type {number | null} */ n) => (n == null ? "–" : n.toFixed(1));
      console.log(
        `${server.label}, ${rate} msg/s: ${r.received}/${r.expected} delivered, ` +
          `p50 ${ms(r.hist.percentile(50))} p99 ${ms(r.hist.percentile(99))} max ${ms(r.hist.max)} ms`,
      );
    }
    await gens.closeAll();
  } finally {
    await gens.exit();
    const other = String(server.output())
      .split("\n")
      .filter((l) => l && !l.startsWith("READY") && !/"event":"(connect|close)"/.test(l));
    if (other.length)
      console.log(`  server log, first lines:\n  ${other.slice(0, 10).join("\n  ")}`);
    await server.stop();
  }
}
