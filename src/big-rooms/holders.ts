/**
 * Who holds a room's remote sessions, numbered as the room's members table
 * and links number them: shard i of a big room is i (0, 1, …), hub i is
 * -1 - i. One number space lets the room keep one table of members and one
 * downlink per holder for both, so to a room shards and hubs are one thing.
 * A holder reads its number from its object's name; one reached by ID alone
 * (through a local dev registry's proxy) has none, and learns it from the
 * Worker's upgrade (`HOLDER_HEADER`) or the room's downlink, which say it.
 */

/** Which holder the Worker meant an upgrade for, as a holder number. */
export const HOLDER_HEADER = "x-relay-holder";

/**
 * The holder number an upgrade names, for an object reached by ID alone. An
 * object with a name reads its number there: the header carries the index
 * the Worker picked before a `shards` hook renamed the object, so it may not
 * be this object's.
 */
export function holderOf(request: Request, id: DurableObjectId): number | undefined {
  if (id.name !== undefined) return undefined;
  const value = request.headers.get(HOLDER_HEADER);
  const holder = value === null ? Number.NaN : Number(value);
  return Number.isSafeInteger(holder) ? holder : undefined;
}

/** The holder number of hub `index`. */
export function hubHolder(index: number): number {
  return -1 - index;
}

/** The hub a holder number names, or undefined for a shard. */
export function hubOf(holder: number): number | undefined {
  return holder < 0 ? -1 - holder : undefined;
}

/** The name of hub `index`'s Durable Object. */
export function hubName(index: number): string {
  return `hub-${index}`;
}

/** The index a hub's name says; 0 for a name not made by `hubName`. */
export function parseHubName(name: string | undefined): number {
  const index = Number(name?.slice("hub-".length));
  return Number.isSafeInteger(index) && index >= 0 ? index : 0;
}
