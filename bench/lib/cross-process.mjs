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
 * `script_name`. The configs are written at run time into a temp directory.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const COMPATIBILITY = [
  'compatibility_date = "2026-11-01"',
  'compatibility_flags = ["no_web_socket_compression"]',
];

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
 * Writes one wrangler config per process beside a copy of nothing: each
 * config's `main` is the bundle the bench built.
 * @param {{entry: string, processes: number, shards: number}} o
 * @returns {{dir: string, configs: string[]}}
 */
export function writeConfigs(o) {
  const dir = mkdtempSync(join(tmpdir(), "big-room-configs-"));
  const configs = [];
  for (let k = 0; k < o.processes; k++) {
    const lines = [
      `name = "${processName(k)}"`,
      `main = ${JSON.stringify(o.entry)}`,
      ...COMPATIBILITY,
      "",
      "[vars]",
      `SHARD_COUNT = "${o.shards}"`,
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
      `# Written by bench/lib/cross-process.mjs for ${basename(o.entry)}\n${lines.join("\n")}\n`,
    );
    configs.push(file);
  }
  return { dir, configs };
}
