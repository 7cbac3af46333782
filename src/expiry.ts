/**
 * Tokens that expire on live sockets. A session whose identity has an expiry
 * holds a *term*: when it must be told to refresh, and when it ends. The
 * object that holds the session's membership (the room, for sockets here and
 * on shards alike) keeps one alarm at the earliest moment any term needs it,
 * so a hibernating room still wakes to warn and to close, and a room without
 * such sessions sets no alarm at all.
 */
import type { Identity, Refusal } from "./auth";
import { log } from "./log";

/** A session's grant in time, in ms since the epoch; `notice` is gone once the warning went out. */
export type Term = { expires: number; notice?: number };

/** How long before expiry a session is told to refresh. */
export const NOTICE_MS = 60_000;
/**
 * Warnings due this soon after the earliest one go out in the same wake: one
 * alarm for sessions whose tokens were issued moments apart.
 */
export const SLACK_MS = 5_000;

/**
 * A term from an expiry: warned a minute before, or halfway through when the
 * grant is shorter than two minutes, so a short token still gets its warning
 * in time to refresh.
 */
export function termOf(expires: number | undefined, now: number): Term | undefined {
  if (expires === undefined || !Number.isFinite(expires)) return undefined;
  const notice = Math.max(now + (expires - now) / 2, expires - NOTICE_MS);
  return { expires, notice: Math.floor(notice) };
}

/** When a term next needs its object awake. */
export function dueAt(term: Term): number {
  return term.notice ?? term.expires;
}

export function expired(term: Term | undefined, now: number): boolean {
  return term !== undefined && now >= term.expires;
}

/** What an object does for a term whose moment came. */
export type TermStep = "warn" | "end" | undefined;

export function stepOf(term: Term, now: number): TermStep {
  if (now >= term.expires) return "end";
  if (term.notice !== undefined && now + SLACK_MS >= term.notice) return "warn";
  return undefined;
}

/**
 * Sets the object's one alarm to `at` unless it is already set earlier, so
 * the relay's alarm and a subclass's share it (docs/server.md).
 */
export async function wakeAt(storage: DurableObjectStorage, at: number): Promise<void> {
  const current = await storage.getAlarm();
  if (current === null || at < current) await storage.setAlarm(at);
}

/**
 * The verdict on a token sent in-band: an identity takes it; a refusal with
 * status 403 ends the session as forbidden, any other refuses this refresh.
 */
export type RefreshVerdict = Identity | Refusal;

/** Runs a refresh hook; a throw refuses the refresh and is logged, never shown. */
export async function verdictOf(
  hook: () => RefreshVerdict | Promise<RefreshVerdict>,
  room: string,
): Promise<RefreshVerdict> {
  try {
    return await hook();
  } catch (error) {
    log("hook_error", { room, hook: "onRefresh", error: String(error) });
    return { status: 401, code: "unauthorized", message: "the token could not be checked" };
  }
}
