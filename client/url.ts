/** The WebSocket URL of one connection attempt: the room's path, who we are, and where to resume. */
import type { ConnectOptions } from "./types";

/** `base` as a ws(s) URL, its path joined with `path`. */
function wsUrl(base: URL, path: string): URL {
  const url = new URL(base);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${path}`;
  return url;
}

/**
 * The URL of a multi-room socket: no room and no token, as rooms are joined
 * (and granted) one by one on it; the client id picks the relay's hub.
 */
export function roomsUrl(base: URL, name: string | undefined, clientId: string): string {
  const url = wsUrl(base, "/ws");
  url.searchParams.set("client", clientId);
  if (name !== undefined) url.searchParams.set("name", name);
  return url.href;
}

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
  const url = wsUrl(base, `/rooms/${encodeURIComponent(options.room)}/ws`);
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
