/**
 * Whether a room is one object or a sequencer with shards, and which shard a
 * connection goes to. The room decides (from its sessions and its incoming
 * frame rate, or `SHARD_COUNT`) and keeps the decision in its storage; the
 * Worker learns it from the room's answer to an upgrade and caches it
 * briefly, so a busy room is asked at most once per isolate per few seconds.
 * Nothing is moved by force: a change applies to new connections, and
 * sockets move only by reconnecting, which resume makes exactly once.
 */
import type { ShardLimits } from "../config";

/** The room's answer to an upgrade it wants a shard to take. */
export const SHARDS_HEADER = "x-relay-shards";

/** How long a room must stay small before it stops sharding. */
const SHRINK_AFTER_MS = 10 * 60_000;
/** The window over which the incoming frame rate is measured. */
const RATE_WINDOW_MS = 10_000;

export class Layout {
  private count: number;
  private frames = 0;
  private windowStart = Date.now();
  private rate = 0;
  private smallSince: number | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly limits: ShardLimits,
    /** False when the Worker has no shard binding: the room never shards. */
    private readonly possible: boolean,
  ) {
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_layout'").toArray();
    const stored = exists.length
      ? sql.exec<{ shards: number }>("SELECT shards FROM relay_layout").one().shards
      : 0;
    this.count = possible ? limits.shardCount || stored : 0;
  }

  /** Shards new connections go to; 0 when the room holds them itself. */
  get shards(): number {
    return this.count;
  }

  /** Counts incoming client frames, for the rate that makes a room shard. */
  counted(frames: number, now = Date.now()): void {
    this.frames += frames;
    if (now - this.windowStart < RATE_WINDOW_MS) return;
    this.rate = (this.frames * 1000) / (now - this.windowStart);
    this.frames = 0;
    this.windowStart = now;
  }

  /** Decides, as a connection arrives, where it goes; `sessions` counts the whole room. */
  decide(sessions: number, now = Date.now()): number {
    const { shardCount, shardAtSessions, shardAtFrames, shardsByLoad } = this.limits;
    if (!this.possible || shardCount > 0) return this.count;
    if (this.count === 0 && (sessions >= shardAtSessions || this.rate >= shardAtFrames)) {
      this.store(shardsByLoad);
    } else if (this.count > 0 && sessions < shardAtSessions / 4 && this.rate < shardAtFrames / 4) {
      this.smallSince ??= now;
      if (now - this.smallSince >= SHRINK_AFTER_MS) this.store(0);
    } else {
      this.smallSince = undefined;
    }
    return this.count;
  }

  private store(shards: number): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS relay_layout (shards INTEGER NOT NULL)");
    this.sql.exec("DELETE FROM relay_layout");
    this.sql.exec("INSERT INTO relay_layout VALUES (?)", shards);
    this.count = shards;
    this.smallSince = undefined;
  }
}

/** The shard a client goes to: the same one each time for the same client id. */
export function shardOf(client: string | undefined, shards: number): number {
  if (client === undefined) return Math.floor(Math.random() * shards);
  let hash = 2166136261;
  for (let i = 0; i < client.length; i++) {
    hash = Math.imul(hash ^ client.charCodeAt(i), 16777619);
  }
  return (hash >>> 0) % shards;
}

/** The name of a room's shard; the `#` never appears in a room name, so it cannot collide. */
export function shardName(room: string, index: number): string {
  return `${room}#${index}`;
}

/** What a shard's name says: its room and its index. */
export function parseShardName(name: string): { room: string; index: number } {
  const at = name.lastIndexOf("#");
  return { room: name.slice(0, at), index: Number(name.slice(at + 1)) };
}

const CACHE_MS = 5000;
const cache = new Map<string, { shards: number; until: number }>();

/**
 * Where the Worker sends a room's upgrade: the room, or one of its shards.
 * The room is asked unless the answer is cached; a room that wants a shard
 * to take the connection answers with `SHARDS_HEADER` instead of a socket.
 */
export async function connect(
  room: string,
  client: string | undefined,
  ask: () => Promise<Response>,
  toShard: (index: number) => Promise<Response>,
  forced: number,
  now = Date.now(),
): Promise<Response> {
  const known = forced || cachedShards(room, now);
  if (known) return toShard(shardOf(client, known));
  const answer = await ask();
  const shards = Number(answer.headers.get(SHARDS_HEADER) ?? 0);
  if (!shards) return answer;
  cache.set(room, { shards, until: now + CACHE_MS });
  return toShard(shardOf(client, shards));
}

function cachedShards(room: string, now: number): number {
  const entry = cache.get(room);
  if (!entry) return 0;
  if (entry.until > now) return entry.shards;
  cache.delete(room);
  return 0;
}
