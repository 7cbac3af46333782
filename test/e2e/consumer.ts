/**
 * A fresh Worker project that installed this package as a user would: the
 * tarball `npm pack` makes, installed with its dependencies into a copy of
 * examples/chat-rules in the system's temp directory, outside this repository,
 * so nothing can resolve from our own node_modules or sources.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

export const run = promisify(execFile);

/** What `npm pack --json` says of a tarball. */
export type Packed = {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
};

export type Consumer = { dir: string; packed: Packed; remove: () => void };

const ROOT = process.cwd();

/**
 * Packs the package as built (`npm test` builds it first, as `prepare` does on
 * `npm pack`) and installs the tarball into a copy of the example, with react
 * and its types so `edge-relay/react` can be tried too, from the npm cache.
 */
export async function installConsumer(): Promise<Consumer> {
  const temp = mkdtempSync(join(tmpdir(), "edge-relay-consumer-"));
  const pack = ["pack", "--json", "--ignore-scripts", "--pack-destination", temp];
  const { stdout } = await run("npm", pack, { cwd: ROOT });
  const [packed] = JSON.parse(stdout) as [Packed];
  const dir = join(temp, "app");
  cpSync(join(ROOT, "examples/chat-rules"), dir, {
    recursive: true,
    filter: (source) => !source.includes("node_modules"),
  });
  const ours = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  const react = ["react", "@types/react"].map((name) => `${name}@${ours.devDependencies[name]}`);
  const install = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
  await run("npm", [...install, join(temp, packed.filename), ...react], { cwd: dir });
  return { dir, packed, remove: () => rmSync(temp, { recursive: true, force: true }) };
}

/** Every file an `exports` entry points at, `./` stripped. */
export function exportTargets(exports: unknown): string[] {
  if (typeof exports === "string") return [exports.replace(/^\.\//, "")];
  if (exports === null || typeof exports !== "object") return [];
  return Object.values(exports).flatMap(exportTargets);
}
