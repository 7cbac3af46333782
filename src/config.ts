/**
 * Limits come from `[vars]` (or `wrangler dev --var NAME:VALUE`) as strings.
 * A value that is not a positive integer must never take the relay down, so
 * it falls back to the default with a logged warning.
 */
import { warn } from "./log";

export type Limits = {
  /** Largest text frame, in UTF-8 bytes, that a client may send. */
  maxMessageBytes: number;
  /** Open sessions one room accepts before refusing upgrades. */
  maxConnectionsPerRoom: number;
};

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 65536,
  maxConnectionsPerRoom: 10000,
};

export function readLimits(env: Partial<Record<keyof Env, unknown>>): Limits {
  return {
    maxMessageBytes: positiveInt(
      "MAX_MESSAGE_BYTES",
      env.MAX_MESSAGE_BYTES,
      DEFAULT_LIMITS.maxMessageBytes,
    ),
    maxConnectionsPerRoom: positiveInt(
      "MAX_CONNECTIONS_PER_ROOM",
      env.MAX_CONNECTIONS_PER_ROOM,
      DEFAULT_LIMITS.maxConnectionsPerRoom,
    ),
  };
}

function positiveInt(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (Number.isSafeInteger(value) && value > 0) return value;
  warn("bad_config", { name, value: String(raw), using: fallback });
  return fallback;
}
