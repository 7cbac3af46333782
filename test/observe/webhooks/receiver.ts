/**
 * A webhook receiver for the tests, as docs/observe.md tells a backend to
 * write one: it verifies each POST with the `standardwebhooks` library and
 * keeps each `webhook-id` once. The room's outbound fetch to the webhook URL
 * lands here (the tests share the room's isolate, so a mock of `fetch`
 * reaches it).
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { vi } from "vitest";
import type { WebhookEvent } from "../../../src/observe/webhooks";
import type { Room } from "../../../src/room";
import { freezeClock } from "../../client";

export const HOOK_URL = "http://hooks.test/relay";
export const SECRET = (env as unknown as { WEBHOOK_SECRET: string }).WEBHOOK_SECRET;

/** One POST as it arrived. */
export type Try = { id: string; body: string; events: WebhookEvent[]; headers: Headers };

/** Answers a try: by default the receiver takes it. */
type Answer = (tries: number, signal: AbortSignal | undefined) => Promise<Response>;

export function receiver(answer: Answer = async () => new Response("ok")) {
  const verifier = new Webhook(SECRET);
  const tries: Try[] = [];
  /** POSTs whose signature or timestamp the library refused. */
  const refused: string[] = [];
  /** Events of each batch the receiver took, in arrival order, each id once. */
  const kept: WebhookEvent[] = [];
  const keptIds = new Set<string>();
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== HOOK_URL) return real(input, init);
    const body = await request.text();
    const headers = Object.fromEntries(request.headers);
    let payload: { id: string; events: WebhookEvent[] };
    try {
      payload = verifier.verify(body, headers) as typeof payload;
    } catch (error) {
      refused.push(String(error));
      return new Response("bad signature", { status: 401 });
    }
    const id = request.headers.get("webhook-id") ?? "";
    tries.push({ id, body, events: payload.events, headers: request.headers });
    const response = await answer(tries.length, init?.signal ?? undefined);
    // Dedupe by id: a retry of a batch it already took is answered 2xx and skipped.
    if (response.ok && !keptIds.has(id)) {
      keptIds.add(id);
      kept.push(...payload.events);
    }
    return response;
  });
  return { tries, refused, kept };
}

/** A receiver's answer that never comes: the request hangs until the relay gives up on it. */
export function hang(signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
}

/** The events of `room` as [name, session], in the order given. */
export const namesOf = (events: WebhookEvent[], room: string) =>
  events.filter((e) => e.room === room).map((e) => [e.name, e.session]);

/**
 * Freezes the clock a day ahead of the real one: the runtime fires alarms by
 * the real clock, so an alarm the room sets by the frozen one runs only when
 * a test calls `alarm()`.
 */
export function frozenAhead(): { advance(ms: number): void } {
  const clock = freezeClock();
  clock.advance(86_400_000);
  return clock;
}

/** Runs the room's alarm now, as the runtime would at its time; false when none was set. */
export function alarm(room: string): Promise<boolean> {
  return runDurableObjectAlarm(env.ROOMS.getByName(room));
}

/** The room's alarm, or null when it holds none. */
export function alarmOf(room: string): Promise<number | null> {
  return runInDurableObject(env.ROOMS.getByName(room), (_, state) => state.storage.getAlarm());
}

export function describeRoom(room: string) {
  return runInDurableObject(env.ROOMS.getByName(room), (instance: Room) => instance.describe());
}
