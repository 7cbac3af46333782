/**
 * Presence in a document: the latest awareness entry of every client id, and
 * which socket owns it (the socket whose update last set it). When a socket
 * goes, the ids it owns are removed for everyone at once, instead of waiting
 * out the clients' 30 s timeout. Each socket's owned entries are also kept in
 * its attachment, so a document that hibernated still knows them on wake.
 * The acceptance rule is y-protocols' own: a newer clock wins, and a removal
 * at the same clock wins over a state.
 */
import type { AwarenessEntry } from "./messages";

/** Entries as kept in an attachment: the state is left out when it would not fit. */
export type OwnedEntry = [client: number, clock: number, state: string | null];

/** Attachments are limited to 16 KiB; the rest of the attachment needs little. */
const MAX_KEPT_STATE_CHARS = 12 * 1024;
const REMOVED = "null";

type Known = { clock: number; state: string | undefined; owner: WebSocket };

export class Awareness {
  private readonly known = new Map<number, Known>();
  private readonly owned = new Map<WebSocket, Set<number>>();

  /** Takes back what a socket owned before the document hibernated. */
  restore(owner: WebSocket, entries: readonly OwnedEntry[]): void {
    for (const [client, clock, state] of entries) {
      this.set(client, { clock, state: state ?? undefined, owner });
    }
  }

  /** Applies a socket's update; answers the entries that changed something, to relay. */
  apply(owner: WebSocket, entries: readonly AwarenessEntry[]): AwarenessEntry[] {
    const accepted: AwarenessEntry[] = [];
    for (const entry of entries) {
      const known = this.known.get(entry.client);
      if (entry.state === REMOVED) {
        if (!known || entry.clock < known.clock) continue;
        this.forget(entry.client, known.owner);
      } else {
        if (entry.clock <= (known?.clock ?? 0)) continue;
        this.set(entry.client, { clock: entry.clock, state: entry.state, owner });
      }
      accepted.push(entry);
    }
    return accepted;
  }

  /** Forgets a socket's ids and answers their removals, to broadcast. */
  release(owner: WebSocket): AwarenessEntry[] {
    const removals: AwarenessEntry[] = [];
    for (const client of this.owned.get(owner) ?? []) {
      const known = this.known.get(client);
      if (!known) continue;
      this.known.delete(client);
      removals.push({ client, clock: known.clock + 1, state: REMOVED });
    }
    this.owned.delete(owner);
    return removals;
  }

  /** Every state known, for a joiner or a query. */
  all(): AwarenessEntry[] {
    const entries: AwarenessEntry[] = [];
    for (const [client, { clock, state }] of this.known) {
      if (state !== undefined) entries.push({ client, clock, state });
    }
    return entries;
  }

  /** What a socket owns, to keep in its attachment. */
  ownedBy(owner: WebSocket): OwnedEntry[] {
    const entries: OwnedEntry[] = [];
    let chars = 0;
    for (const client of this.owned.get(owner) ?? []) {
      const known = this.known.get(client);
      if (!known) continue;
      chars += known.state?.length ?? 0;
      const keep = known.state !== undefined && chars <= MAX_KEPT_STATE_CHARS;
      entries.push([client, known.clock, keep ? (known.state ?? null) : null]);
    }
    return entries;
  }

  private set(client: number, known: Known): void {
    const previous = this.known.get(client);
    if (previous && previous.owner !== known.owner) this.owned.get(previous.owner)?.delete(client);
    this.known.set(client, known);
    let ids = this.owned.get(known.owner);
    if (!ids) {
      ids = new Set();
      this.owned.set(known.owner, ids);
    }
    ids.add(client);
  }

  private forget(client: number, owner: WebSocket): void {
    this.known.delete(client);
    this.owned.get(owner)?.delete(client);
  }
}
