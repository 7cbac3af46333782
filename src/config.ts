/**
 * Configuration comes from `[vars]` and secrets as strings. A value that is not
 * a valid number must never take the relay down, so it falls back to the
 * default with a logged warning.
 */
import { warn } from "./log";

export type Limits = {
  /** Largest text frame, in UTF-8 bytes, that a client may send. */
  maxMessageBytes: number;
  /** Open sessions one room accepts before refusing upgrades. */
  maxConnectionsPerRoom: number;
  /** Open sessions without a token that one room accepts from one client address. */
  maxConnectionsPerIp: number;
  /** Broadcasts kept for resume; 0 turns history off. */
  historySize: number;
  historyTtlSeconds: number;
  /** How long a message id is remembered for deduplication. */
  dedupSeconds: number;
  ratePerSecond: number;
  rateBurst: number;
  /** Members announced one by one (join, leave, presence); later ones only count in `occupancy`. */
  presenceMax: number;
};

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 65536,
  maxConnectionsPerRoom: 10000,
  maxConnectionsPerIp: 100,
  historySize: 1000,
  historyTtlSeconds: 600,
  dedupSeconds: 600,
  ratePerSecond: 20,
  rateBurst: 40,
  presenceMax: 100,
};

/** When a room spreads its sockets over shards (src/big-rooms/, docs/large-rooms.md). */
export type ShardLimits = {
  /** Shards every room has from its first connection; 0 lets each room decide by load. */
  shardCount: number;
  /** Sessions at which a room starts sharding. */
  shardAtSessions: number;
  /** Incoming client frames per second (over 10 s) at which a room starts sharding. */
  shardAtFrames: number;
  /** Shards a room that decided by load spreads over. */
  shardsByLoad: number;
};

export const DEFAULT_SHARD_LIMITS: ShardLimits = {
  shardCount: 0,
  shardAtSessions: 5000,
  shardAtFrames: 500,
  shardsByLoad: 8,
};

export function readShardLimits(env: Vars): ShardLimits {
  const d = DEFAULT_SHARD_LIMITS;
  return {
    shardCount: number(env, "SHARD_COUNT", 0, d.shardCount),
    shardAtSessions: number(env, "SHARD_AT_SESSIONS", 1, d.shardAtSessions),
    shardAtFrames: number(env, "SHARD_AT_FRAMES", 1, d.shardAtFrames),
    shardsByLoad: number(env, "SHARDS_BY_LOAD", 1, d.shardsByLoad),
  };
}

/** Multiplexed connections (src/hubs/, docs/multiplex.md). */
export type HubLimits = {
  /** Hubs the connections are spread over, by client id. */
  hubCount: number;
  /** Rooms one connection may be subscribed to at once. */
  roomsPerConnection: number;
};

export const DEFAULT_HUB_LIMITS: HubLimits = {
  // A broadcast costs one call per hub holding members of the room: 8 keeps a
  // room of 50 at most 8 calls, and 8 one-threaded hubs carry ~40,000 clients
  // at the ~5,000 sockets a process kept up with here (docs/multiplex.md).
  hubCount: 8,
  // Subscriptions live in the socket's attachment (16 KiB): 64 of the longest
  // room names fit with room to spare; Centrifugo allows 128, Ably 200.
  roomsPerConnection: 64,
};

export function readHubLimits(env: Vars): HubLimits {
  const d = DEFAULT_HUB_LIMITS;
  return {
    hubCount: number(env, "HUB_COUNT", 1, d.hubCount),
    roomsPerConnection: number(env, "ROOMS_PER_CONNECTION", 1, d.roomsPerConnection),
  };
}

/** A Worker's env, whose `[vars]` are read by name. */
export type Vars = object;

/** A var, secret or binding of `env` by name; undefined when the Worker has none. */
export function read(env: Vars, name: string): unknown {
  return (env as Record<string, unknown>)[name];
}

/** A secret by name; an empty one counts as unset. */
export function secret(env: Vars, name: string): string | undefined {
  const value = read(env, name);
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function readLimits(env: Vars): Limits {
  const historyTtlSeconds = number(env, "HISTORY_TTL_SECONDS", 1, DEFAULT_LIMITS.historyTtlSeconds);
  return {
    maxMessageBytes: number(env, "MAX_MESSAGE_BYTES", 1, DEFAULT_LIMITS.maxMessageBytes),
    maxConnectionsPerRoom: number(
      env,
      "MAX_CONNECTIONS_PER_ROOM",
      1,
      DEFAULT_LIMITS.maxConnectionsPerRoom,
    ),
    maxConnectionsPerIp: number(
      env,
      "MAX_CONNECTIONS_PER_IP",
      1,
      DEFAULT_LIMITS.maxConnectionsPerIp,
    ),
    historySize: number(env, "HISTORY_SIZE", 0, DEFAULT_LIMITS.historySize),
    historyTtlSeconds,
    dedupSeconds: number(env, "DEDUP_SECONDS", 1, historyTtlSeconds),
    ratePerSecond: number(env, "RATE_LIMIT_PER_SECOND", 1, DEFAULT_LIMITS.ratePerSecond),
    rateBurst: number(env, "RATE_LIMIT_BURST", 1, DEFAULT_LIMITS.rateBurst),
    presenceMax: number(env, "PRESENCE_MAX", 0, DEFAULT_LIMITS.presenceMax),
  };
}

/** `ALLOWED_ORIGINS` as a list; an unset value allows every origin. */
export function allowedOrigins(env: Vars): string[] {
  const origins = read(env, "ALLOWED_ORIGINS");
  const raw = typeof origins === "string" ? origins : "*";
  return raw
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
}

function number(env: Vars, name: string, min: number, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined || raw === "") return fallback;
  const value = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (Number.isSafeInteger(value) && value >= min) return value;
  warn("bad_config", { name, value: String(raw), using: fallback });
  return fallback;
}

/** Limits of a Yjs document (src/documents/); frames are capped by MAX_MESSAGE_BYTES. */
export type DocLimits = {
  /** Largest encoded document, in bytes, that a document accepts updates up to. */
  maxDocBytes: number;
  /** Per-socket token bucket for frames other than updates (awareness, sync step 1). */
  ratePerSecond: number;
  rateBurst: number;
  /**
   * Per-socket token bucket for updates, in bytes: each update frame costs its
   * size, and at least UPDATE_FLOOR_BYTES, so tiny frames still pay for the
   * event each one is. The burst takes a script's or an import's thousands of
   * separate edits whole: a socket closed mid-burst loses what was in flight
   * unless its provider reconnects.
   */
  updateBytesPerSecond: number;
  updateBytesBurst: number;
};

/** The least an update frame is charged, in bytes: a one-character edit is about 20. */
export const UPDATE_FLOOR_BYTES = 64;

export const DEFAULT_DOC_LIMITS: DocLimits = {
  // About 17x in memory as a Y.Doc when fragmented by random edits: ~35 MB of
  // the isolate's 128 MB, and a load of about 2 s on a slow core (README).
  maxDocBytes: 2 * 1024 * 1024,
  ratePerSecond: 60,
  rateBurst: 300,
  // 1 MiB: 16,384 one-character edits at the floor, about 0.3 s of the object's CPU here.
  updateBytesPerSecond: 64 * 1024,
  updateBytesBurst: 1024 * 1024,
};

export function readDocLimits(env: Vars): DocLimits {
  return {
    maxDocBytes: number(env, "MAX_DOC_BYTES", 1, DEFAULT_DOC_LIMITS.maxDocBytes),
    ratePerSecond: number(env, "DOC_RATE_LIMIT_PER_SECOND", 1, DEFAULT_DOC_LIMITS.ratePerSecond),
    rateBurst: number(env, "DOC_RATE_LIMIT_BURST", 1, DEFAULT_DOC_LIMITS.rateBurst),
    updateBytesPerSecond: number(
      env,
      "DOC_RATE_LIMIT_BYTES_PER_SECOND",
      1,
      DEFAULT_DOC_LIMITS.updateBytesPerSecond,
    ),
    updateBytesBurst: number(
      env,
      "DOC_RATE_LIMIT_BYTES_BURST",
      1,
      DEFAULT_DOC_LIMITS.updateBytesBurst,
    ),
  };
}
