/**
 * Starts the project under `wrangler dev` on a free loopback port, with a
 * fresh state directory so rooms from earlier runs never leak in. The launcher
 * is the bench's (bench/lib/servers.mjs), so tests and bench start it one way.
 */
import { startWranglerDev as start } from "../../bench/lib/servers.mjs";

export type DevServer = {
  url: string;
  ws: string;
  output: () => string;
  stop: () => Promise<void>;
};

/**
 * `wrangler dev` on the project's own sources, with these `--var`s on top of
 * wrangler.toml. `config` runs another Worker (an example), whose health
 * route is `health`; `state` reuses a state directory, to restart with the
 * same storage (the caller owns it).
 */
export async function startWranglerDev(
  vars: Record<string, string> = {},
  options: { config?: string; health?: string; state?: string } = {},
): Promise<DevServer> {
  const { config, health, state } = options;
  const extra = config ? ["--config", config] : [];
  const server = await start({ vars, freeze: false, extra, health, state });
  return {
    url: server.base,
    ws: server.base.replace(/^http/, "ws"),
    output: server.output,
    stop: server.stop,
  };
}
