import { describe, expect, it } from "vitest";
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
    });
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
