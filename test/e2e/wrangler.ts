/**
 * Starts the real bundle under `wrangler dev` on a free loopback port, with a
 * fresh state directory so rooms from earlier runs never leak in.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type DevServer = {
  url: string;
  ws: string;
  output: () => string;
  process: ChildProcess;
  stop: () => Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/**
 * `state` reuses a state directory (to restart with the same storage); the
 * caller then owns it, and `stop` leaves it in place.
 */
export async function startWranglerDev(
  vars: Record<string, string> = {},
  { state: kept }: { state?: string } = {},
): Promise<DevServer> {
  const port = await freePort();
  const state = kept ?? mkdtempSync(join(tmpdir(), "relay-state-"));
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(join(process.cwd(), "node_modules/.bin/wrangler"), args, {
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  child.stdout?.on("data", (chunk) => {
    log += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    log += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
    }
    if (!kept) rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${log}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok)
        return { url, ws: `ws://127.0.0.1:${port}`, output: () => log, process: child, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy:\n${log}`);
}
