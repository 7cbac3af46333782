/**
 * Runs a Worker on workerd through Miniflare's API on 127.0.0.1:<port>.
 *
 *   node bench/lib/miniflare-host.mjs --port 8788 --entry /tmp/bundle/index.js
 *     [--direct] [--worker relay|floor] [--compat-flag F]... [--inspector-port N]
 *     [--var NAME=VALUE]... [--config wrangler.toml] [--name NAME] [--registry DIR]
 *
 * --direct serves the port from a direct socket (`unsafeDirectSockets`): our
 * own Worker answers the upgrade, as in production, with no Miniflare entry
 * worker in front (that entry worker negotiates permessage-deflate by itself
 * and proxies every frame). Without it, the port is Miniflare's entry socket.
 *
 * --worker relay (default): the bundled relay, its ROOMS Durable Object on
 * SQLite and the [vars] of wrangler.toml (read by wrangler's own config
 * reader), with the bench's limits on top and any --var on top of those. --worker floor: bench/floor's
 * forward-only Durable Object, with the same compatibility date and flags.
 * --var sets a var on top of those (the big-room bench's SHARD_COUNT, ADMIN_TOKEN).
 * --config reads another wrangler config than the project's, --name names the
 * Worker, and --registry is a dev registry directory shared with other local
 * processes, so a Durable Object binding with `script_name` reaches a class
 * that another process serves (bench/big-room.mjs, cross-process mode).
 * Prints `READY <url>` once serving.
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
    direct: { type: "boolean", default: false },
    worker: { type: "string", default: "relay" },
    "compat-flag": { type: "string", multiple: true, default: [] },
    "inspector-port": { type: "string" },
    var: { type: "string", multiple: true, default: [] },
    config: { type: "string", default: "wrangler.toml" },
    name: { type: "string", default: "edge-relay" },
    registry: { type: "string" },
  },
});
if (!values.port || !values.entry) throw new Error("--port and --entry are required");
const port = Number(values.port);

const { workerOptions } = unstable_getMiniflareWorkerOptions(values.config);
const state = mkdtempSync(join(tmpdir(), "bench-mf-state-"));
const floor = values.worker === "floor";

// Only what the relay needs from wrangler.toml; the static assets router (the
// demo page) is left out: the bench only talks to the Worker.
const worker = {
  name: values.name,
  compatibilityDate: workerOptions.compatibilityDate,
  compatibilityFlags: [...(workerOptions.compatibilityFlags ?? []), ...values["compat-flag"]],
  modules: true,
  scriptPath: values.entry,
  modulesRoot: dirname(values.entry),
  durableObjects: floor
    ? { ROOMS: { className: "Floor", useSQLite: true } }
    : workerOptions.durableObjects,
  bindings: floor ? {} : { ...workerOptions.bindings, ...BENCH_VARS, ...vars(values.var) },
  ...(values.direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port }] } : {}),
};

// Miniflare 5 takes a new option shape; wrangler still hands out v4-style worker
// options, and Miniflare converts them.
const mf = new Miniflare(
  convertV4MiniflareOptions({
    workers: [worker],
    host: "127.0.0.1",
    // With a direct socket the entry socket still exists, on any free port.
    port: values.direct ? 0 : port,
    resourcePersistencePath: state,
    ...(values.registry ? { unsafeDevRegistryPath: values.registry } : {}),
    ...(values["inspector-port"] ? { inspectorPort: Number(values["inspector-port"]) } : {}),
  }),
);

const url = values.direct ? await mf.unsafeGetDirectURL(values.name) : await mf.ready;
console.log(`READY ${url}`);

/** `NAME=VALUE` pairs as bindings. @param {string[]} pairs */
function vars(pairs) {
  return Object.fromEntries(
    pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}

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
