/**
 * With authentication on, a session with a token is accountable: it is not
 * counted against MAX_CONNECTIONS_PER_IP (default 100), only the upgrade budget.
 */
import { sign } from "hono/jwt";
import { expect, it } from "vitest";
import { freshRoom, upgrade } from "../client";

const DEFAULT_CAP = 100;

it("admits more than the per-address cap from one address when each has a token", async () => {
  const room = freshRoom();
  const token = await sign(
    { sub: "u-office", exp: Math.floor(Date.now() / 1000) + 60 },
    "test-auth-secret",
    "HS256",
  );
  for (let n = 0; n <= DEFAULT_CAP; n++) {
    const response = await upgrade(`/rooms/${room}/ws?token=${token}`, {
      "CF-Connecting-IP": "192.0.2.50",
    });
    expect(response.status).toBe(101);
    response.webSocket?.accept();
  }
}, 60_000);
