/** The WebSocket URL of one connection attempt: the room's path, who we are, and where to resume. */
import type { ConnectOptions } from "./types";

/**
 * `base` may be http(s) or ws(s), with any path prefix. The token, if a
 * function, is fetched anew for every attempt, so an expired one is replaced.
 */
export async function socketUrl(
  base: URL,
  options: ConnectOptions,
  clientId: string,
  resume: { since: number; epoch: string } | undefined,
): Promise<string> {
  const url = new URL(base);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/rooms/${encodeURIComponent(options.room)}/ws`;
  const params = url.searchParams;
  if (options.name !== undefined) params.set("name", options.name);
  params.set("client", clientId);
  const token = options.token;
  if (token !== undefined) params.set("token", typeof token === "function" ? await token() : token);
  if (resume) {
    params.set("since", String(resume.since));
    params.set("epoch", resume.epoch);
  }
  return url.href;
}
