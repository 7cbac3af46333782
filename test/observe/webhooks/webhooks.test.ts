import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LEGACY_SIGNATURE_HEADER, LEGACY_TIMESTAMP_HEADER } from "../../../src/observe/signature";
import { BATCH_MS, RETRY_MS } from "../../../src/observe/webhooks";
import { freshRoom, join } from "../../client";
import { until } from "../list";
import { alarm, alarmOf, frozenAhead, hang, namesOf, receiver, SECRET } from "./receiver";

/** Longer than any retry's wait, jitter included. */
const past = (tries: number) => Math.ceil((RETRY_MS[tries - 1] ?? 0) * 1.1) + 1;
const down = () => new Response("deploying", { status: 503 });
const ok = () => new Response("ok");

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("webhooks", { timeout: 30_000 }, () => {
  it("tells occupied, added, removed and vacated, batched and signed", async () => {
    const hooks = receiver();
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    bob.client.close();
    await ada.client.next("leave");
    ada.client.close();
    // The room's alarm fires by itself, BATCH_MS after the first event.
    await until(
      async () => hooks.kept.some((e) => e.room === room && e.name === "room_vacated"),
      "vacated",
    );

    expect(namesOf(hooks.kept, room)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
      ["member_added", bob.welcome.id],
      ["member_removed", bob.welcome.id],
      ["member_removed", ada.welcome.id],
      ["room_vacated", undefined],
    ]);
    // Six events, gathered over BATCH_MS, in fewer POSTs than events.
    expect(hooks.tries.length).toBeLessThan(6);
    // Every POST passed the standardwebhooks library's check (receiver.ts).
    expect(hooks.refused).toEqual([]);
    for (const delivery of hooks.tries) {
      expect(JSON.parse(delivery.body).id).toBe(delivery.id);
      expect(await legacyValid(SECRET, delivery.headers, delivery.body)).toBe(true);
    }
    // Nothing pending: no alarm left.
    await until(async () => (await alarmOf(room)) === null, "no alarm");
  });

  it("a receiver down for a minute gets every event afterwards, in order, each batch once", async () => {
    const clock = frozenAhead();
    let up = false;
    const hooks = receiver(async () => (up ? ok() : down()));
    const room = freshRoom();
    const ada = await join(room, "ada");
    clock.advance(BATCH_MS);
    expect(await alarm(room)).toBe(true);
    const bob = await join(room, "bob");
    await ada.client.next("join");
    clock.advance(past(1));
    await alarm(room);
    bob.client.close();
    await ada.client.next("leave");
    expect(hooks.tries).toHaveLength(2);

    // A minute in, still down; the next try is not due yet, so a wake sends nothing.
    clock.advance(60_000 - past(1) - BATCH_MS);
    await alarm(room);
    expect(hooks.tries).toHaveLength(2);
    up = true;
    clock.advance(past(2));
    await alarm(room);

    expect(namesOf(hooks.kept, room)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
      ["member_added", bob.welcome.id],
      ["member_removed", bob.welcome.id],
    ]);
    // The first batch kept its id and its events over its three tries.
    const [first, second, third] = hooks.tries;
    expect(second?.id).toBe(first?.id);
    expect(third?.id).toBe(first?.id);
    expect(third?.events).toEqual(first?.events);
    expect(hooks.refused).toEqual([]);
    expect(await alarmOf(room)).toBeNull();
  });

  it("a receiver that hangs is cut off, never holds up the room, and gets everything later", async () => {
    const clock = frozenAhead();
    let hanging = true;
    const hooks = receiver(async (_, signal) => (hanging ? hang(signal) : ok()));
    const room = freshRoom();
    const ada = await join(room, "ada");
    clock.advance(BATCH_MS);
    const cutOff = alarm(room);
    await until(async () => hooks.tries.length === 1, "the webhook in flight");
    // While it hangs: joins are welcomed and announced, messages and acks flow.
    const bob = await join(room, "bob");
    await ada.client.next("join", (f) => f.peer.id === bob.welcome.id);
    for (let i = 0; i < 5; i++) ada.client.send({ type: "broadcast", data: i, id: `m${i}` });
    await bob.client.until(() => bob.client.all("message").length === 5, "five messages");
    await ada.client.until(() => ada.client.all("ack").length === 5, "five acks");
    bob.client.close();
    await ada.client.next("leave");
    await cutOff;

    hanging = false;
    clock.advance(past(1));
    await alarm(room);
    expect(namesOf(hooks.kept, room)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
      ["member_added", bob.welcome.id],
      ["member_removed", bob.welcome.id],
    ]);
    expect(hooks.tries[1]?.id).toBe(hooks.tries[0]?.id);
  });

  it("a room evicted with a batch pending loses nothing", async () => {
    const clock = frozenAhead();
    let up = false;
    const hooks = receiver(async () => (up ? ok() : down()));
    const room = freshRoom();
    const ada = await join(room, "ada");
    clock.advance(BATCH_MS);
    await alarm(room);
    await evictDurableObject(env.ROOMS.getByName(room));
    const bob = await join(room, "bob");
    await ada.client.next("join");
    await evictDurableObject(env.ROOMS.getByName(room));

    up = true;
    clock.advance(past(1));
    expect(await alarm(room)).toBe(true);
    expect(namesOf(hooks.kept, room)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
      ["member_added", bob.welcome.id],
    ]);
    expect(hooks.tries[1]?.id).toBe(hooks.tries[0]?.id);
  });

  it("a room restarted with a batch pending loses nothing", async () => {
    const clock = frozenAhead();
    let up = false;
    const hooks = receiver(async () => (up ? ok() : down()));
    const room = freshRoom();
    const ada = await join(room, "ada");
    const bob = await join(room, "bob");
    await ada.client.next("join");
    clock.advance(BATCH_MS);
    await alarm(room);
    // A restart: the object and its sockets are gone; storage and the alarm stay.
    await evictDurableObject(env.ROOMS.getByName(room), { webSockets: "close" });

    up = true;
    clock.advance(past(1));
    expect(await alarm(room)).toBe(true);
    expect(namesOf(hooks.kept, room).slice(0, 3)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
      ["member_added", bob.welcome.id],
    ]);
    expect(hooks.tries[1]?.id).toBe(hooks.tries[0]?.id);
  });

  it("sends the same headers a Standard Webhooks library checks, and refuses none", async () => {
    const hooks = receiver();
    const room = freshRoom();
    await join(room, "ada");
    await until(async () => hooks.tries.length === 1, "a delivery");
    const { headers } = hooks.tries[0] ?? { headers: new Headers() };
    expect(headers.get("webhook-signature")).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Math.abs(Number(headers.get("webhook-timestamp")) - Date.now() / 1000)).toBeLessThan(60);
    expect(hooks.refused).toEqual([]);
  });
});

/** The deprecated `X-Relay-Signature` check, as receivers written before Standard Webhooks do it. */
async function legacyValid(secret: string, headers: Headers, body: string): Promise<boolean> {
  const { keyBytes } = await import("../../../src/observe/signature");
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const timestamp = headers.get(LEGACY_TIMESTAMP_HEADER) ?? "";
  const text = `${timestamp}.${body}`;
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return headers.get(LEGACY_SIGNATURE_HEADER) === `v1=${hex}`;
}
