import { describe, expect, it, vi } from "vitest";
import { allowedOrigins, DEFAULT_LIMITS, readLimits } from "../src/config";

describe("limits from env vars", () => {
  it("reads positive integers", () => {
    expect(readLimits({ MAX_MESSAGE_BYTES: "1024", MAX_CONNECTIONS_PER_ROOM: " 7 " })).toEqual({
      ...DEFAULT_LIMITS,
      maxMessageBytes: 1024,
      maxConnectionsPerRoom: 7,
    });
  });

  it("uses the defaults when nothing is set", () => {
    expect(readLimits({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toEqual({
      maxMessageBytes: 65536,
      maxConnectionsPerRoom: 10000,
      maxConnectionsPerIp: 100,
      historySize: 1000,
      historyTtlSeconds: 600,
      dedupSeconds: 600,
      ratePerSecond: 20,
      rateBurst: 40,
      presenceMax: 100,
    });
  });

  it("accepts 1, the smallest positive integer", () => {
    expect(readLimits({ MAX_MESSAGE_BYTES: "1", RATE_LIMIT_BURST: "1" })).toMatchObject({
      maxMessageBytes: 1,
      rateBurst: 1,
    });
  });

  it("logs a bad_config warning naming the variable it ignored", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      readLimits({ MAX_MESSAGE_BYTES: "lots" });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(warn.mock.calls[0]?.[0]))).toMatchObject({
        level: "warn",
        event: "bad_config",
        name: "MAX_MESSAGE_BYTES",
        value: "lots",
        using: 65536,
      });
    } finally {
      warn.mockRestore();
    }
  });

  it("allows HISTORY_SIZE=0, which turns history off", () => {
    expect(readLimits({ HISTORY_SIZE: "0" }).historySize).toBe(0);
  });

  it("remembers message ids as long as history by default", () => {
    expect(readLimits({ HISTORY_TTL_SECONDS: "30" }).dedupSeconds).toBe(30);
    expect(readLimits({ HISTORY_TTL_SECONDS: "30", DEDUP_SECONDS: "90" }).dedupSeconds).toBe(90);
  });

  it("splits ALLOWED_ORIGINS and allows every origin when unset", () => {
    expect(allowedOrigins({ ALLOWED_ORIGINS: "https://a.example, https://b.example" })).toEqual([
      "https://a.example",
      "https://b.example",
    ]);
    expect(allowedOrigins({})).toEqual(["*"]);
  });

  it.each(["abc", "0", "-5", "1.5", "NaN", "1e400", "99999999999999999999"])(
    "falls back to the default for %s",
    (bad) => {
      expect(readLimits({ MAX_MESSAGE_BYTES: bad, MAX_CONNECTIONS_PER_ROOM: bad })).toEqual(
        DEFAULT_LIMITS,
      );
    },
  );
});
