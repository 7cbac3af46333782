/** Helpers for the directory tests: the list route, and waiting until it says something. */
import { exports } from "cloudflare:workers";

export const ADMIN = "test-admin-token";

export type Listed = {
  kind: "room" | "doc";
  entries: { name: string; count: number; since: number; updated: number }[];
  next: string | null;
  total: { entries: number; members: number };
};

/** `GET /rooms` or `GET /docs` with the admin token (or `token`), and a query. */
export function listRequest(
  path: "/rooms" | "/docs",
  query: Record<string, string | number> = {},
  token: string | null = ADMIN,
): Promise<Response> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) params.set(key, String(value));
  const headers: Record<string, string> =
    token === null ? {} : { authorization: `Bearer ${token}` };
  return exports.default.fetch(`http://relay.test${path}?${params}`, { headers });
}

export async function list(
  path: "/rooms" | "/docs",
  query: Record<string, string | number> = {},
): Promise<Listed> {
  const response = await listRequest(path, query);
  if (!response.ok) throw new Error(`list failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Listed;
}

/** The count listed for `name` (a prefix of nothing else), or 0 when it is not listed. */
export async function countOf(path: "/rooms" | "/docs", name: string): Promise<number> {
  const listed = await list(path, { prefix: name });
  return listed.entries.find((entry) => entry.name === name)?.count ?? 0;
}

/**
 * Asks the list again until `condition` holds: reports travel on their own,
 * after the frames they follow, so there is no frame to wait for.
 */
export async function until(
  condition: () => Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
