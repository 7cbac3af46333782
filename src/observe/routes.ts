/**
 * The server API's lists of live rooms (`GET /rooms`) and documents
 * (`GET /docs`), from the directory, behind the admin token. An entry not
 * heard from for `REPORT_MS` is confirmed with its room before it is shown,
 * so a room that died without telling (its sockets closed by a restart) is
 * dropped instead of listed with nobody in it.
 */
import { type Context, Hono } from "hono";
import { guardAdmin } from "../auth";
import { errorResponse } from "../protocol";
import {
  DIRECTORY_NAME,
  type Directory,
  type Entry,
  type Kind,
  type Listing,
  type Sort,
  validCursor,
} from "./directory";
import { REPORT_MS } from "./reporter";

const PAGE = 100;
const PAGE_MAX = 1000;
const PREFIX = /^[A-Za-z0-9._-]{0,64}$/;

/** Anything that can say how many are in it now: a room or a document. */
export type Counted = { liveCount(): Promise<number> };

export type DirectoryRouteOptions<E> = {
  directory: (env: E) => DurableObjectNamespace<Directory> | undefined;
  /** The object that holds a listed room or document, to confirm a stale entry. */
  holder: (env: E, kind: Kind, name: string) => Counted | undefined;
  adminToken: (env: E) => string | undefined;
};

export function directoryRoutes<E extends object>(
  options: DirectoryRouteOptions<E>,
): Hono<{ Bindings: E }> {
  const routes = new Hono<{ Bindings: E }>();
  const list = (kind: Kind) => async (c: Context<{ Bindings: E }>) => {
    const denied = await guardAdmin(c.req.header("authorization"), options.adminToken(c.env));
    if (denied) return denied;
    const namespace = options.directory(c.env);
    if (!namespace) return errorResponse(404, "not_found", "no DIRECTORY is bound");
    const query = readQuery(c.req.query());
    if (typeof query === "string") return errorResponse(400, "bad_message", query);
    const directory = namespace.getByName(DIRECTORY_NAME);
    const listing = await directory.list({ kind, ...query });
    const holder = (name: string) => options.holder(c.env, kind, name);
    const entries = await Promise.all(listing.entries.map((entry) => checked(entry, holder)));
    const changed = entries.filter((entry, i) => entry !== listing.entries[i]);
    if (changed.length > 0) await directory.confirm(kind, changed);
    const live = entries.filter((entry) => entry.count > 0).map(({ version: _, ...rest }) => rest);
    const total = totalAfterChecks(listing.total, listing.entries, entries);
    return c.json({ kind, entries: live, next: listing.next, total });
  };
  routes.get("/rooms", list("room"));
  routes.get("/docs", list("doc"));
  return routes;
}

/** The entry as its room tells it now, when the directory's word is older than `REPORT_MS`. */
async function checked(entry: Entry, holder: (name: string) => Counted | undefined) {
  const now = Date.now();
  const room = holder(entry.name);
  if (!room || now - entry.updated < REPORT_MS) return entry;
  try {
    return { ...entry, count: await room.liveCount(), updated: now };
  } catch {
    return entry; // listed as last told; the next list tries again
  }
}

/**
 * The directory's totals with this page's checks applied, as the directory
 * will hold them once it took the confirmation: so `total` says what the
 * entries it comes with say, not what the directory held before they were checked.
 */
function totalAfterChecks(total: Listing["total"], listed: Entry[], checked: Entry[]) {
  let { entries, members } = total;
  checked.forEach((entry, i) => {
    const before = listed[i]?.count ?? 0;
    members += entry.count - before;
    if (entry.count <= 0 && before > 0) entries -= 1;
  });
  return { entries, members };
}

type Query = { prefix: string; sort: Sort; limit: number; after?: string };

function readQuery(raw: Record<string, string>): Query | string {
  const prefix = raw.prefix ?? "";
  if (!PREFIX.test(prefix)) return "prefix is up to 64 characters of A-Z a-z 0-9 . _ -";
  const sort = raw.sort ?? "name";
  if (sort !== "name" && sort !== "occupancy") return "sort is name or occupancy";
  const limit = raw.limit === undefined ? PAGE : Number(raw.limit);
  if (!/^\d+$/.test(raw.limit ?? "1") || limit < 1) return "limit is a positive integer";
  const after = raw.cursor;
  if (after !== undefined && !validCursor(sort, after)) return "cursor is not from this sort";
  return { prefix, sort, limit: Math.min(limit, PAGE_MAX), after };
}
