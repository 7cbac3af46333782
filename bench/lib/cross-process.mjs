/**
 * The big room across workerd processes (bench/big-room.mjs `--processes`).
 *
 * Measured with wrangler 4.164.0 / miniflare 5.20261117.0-beta (bench/README.md,
 * "Across processes"): a Durable Object binding with `script_name` reaches a
 * class served by another local process through the dev registry (a shared
 * directory), for RPC, fetch and forwarded WebSocket upgrades, and IDs from
 * `getByName` agree on both sides. A forwarded socket's file stays in the
 * process the client connected to, so clients must connect to the process
 * whose shards they use.
 *
 * Layout: process 0 serves the Worker and `Room` (the sequencer) and binds
 * `SHARDS_<k>` to the `Shard` class of process k; process k (1..P-1) serves
 * the Worker and its own `Shard`s, with `ROOMS` bound back to process 0 by
 * `script_name`. The room's N shards are split evenly: process k holds the
 * global indices `(k - 1) · N/(P - 1)` and on. The Worker here is the relay
 * with two hooks of src/server.ts: the room's `static shards` maps a global
 * index to the binding of the process that holds it, and each process's
 * Worker renames the local index relay picks (`hash(client) mod` its own
 * SHARD_COUNT) to the global one, so its clients stay on its own shards. The
 * entry and the configs are written at run time into a temp directory.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBundle } from "./servers.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const COMPATIBILITY = [
  'compatibility_date = "2026-11-01"',
  'compatibility_flags = ["no_web_socket_compression"]',
];

/** The bench's Worker: the relay, with shards spread over processes by global index. */
const ENTRY = `import { relay, Room as BaseRoom, Shard } from ${JSON.stringify(join(ROOT, "src/server.ts"))};

export { Shard };

/** Global shard i lives in process 1 + floor(i / SHARDS_PER_PROCESS). */
export class Room extends BaseRoom {
  static shards = (env, index) =>
    env[\`SHARDS_\${1 + Math.floor(index / Number(env.SHARDS_PER_PROCESS))}\`];
}

/** This process's shards under their global names: local index i is global SHARD_BASE + i. */
function global(env) {
  if (!env.SHARDS) return undefined;
  const base = Number(env.SHARD_BASE);
  return {
    getByName(name) {
      const at = name.lastIndexOf("#");
      return env.SHARDS.getByName(\`\${name.slice(0, at)}#\${base + Number(name.slice(at + 1))}\`);
    },
  };
}

export default relay({ rooms: (env) => env.ROOMS, shards: global });
`;

/** @param {string} name @param {string} className @param {string} [script] */
const binding = (name, className, script) =>
  [
    "[[durable_objects.bindings]]",
    `name = "${name}"`,
    `class_name = "${className}"`,
    ...(script ? [`script_name = "${script}"`] : []),
  ].join("\n");

/** The Worker name of process k. @param {number} k */
export const processName = (k) => `big-room-${k}`;

/**
 * Builds the bench's Worker into `dir` as `wrangler deploy --dry-run` does.
 * @param {string} dir @returns {Promise<{outdir: string, entry: string}>}
 */
async function buildEntry(dir) {
  const source = join(dir, "cross-process-worker.js");
  writeFileSync(source, ENTRY);
  const config = join(dir, "build.toml");
  writeFileSync(
    config,
    [`name = "big-room-build"`, `main = ${JSON.stringify(source)}`, ...COMPATIBILITY, ""].join(
      "\n",
    ),
  );
  return buildBundle(config);
}

/**
 * Writes one wrangler config per process, all serving the bench's Worker.
 * @param {{processes: number, shards: number}} o
 * @returns {Promise<{dirs: string[], configs: string[], entry: string}>} the temp
 *   directories, the configs, and the bundle every process serves
 */
export async function writeConfigs(o) {
  const holders = o.processes - 1;
  const perProcess = o.shards / holders;
  if (!Number.isInteger(perProcess) || perProcess < 1) {
    throw new Error(`--shards ${o.shards} must split evenly over ${holders} shard processes`);
  }
  const dir = mkdtempSync(join(tmpdir(), "big-room-configs-"));
  const { outdir, entry } = await buildEntry(dir);
  const configs = [];
  for (let k = 0; k < o.processes; k++) {
    const lines = [
      `name = "${processName(k)}"`,
      `main = ${JSON.stringify(entry)}`,
      ...COMPATIBILITY,
      "",
      "[vars]",
      `SHARDS_PER_PROCESS = "${perProcess}"`,
      // Process 0 holds no shard; the others pick among their own.
      `SHARD_COUNT = "${k === 0 ? o.shards : perProcess}"`,
      `SHARD_BASE = "${Math.max(0, k - 1) * perProcess}"`,
      "",
    ];
    if (k === 0) {
      lines.push(binding("ROOMS", "Room"));
      for (let j = 1; j < o.processes; j++) {
        lines.push(binding(`SHARDS_${j}`, "Shard", processName(j)));
      }
      lines.push('[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Room"]');
    } else {
      lines.push(binding("SHARDS", "Shard"), binding("ROOMS", "Room", processName(0)));
      lines.push('[[migrations]]\ntag = "v1"\nnew_sqlite_classes = ["Shard"]');
    }
    const file = join(dir, `${processName(k)}.toml`);
    writeFileSync(
      file,
      `# Written by bench/lib/cross-process.mjs for ${basename(entry)}\n${lines.join("\n")}\n`,
    );
    configs.push(file);
  }
  return { dirs: [dir, outdir], configs, entry };
}
