/**
 * The production path, as close as this machine gets: the deployable bundle
 * on workerd through Miniflare, on a direct socket, so the relay's own Worker
 * answers each upgrade (no entry worker or dev proxy in front, which would
 * negotiate compression and subprotocols by themselves).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare, type V4WorkerOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

export type DirectServer = { ws: string; stop: () => Promise<void> };

export async function startDirect(vars: Record<string, string> = {}): Promise<DirectServer> {
  const outdir = mkdtempSync(join(tmpdir(), "relay-bundle-"));
  await promisify(execFile)(
    join(process.cwd(), "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    { env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
  );
  const entry = readdirSync(outdir).find((file) => file.endsWith(".js"));
  if (!entry) throw new Error(`no bundle in ${outdir}`);
  const state = mkdtempSync(join(tmpdir(), "relay-state-"));
  // wrangler reads wrangler.toml into v4-shaped options; its typings leave them loose.
  const workerOptions = unstable_getMiniflareWorkerOptions("wrangler.toml")
    .workerOptions as V4WorkerOptions;
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        {
          name: "edge-relay",
          modules: true,
          scriptPath: join(outdir, entry),
          modulesRoot: outdir,
          compatibilityDate: workerOptions.compatibilityDate,
          compatibilityFlags: workerOptions.compatibilityFlags,
          durableObjects: workerOptions.durableObjects,
          bindings: { ...workerOptions.bindings, ...vars },
          unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        },
      ],
      resourcePersistencePath: state,
    }),
  );
  await mf.ready;
  const url = await mf.unsafeGetDirectURL("edge-relay");
  return {
    ws: `ws://${url.host}`,
    stop: async () => {
      await mf.dispose();
      rmSync(outdir, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    },
  };
}
