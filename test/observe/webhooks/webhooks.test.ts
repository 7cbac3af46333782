import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BACKOFF_MS,
  BATCH_MS,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type WebhookEvent,
} from "../../../src/observe/webhooks";
import { freshRoom, join } from "../../client";
import { until } from "../list";

const URL_ = "http://hooks.test/relay";
const SECRET = "test-webhook-secret";

type Delivery = {
  id: string;
  events: WebhookEvent[];
  timestamp: string;
  signature: string;
  body: string;
};

/**
 * A local receiver: the room's outbound fetch to the webhook URL lands here
 * (the tests share the room's isolate, so a mock of `fetch` reaches it).
 * `answer` decides each try; by default it takes the batch.
 */
function receiver(answer: (tries: number) => Promise<Response> = async () => new Response("ok")) {
  const tries: Delivery[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== URL_) return real(input, init);
    const body = await request.text();
    const { id, events } = JSON.parse(body) as { id: string; events: WebhookEvent[] };
    const headers = request.headers;
    const timestamp = headers.get(TIMESTAMP_HEADER) ?? "";
    tries.push({ id, events, timestamp, signature: headers.get(SIGNATURE_HEADER) ?? "", body });
    return answer(tries.length);
  });
  /** Each batch once, as the receiver would keep it: retries of an id are the same batch. */
  const taken = () => [...new Map(tries.map((t) => [t.id, t])).values()];
  return { tries, taken };
}

/** The receiver's check, as docs/observe.md shows it (there in Node's crypto). */
async function verify(secret: string, delivery: Delivery): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const text = `${delivery.timestamp}.${delivery.body}`;
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return delivery.signature === `v1=${hex}`;
}

const namesFor = (events: WebhookEvent[], room: string) =>
  events.filter((e) => e.room === room).map((e) => [e.name, e.session]);

afterEach(() => {
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
    const all = () => hooks.tries.flatMap((t) => t.events);
    await until(
      async () => all().some((e) => e.room === room && e.name === "room_vacated"),
      "vacated",
    );

    expect(namesFor(all(), room)).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
      ["member_added", bob.welcome.id],
      ["member_removed", bob.welcome.id],
      ["member_removed", ada.welcome.id],
      ["room_vacated", undefined],
    ]);
    // Six events, gathered over BATCH_MS, in fewer POSTs than events.
    expect(hooks.tries.length).toBeLessThan(6);
    for (const delivery of hooks.tries) {
      expect(await verify(SECRET, delivery)).toBe(true);
      expect(await verify("another-secret", delivery)).toBe(false);
      expect(Math.abs(Number(delivery.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    }
  });

  it("retries a batch the receiver failed, with the same id, until it takes it", async () => {
    const hooks = receiver(async (tries) => {
      if (tries === 1) return new Response("busy", { status: 503 });
      if (tries === 2) throw new TypeError("connection refused");
      return new Response("ok");
    });
    const room = freshRoom();
    const ada = await join(room, "ada");
    const wait = BATCH_MS + (BACKOFF_MS[0] ?? 0) + (BACKOFF_MS[1] ?? 0);
    await until(async () => hooks.tries.length === 3, "three tries", wait * 3);
    expect(new Set(hooks.tries.map((t) => t.id)).size).toBe(1);
    expect(
      namesFor(
        hooks.taken().flatMap((t) => t.events),
        room,
      ),
    ).toEqual([
      ["room_occupied", undefined],
      ["member_added", ada.welcome.id],
    ]);
  });

  it("a receiver that hangs never holds up the room", async () => {
    let hanging = 0;
    receiver(async () => {
      hanging += 1;
      return new Promise<Response>(() => {}); // never answers
    });
    const room = freshRoom();
    const ada = await join(room, "ada");
    await until(async () => hanging === 1, "the webhook in flight");
    // While it hangs: joins are welcomed and announced, messages and acks flow.
    const bob = await join(room, "bob");
    await ada.client.next("join", (f) => f.peer.id === bob.welcome.id);
    for (let i = 0; i < 5; i++) ada.client.send({ type: "broadcast", data: i, id: `m${i}` });
    await bob.client.until(() => bob.client.all("message").length === 5, "five messages");
    await ada.client.until(() => ada.client.all("ack").length === 5, "five acks");
    bob.client.close();
    await ada.client.next("leave");
    expect(hanging).toBe(1);
  });
});
