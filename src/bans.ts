/**
 * Users banned from one room or document for a while, in the object's SQLite
 * (table `relay_bans`), so a ban outlives hibernation, eviction and restarts.
 * Read on every upgrade with a user; a ban past its time is ignored and
 * removed the next time the list is read.
 */

export type Ban = { user: string; until: number; reason: string };

const SCHEMA = `CREATE TABLE IF NOT EXISTS relay_bans (
  user TEXT PRIMARY KEY, until INTEGER NOT NULL, reason TEXT NOT NULL)`;

export class Bans {
  /** Whether the table exists: a room that never banned anyone reads nothing. */
  private created: boolean;

  constructor(private readonly sql: SqlStorage) {
    const found = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_bans'").toArray();
    this.created = found.length > 0;
  }

  /** The ban that keeps `user` out at `now`, if any. */
  of(user: string | undefined, now: number): Ban | undefined {
    if (user === undefined || !this.created) return undefined;
    const rows = this.sql
      .exec<Ban>(
        "SELECT user, until, reason FROM relay_bans WHERE user = ? AND until > ?",
        user,
        now,
      )
      .toArray();
    return rows[0];
  }

  /** Keeps `user` out for `seconds` from `now`; answers when the ban ends. */
  ban(user: string, seconds: number, reason: string, now: number): number {
    const until = now + seconds * 1000;
    this.add({ user, until, reason });
    return until;
  }

  private add(ban: Ban): void {
    if (!this.created) this.sql.exec(SCHEMA);
    this.created = true;
    this.sql.exec(
      "INSERT OR REPLACE INTO relay_bans VALUES (?, ?, ?)",
      ban.user,
      ban.until,
      ban.reason,
    );
  }

  /** Lifts a ban; false when there was none. */
  lift(user: string): boolean {
    if (!this.created) return false;
    return this.sql.exec("DELETE FROM relay_bans WHERE user = ?", user).rowsWritten > 0;
  }

  /** The bans in force, and the old ones forgotten. */
  list(now: number): Ban[] {
    if (!this.created) return [];
    this.sql.exec("DELETE FROM relay_bans WHERE until <= ?", now);
    return this.sql.exec<Ban>("SELECT user, until, reason FROM relay_bans ORDER BY user").toArray();
  }
}

/** The refusal a banned user's upgrade gets. */
export function bannedMessage(ban: Ban): string {
  const until = new Date(ban.until).toISOString();
  return ban.reason ? `banned until ${until}: ${ban.reason}` : `banned until ${until}`;
}
