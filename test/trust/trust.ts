/** Helpers for the trust tests: tokens on a frozen clock, the room's alarm, the server API. */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { vi } from "vitest";
import { freezeClock, type TestClient } from "../client";

const SECRET = "test-auth-secret";
const DAY_MS = 86_400_000;

/**
 * Freezes the clock a day ahead of the real one. The runtime fires alarms by
 * the real clock, so an alarm the room sets by the frozen one is a day away
 * and runs only when a test calls `alarm()`: the test decides when time passes.
 */
export function frozenAhead(): { advance(ms: number): void } {
  const clock = freezeClock();
  clock.advance(DAY_MS);
  return clock;
}

export function thaw(): void {
  vi.useRealTimers();
}

/** A token for `sub` that expires `seconds` from the (frozen) now. */
export function token(sub: string, seconds: number, claims: Record<string, unknown> = {}) {
  return sign({ sub, exp: Math.floor(Date.now() / 1000) + seconds, ...claims }, SECRET, "HS256");
}

/** Runs the room's alarm now, as the runtime would at its time. */
export function alarm(room: string): Promise<boolean> {
  return runDurableObjectAlarm(env.ROOMS.getByName(room));
}

/** A server API call with the admin token. */
export function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return exports.default.fetch(`http://relay.test${path}`, {
    method,
    headers: { authorization: "Bearer test-admin-token" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Waits for a client's socket to close, and answers how. */
export async function closedOf(client: TestClient): Promise<{ code: number; reason: string }> {
  await client.until(() => client.closed !== undefined, "the close");
  return client.closed as { code: number; reason: string };
}

/** Broadcasts a marker from `from` and waits until `to` has it: every frame before it arrived. */
export async function settle(from: TestClient, to: TestClient, marker: string): Promise<void> {
  from.send({ type: "broadcast", data: marker });
  await to.next("message", (m) => m.data === marker);
}

/** Broadcasts with an id and waits for its ack: what the room sent this client before it has arrived. */
export async function roundTrip(client: TestClient, id: string): Promise<void> {
  client.send({ type: "broadcast", data: id, id });
  await client.next("ack", (ack) => ack.id === id);
}
