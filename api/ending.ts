/**
 * Ending sessions and keeping users out, the same for a room and a document
 * (`/rooms/:name/...` and `/docs/:name/...`, src/ending.ts): kick, ban,
 * unban, and the list of bans.
 */
import { type ApiResult, mapValue } from "./result";
import type { Transport } from "./transport";
import type { Ban, Banned, Kicked, KickTarget, Unbanned } from "./types";

/**
 * Kick, ban, unban and the bans in force, on a room (`RoomApi`) or a document (`DocumentApi`).
 *
 * @example
 * for (const holder of [api.room("lobby"), api.doc("notes")]) await holder.ban("mallory", 3600);
 */
export class Ending {
  /** `path` is the holder's path under the relay, e.g. `/rooms/lobby`. */
  constructor(
    protected readonly transport: Transport,
    protected readonly path: string,
  ) {}

  /**
   * Closes one session, or every session of one user, with code 4410 and
   * `reason` (at most 123 UTF-8 bytes). `closed` is 0 when nobody matched.
   *
   * @example
   * await api.room("lobby").kick({ user: "mallory" }, "spamming");
   */
  kick(target: KickTarget, reason?: string): Promise<ApiResult<Kicked>> {
    const body = { ...target, reason };
    return this.transport.json({
      method: "POST",
      path: `${this.path}/kick`,
      body,
      repeatable: false,
    });
  }

  /**
   * Keeps `user` out for `seconds` (1 to 315,360,000) and closes their open
   * sessions; a new ban of the same user replaces the old one.
   *
   * @example
   * const banned = await api.room("lobby").ban("mallory", 3600, "an hour out");
   * if (banned.ok) console.log("until", new Date(banned.value.until));
   */
  ban(user: string, seconds: number, reason?: string): Promise<ApiResult<Banned>> {
    const body = { user, seconds, reason };
    return this.transport.json({
      method: "POST",
      path: `${this.path}/bans`,
      body,
      repeatable: false,
    });
  }

  /**
   * Lifts `user`'s ban; `lifted` is false when there was none.
   *
   * @example
   * await api.room("lobby").unban("mallory");
   */
  unban(user: string): Promise<ApiResult<Unbanned>> {
    const path = `${this.path}/bans/${encodeURIComponent(user)}`;
    return this.transport.json({ method: "DELETE", path, repeatable: true });
  }

  /**
   * The bans in force.
   *
   * @example
   * const bans = await api.room("lobby").bans();
   * if (bans.ok) for (const ban of bans.value) console.log(ban.user, ban.reason);
   */
  async bans(): Promise<ApiResult<Ban[]>> {
    const path = `${this.path}/bans`;
    const listed = await this.transport.json<{ bans: Ban[] }>({
      method: "GET",
      path,
      repeatable: true,
    });
    return mapValue(listed, (value) => value.bans);
  }
}
