/**
 * The relay's own tables in a Durable Object's SQLite all start with `relay_`
 * (Cloudflare keeps `_cf_` for itself), so a subclass may keep tables of its
 * own beside them (docs/server.md). Objects created before the prefix keep
 * their data: their tables are renamed the first time they are opened.
 */

/**
 * Renames each table of `renames` (old name to new) that exists while its new
 * name is free. Returns whether any was renamed; indexes move with their
 * table under their old names, so the caller replaces those.
 */
export function moveUnderPrefix(sql: SqlStorage, renames: Record<string, string>): boolean {
  const names = [...Object.keys(renames), ...Object.values(renames)];
  const present = new Set(
    sql
      .exec<{ name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${names.map(() => "?").join(", ")})`,
        ...names,
      )
      .toArray()
      .map((row) => row.name),
  );
  let moved = false;
  for (const [from, to] of Object.entries(renames)) {
    if (!present.has(from) || present.has(to)) continue;
    sql.exec(`ALTER TABLE ${from} RENAME TO ${to}`);
    moved = true;
  }
  return moved;
}
