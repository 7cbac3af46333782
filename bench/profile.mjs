/**
 * `node bench/profile.mjs [--rooms 200] [--rate 1000] [--seconds 5]` (Node 22: run via `npx node`)
 *
 * CPU-profiles the Worker on a direct workerd socket (no proxy) under the
 * many-rooms load, through workerd's V8 inspector, and prints where the
 * isolate's time goes (self time by function). Writes
 * bench/results/relay.cpuprofile (open it in Chrome DevTools).
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { selfTimes } from "./lib/cpu-profile.mjs";
import { Generators } from "./lib/generators.mjs";
import { inspect } from "./lib/inspector.mjs";
import { cpuSeconds, freePort, sleep } from "./lib/proc.mjs";
import { buildBundle, startWorkerd } from "./lib/servers.mjs";

const { values: flags } = parseArgs({
  options: {
    rooms: { type: "string", default: "200" },
    size: { type: "string", default: "4" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
  },
});
const inspectorPort = await freePort();
const bundle = await buildBundle();
const server = await startWorkerd({
  key: "direct",
  label: "edge-relay, direct socket",
  entry: bundle.entry,
  direct: true,
  hostArgs: ["--inspector-port", String(inspectorPort)],
});
const gens = new Generators(2);
try {
  const { cdp, close } = await inspect(inspectorPort);

  const size = Number(flags.size);
  const specs = [];
  for (let r = 0; r < Number(flags.rooms); r++) {
    for (let i = 0; i < size; i++) specs.push({ room: `p-${r}`, name: `c${i}`, roomSize: size });
  }
  await gens.connect(server, specs, 50);
  await gens.step({ rate: 200, durationMs: 1000, payloadBytes: 100, graceMs: 1000 }); // warm
  await cdp("Profiler.enable");
  await cdp("Profiler.setSamplingInterval", { interval: 200 });
  await cdp("Profiler.start");
  const pid = server.measuredPid();
  const cpu0 = cpuSeconds(pid);
  const durationMs = Number(flags.seconds) * 1000;
  const r = await gens.step({
    rate: Number(flags.rate),
    durationMs,
    payloadBytes: 100,
    graceMs: 3000,
  });
  const cpu = cpuSeconds(pid) - cpu0;
  const { profile } = /** @type {any} */ (await cdp("Profiler.stop"));
  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "relay.cpuprofile");
  writeFileSync(out, JSON.stringify(profile));

  const { total, top } = selfTimes(profile);
  console.log(
    `${r.sent} messages, ${r.received}/${r.expected} deliveries in ${durationMs / 1000} s; ` +
      `workerd CPU ${cpu.toFixed(2)} s (${((cpu / (durationMs / 1000)) * 100).toFixed(0)}% of a core), ` +
      `${((cpu * 1e6) / Math.max(1, r.sent)).toFixed(0)} µs CPU per inbound message`,
  );
  console.log(`isolate samples: ${total}; top self time:`);
  for (const { key, share } of top) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${key}`);
  console.log(`wrote ${out}`);
  close();
} finally {
  await gens.closeAll().catch(() => {});
  await gens.exit();
  await server.stop();
}
await sleep(100);
process.exit(0);
