/**
 * The directory: which rooms and documents have anyone in them, and how many.
 * One Durable Object for the deployment (`DIRECTORY`, named "directory"),
 * told by each room or document only when it becomes occupied or vacated and
 * at most every `REPORT_MS` while its count changes (src/observe/reporter.ts).
 * It never calls anyone and sets no alarm, so an idle deployment costs nothing.
 * An entry whose room died without saying so (a restart closes its sockets
 * before it can) is found out when a list confirms it (src/observe/routes.ts).
 */
import { DurableObject } from "cloudflare:workers";

/** What is listed: chat rooms or Yjs documents. */
export type Kind = "room" | "doc";

export type Sort = "name" | "occupancy";

/** One live room or document as listed. */
export type Entry = {
  name: string;
  /** Members (rooms) or sockets (documents) when last told. */
  count: number;
  /** When it became occupied, ms since the epoch. */
  since: number;
  /** When it last told its count, or was confirmed, ms since the epoch. */
  updated: number;
  /** Changes on every write; a confirmation applies only to the version it read. */
  version: number;
};

/** A room's count as a list read it, and the entry's version it read it against. */
export type Checked = { name: string; version: number; count: number };

export type ListQuery = { kind: Kind; prefix: string; sort: Sort; limit: number; after?: string };

export type Listing = {
  entries: Entry[];
  /** Where the next page starts (pass it back as `cursor`), or null on the last page. */
  next: string | null;
  /** Entries matching the prefix, and the members in them, on every page. */
  total: { entries: number; members: number };
};

/** The directory's one object name; a sharded directory would hash names over several. */
export const DIRECTORY_NAME = "directory";

/** A cursor of the occupancy order: the last count and name of a page. */
const OCCUPANCY_CURSOR = /^(\d+):(.+)$/;

export class Directory<E extends object = Cloudflare.Env> extends DurableObject<E> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: E) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS live (
      kind TEXT NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL,
      since INTEGER NOT NULL, updated INTEGER NOT NULL, version INTEGER NOT NULL,
      PRIMARY KEY (kind, name))`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS live_by_count ON live (kind, count DESC, name)");
  }

  /** A room's or document's count as it stands; 0 takes it off the list. */
  async report(kind: Kind, name: string, count: number): Promise<void> {
    this.write(kind, name, count);
  }

  /**
   * Counts read from the rooms themselves by a list, each applied only if
   * nothing was reported since the `version` it listed: a report that
   * overtook the read is newer. One call for a page, not one per entry.
   */
  async confirm(kind: Kind, checked: Checked[]): Promise<void> {
    for (const { name, version, count } of checked) {
      const found = this.sql
        .exec<{ version: number }>(
          "SELECT version FROM live WHERE kind = ? AND name = ?",
          kind,
          name,
        )
        .toArray()[0];
      if (found?.version === version) this.write(kind, name, count);
    }
  }

  private write(kind: Kind, name: string, count: number): void {
    const now = Date.now();
    if (count <= 0) {
      this.sql.exec("DELETE FROM live WHERE kind = ? AND name = ?", kind, name);
      return;
    }
    this.sql.exec(
      `INSERT INTO live (kind, name, count, since, updated, version) VALUES (?, ?, ?, ?, ?, 1)
       ON CONFLICT (kind, name) DO UPDATE SET
         count = excluded.count, updated = excluded.updated, version = version + 1`,
      kind,
      name,
      count,
      now,
      now,
    );
  }

  async list(query: ListQuery): Promise<Listing> {
    const { kind, prefix, sort, limit } = query;
    // Names are ASCII letters, digits and ". _ -", all below "~".
    const range = "kind = ? AND name >= ? AND name < ?";
    const bounds = [kind, prefix, `${prefix}~`];
    const page =
      sort === "name"
        ? this.sql.exec<Entry>(
            `SELECT name, count, since, updated, version FROM live WHERE ${range} AND name > ?
             ORDER BY name LIMIT ?`,
            ...bounds,
            query.after ?? "",
            limit + 1,
          )
        : this.byOccupancy(range, bounds, query.after, limit + 1);
    const rows = page.toArray();
    const entries = rows.slice(0, limit);
    const last = entries.at(-1);
    const next =
      rows.length > limit && last
        ? sort === "name"
          ? last.name
          : `${last.count}:${last.name}`
        : null;
    const total = this.sql
      .exec<{ entries: number; members: number | null }>(
        `SELECT count(*) AS entries, sum(count) AS members FROM live WHERE ${range}`,
        ...bounds,
      )
      .one();
    return { entries, next, total: { entries: total.entries, members: total.members ?? 0 } };
  }

  private byOccupancy(range: string, bounds: string[], after: string | undefined, limit: number) {
    const select = "SELECT name, count, since, updated, version FROM live";
    const order = "ORDER BY count DESC, name LIMIT ?";
    const cursor = after === undefined ? undefined : OCCUPANCY_CURSOR.exec(after);
    if (!cursor) return this.sql.exec<Entry>(`${select} WHERE ${range} ${order}`, ...bounds, limit);
    const count = Number(cursor[1]);
    return this.sql.exec<Entry>(
      `${select} WHERE ${range} AND (count < ? OR (count = ? AND name > ?)) ${order}`,
      ...bounds,
      count,
      count,
      cursor[2] ?? "",
      limit,
    );
  }
}

/** Whether `cursor` can continue a list in `sort` order. */
export function validCursor(sort: Sort, cursor: string): boolean {
  return sort === "name" || OCCUPANCY_CURSOR.test(cursor);
}
