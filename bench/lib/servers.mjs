/**
 * Starts each server under test on 127.0.0.1 and says which process to
 * measure. Every server speaks the same protocol (docs/protocol.md) except
 * Socket.IO, which carries the same frames as Socket.IO events. The e2e
 * tests start `wrangler dev` through this module too (test/e2e/wrangler.ts,
 * typed by servers.d.mts), so there is one launcher.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, sleep, workerdUnder } from "./proc.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "node_modules/.bin");

/** Limits the bench lifts so the relay is measured, not its abuse protection. */
export const BENCH_VARS = {
  RATE_LIMIT_PER_SECOND: "1000000",
  RATE_LIMIT_BURST: "1000000",
  MAX_CONNECTIONS_PER_ROOM: "100000",
  DOC_RATE_LIMIT_PER_SECOND: "1000000",
  DOC_RATE_LIMIT_BURST: "1000000",
  DOC_RATE_LIMIT_BYTES_PER_SECOND: "1000000000",
  DOC_RATE_LIMIT_BYTES_BURST: "1000000000",
};

/**
 * @typedef {object} Server
 * @property {string} key short id, as in `--servers`
 * @property {string} label human name for tables
 * @property {"relay" | "sio"} kind which client speaks to it
 * @property {"plain" | "ndjson"} protocol plain: one JSON frame per WebSocket frame;
 *   ndjson: the clients offer the `edge-relay.ndjson` subprotocol (docs/protocol.md)
 * @property {string} base http://127.0.0.1:port
 * @property {() => number} measuredPid the process whose RSS is "the server"
 * @property {() => {name: string, pid: number}[]} cpuPids every process that serves, for CPU accounting
 * @property {() => {name: string, pid: number}[]} memoryPids the processes that hold the sockets
 * @property {() => string} output what the server printed
 * @property {() => Promise<void>} stop
 */

/**
 * Spawns a command in its own process group, collects its output, and
 * resolves once `ready()` is true.
 * @param {string} command @param {string[]} args
 * @param {{env?: Record<string, string>, ready: (log: string) => Promise<boolean> | boolean, what: string,
 *   onOutput?: (chunk: string) => void}} options
 */
async function launch(command, args, options) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  const keep = (/** @type {Buffer} */ chunk) => {
    options.onOutput?.(String(chunk));
    log += chunk;
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }
    }
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${options.what} exited:\n${log}`);
    if (await options.ready(log)) return { child, stop, output: () => log };
    await sleep(200);
  }
  await stop();
  throw new Error(`${options.what} did not become ready:\n${log}`);
}

/** @param {string} url */
async function healthy(url) {
  try {
    const response = await fetch(url);
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * `wrangler dev` on 127.0.0.1, fresh `--persist-to` state, on a free port.
 * With `freeze` (the bench's default) it runs a frozen copy of the Worker: the
 * bundle `wrangler deploy` would upload, next to a copy of wrangler.toml whose
 * `main` points at it, with --no-bundle; wrangler dev reloads (and drops every
 * socket) when a watched source file changes, so freezing keeps edits made to
 * src/ during a long run from restarting the server under test. Without it
 * (the e2e tests) it runs the project's own wrangler.toml and sources.
 * `health` is the path that answers once it is up; `state` reuses a state
 * directory (the caller owns it, and `stop` leaves it); `onOutput` sees all
 * it prints (`output()` keeps only the tail).
 * @param {{vars?: Record<string, string>, freeze?: boolean, extra?: string[], health?: string, state?: string,
 *   onOutput?: (chunk: string) => void}} [options]
 *   vars: `--var`s (default: the bench's lifted limits); extra: more wrangler dev arguments
 * @returns {Promise<Server>}
 */
export async function startWranglerDev({
  vars = BENCH_VARS,
  freeze = true,
  extra = [],
  health = "/health",
  state: kept = undefined,
  onOutput = undefined,
} = {}) {
  const bundle = freeze ? await buildBundle() : undefined;
  const port = await freePort();
  const state = kept ?? mkdtempSync(join(tmpdir(), "relay-state-"));
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state];
  if (bundle) args.push("--config", frozenConfig(bundle), "--no-bundle");
  args.push(...extra);
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const base = `http://127.0.0.1:${port}`;
  const proc = await launch(join(BIN, "wrangler"), args, {
    what: "wrangler dev",
    ready: () => healthy(`${base}${health}`),
    onOutput,
  }).catch((error) => {
    cleanUp(kept ? undefined : state, bundle);
    throw error;
  });
  const root = /** @type {number} */ (proc.child.pid);
  // wrangler dev runs two workerd processes: the dev proxy listening on our
  // port, and the user Worker (entry on an ephemeral port) behind it.
  const processes = () => {
    const all = workerdUnder(root);
    const proxy = all.find((p) => p.cmd.includes(`entry=127.0.0.1:${port} `));
    const worker = all.find((p) => p !== proxy);
    return { proxy, worker };
  };
  return {
    key: "wrangler-dev",
    label: "edge-relay (wrangler dev)",
    kind: "relay",
    protocol: "plain",
    base,
    measuredPid: () => processes().worker?.pid ?? root,
    cpuPids: () => {
      const { proxy, worker } = processes();
      /** @type {{name: string, pid: number}[]} */
      const list = [];
      if (worker) list.push({ name: "workerd (Worker)", pid: worker.pid });
      if (proxy) list.push({ name: "workerd (dev proxy)", pid: proxy.pid });
      list.push({ name: "wrangler (node)", pid: root });
      return list;
    },
    memoryPids: () => {
      const { proxy, worker } = processes();
      return [
        ...(worker ? [{ name: "workerd (Worker)", pid: worker.pid }] : []),
        ...(proxy ? [{ name: "workerd (dev proxy)", pid: proxy.pid }] : []),
      ];
    },
    output: proc.output,
    stop: async () => {
      await proc.stop();
      cleanUp(kept ? undefined : state, bundle);
    },
  };
}

/**
 * Writes a copy of wrangler.toml beside the bundle, its `main` pointing at the
 * bundle and its assets directory made absolute. @param {{entry: string, outdir: string}} bundle
 */
function frozenConfig(bundle) {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main\s*=.*$/m, `main = ${JSON.stringify(basename(bundle.entry))}`)
    .replace(
      /^(directory\s*=\s*)"([^"]*)"/m,
      (_all, key, dir) => `${key}${JSON.stringify(resolve(ROOT, dir))}`,
    );
  const config = join(bundle.outdir, "wrangler.toml");
  writeFileSync(config, toml);
  return config;
}

/** @param {string} state @param {{outdir: string} | undefined} bundle */
function cleanUp(state, bundle) {
  if (state) rmSync(state, { recursive: true, force: true });
  if (bundle) rmSync(bundle.outdir, { recursive: true, force: true });
}

/** Bundles the Worker exactly as `wrangler deploy` would, into a temp dir. */
export async function buildBundle(config = "wrangler.toml") {
  const outdir = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  const args = ["deploy", "--dry-run", "--outdir", outdir, "--config", config];
  await new Promise((resolveBuild, reject) => {
    const child = spawn(join(BIN, "wrangler"), args, {
      cwd: ROOT,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (c) => {
      log += c;
    });
    child.stderr.on("data", (c) => {
      log += c;
    });
    child.on("exit", (code) =>
      code === 0 ? resolveBuild(undefined) : reject(new Error(`wrangler build failed:\n${log}`)),
    );
  });
  const entry = readdirSync(outdir).find((f) => f.endsWith(".js"));
  if (!entry) throw new Error(`no bundle in ${outdir}`);
  return { outdir, entry: join(outdir, entry) };
}

/**
 * A Worker on workerd through Miniflare's API (bench/lib/miniflare-host.mjs,
 * in a child process so the bench's own process stays idle). `direct` serves
 * it from a direct socket, as production does (our Worker answers the
 * upgrade); otherwise through Miniflare's entry worker. `worker: "floor"` runs
 * bench/floor instead of the relay bundle.
 * @param {{key: string, label: string, entry: string, direct?: boolean, worker?: "relay" | "floor",
 *   protocol?: "plain" | "ndjson", hostArgs?: string[]}} o
 * @returns {Promise<Server>}
 */
export async function startWorkerd(o) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = [join(ROOT, "bench/lib/miniflare-host.mjs"), "--port", String(port)];
  args.push("--entry", o.entry, "--worker", o.worker ?? "relay", ...(o.hostArgs ?? []));
  if (o.direct) args.push("--direct");
  const proc = await launch(process.execPath, args, {
    what: "miniflare",
    ready: (log) => log.includes("READY") && healthy(`${base}/health`),
  });
  const root = /** @type {number} */ (proc.child.pid);
  const worker = () => workerdUnder(root)[0];
  return {
    key: o.key,
    label: o.label,
    kind: "relay",
    protocol: o.protocol ?? "plain",
    base,
    measuredPid: () => worker()?.pid ?? root,
    cpuPids: () => {
      const w = worker();
      const list = [{ name: "miniflare (node)", pid: root }];
      if (w) list.unshift({ name: "workerd (Worker)", pid: w.pid });
      return list;
    },
    memoryPids: () => {
      const w = worker();
      return w ? [{ name: "workerd (Worker)", pid: w.pid }] : [];
    },
    output: proc.output,
    stop: proc.stop,
  };
}

/** The forward-only Durable Object of bench/floor, the runtime's floor. */
export const FLOOR_ENTRY = join(ROOT, "bench/floor/worker.mjs");

/**
 * A Node baseline from bench/baselines/, run as its own process.
 * @param {"ws" | "socketio"} which @returns {Promise<Server>}
 */
export async function startBaseline(which) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const file = which === "ws" ? "ws-relay.mjs" : "socketio-relay.mjs";
  const proc = await launch(process.execPath, [join(ROOT, "bench/baselines", file)], {
    what: file,
    env: { PORT: String(port), HOST: "127.0.0.1" },
    ready: () => healthy(`${base}/health`),
  });
  const pid = /** @type {number} */ (proc.child.pid);
  return {
    key: which,
    label: which === "ws" ? "ws baseline (Node)" : "Socket.IO 4 (Node)",
    kind: which === "ws" ? "relay" : "sio",
    protocol: "plain",
    base,
    measuredPid: () => pid,
    cpuPids: () => [{ name: "node", pid }],
    memoryPids: () => [{ name: "node", pid }],
    output: proc.output,
    stop: proc.stop,
  };
}
