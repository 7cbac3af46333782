/**
 * Runs the bundled Worker on workerd through Miniflare's API, listening on
 * 127.0.0.1:<port> with no dev proxy in front. Bindings (the ROOMS Durable
 * Object with SQLite storage, and the [vars]) come from wrangler.toml via
 * wrangler's own config reader, with the bench's limits on top.
 *
 *   node bench/lib/miniflare-host.mjs --port 8788 --entry /tmp/bundle/index.js [--inspector-port N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { BENCH_VARS } from "./servers.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    entry: { type: "string" },
    "inspector-port": { type: "string" },
  },
});
if (!values.port || !values.entry) throw new Error("--port and --entry are required");

const { workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml");
const state = mkdtempSync(join(tmpdir(), "bench-mf-state-"));

// Miniflare 5 takes a new option shape; wrangler still hands out v4-style worker
// options, and Miniflare converts them.
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [
      {
        // Only what the relay needs from wrangler.toml; the static assets router
        // (the demo page) is left out: the bench only talks to the Worker.
        compatibilityDate: workerOptions.compatibilityDate,
        compatibilityFlags: workerOptions.compatibilityFlags,
        durableObjects: workerOptions.durableObjects,
        name: "edge-relay",
        modules: true,
        scriptPath: values.entry,
        modulesRoot: dirname(values.entry),
        bindings: { ...workerOptions.bindings, ...BENCH_VARS },
      },
    ],
    host: "127.0.0.1",
    port: Number(values.port),
    resourcePersistencePath: state,
    ...(values["inspector-port"] ? { inspectorPort: Number(values["inspector-port"]) } : {}),
  }),
);

const url = await mf.ready;
console.log(`READY ${url}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await mf.dispose();
  } finally {
    rmSync(state, { recursive: true, force: true });
    process.exit(0);
  }
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
