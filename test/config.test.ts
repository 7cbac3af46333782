import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, readLimits } from "../src/config";

describe("limits from env vars", () => {
  it("reads positive integers", () => {
    expect(readLimits({ MAX_MESSAGE_BYTES: "1024", MAX_CONNECTIONS_PER_ROOM: " 7 " })).toEqual({
      maxMessageBytes: 1024,
      maxConnectionsPerRoom: 7,
    });
  });

  it("uses the defaults when nothing is set", () => {
    expect(readLimits({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toEqual({ maxMessageBytes: 65536, maxConnectionsPerRoom: 10000 });
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
