/**
 * Webhooks: a room tells your backend when it becomes occupied or vacated and
 * when a member is added or removed (Pusher's events, by name). Off unless
 * `WEBHOOK_URL` and `WEBHOOK_SECRET` are set. Events wait `BATCH_MS` and go
 * in one POST, signed with an HMAC-SHA256 of the timestamp and the body; a
 * failed POST is retried with backoff, then dropped and logged. Nothing in
 * the room waits for them, and a receiver that hangs is cut off after
 * `TIMEOUT_MS`, so a slow or failing receiver never touches a client frame.
 */
import { read, secret } from "../config";
import { log, warn } from "../log";
import type { Peer } from "../protocol";

export type WebhookEvent = {
  name: "room_occupied" | "room_vacated" | "member_added" | "member_removed";
  room: string;
  /** The member's session id and, when it has one, its user (JWT `sub`). */
  session?: string;
  user?: string;
  /** When it happened, ms since the epoch. */
  time_ms: number;
};

export const BATCH_MS = 1000;
const MAX_BATCH = 100;
/** Events held while the receiver is behind; past it new ones are dropped and logged. */
const MAX_QUEUE = 1000;
const TIMEOUT_MS = 10_000;
/** Waits before each retry of a batch: four tries after the first, 15 s in all. */
export const BACKOFF_MS = [1000, 2000, 4000, 8000];

export const SIGNATURE_HEADER = "x-relay-signature";
export const TIMESTAMP_HEADER = "x-relay-timestamp";

export class Webhooks {
  private queue: WebhookEvent[] = [];
  private busy = false;
  private dropped = 0;

  private constructor(
    private readonly url: string,
    private readonly key: Promise<CryptoKey>,
    private readonly room: () => string,
  ) {}

  /** Webhooks when `WEBHOOK_URL` and `WEBHOOK_SECRET` are both set, else undefined. */
  static of(env: object, room: () => string): Webhooks | undefined {
    const url = read(env, "WEBHOOK_URL");
    if (typeof url !== "string" || url === "") return undefined;
    const key = secret(env, "WEBHOOK_SECRET");
    if (!key) {
      warn("bad_config", { name: "WEBHOOK_SECRET", value: "", using: "no webhooks" });
      return undefined;
    }
    return new Webhooks(url, hmacKey(key), room);
  }

  /** A member joined; `count` includes it. */
  joined(peer: Peer, count: number): void {
    if (count === 1) this.push("room_occupied");
    this.push("member_added", peer);
  }

  /** A member left; `count` no longer includes it. */
  left(peer: Peer, count: number): void {
    this.push("member_removed", peer);
    if (count === 0) this.push("room_vacated");
  }

  private push(name: WebhookEvent["name"], peer?: Peer): void {
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped += 1;
      return;
    }
    const event: WebhookEvent = { name, room: this.room(), time_ms: Date.now() };
    if (peer) event.session = peer.id;
    if (peer?.user !== undefined) event.user = peer.user;
    this.queue.push(event);
    if (!this.busy) {
      this.busy = true;
      setTimeout(() => void this.drain(), BATCH_MS);
    }
  }

  /** Sends batches one at a time, in order, until the queue is empty. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const events = this.queue.splice(0, MAX_BATCH);
      if (this.dropped > 0) {
        log("webhook_dropped", { room: this.room(), events: this.dropped, reason: "queue full" });
        this.dropped = 0;
      }
      await this.deliver(events);
    }
    this.busy = false;
  }

  private async deliver(events: WebhookEvent[]): Promise<void> {
    const id = crypto.randomUUID();
    for (let attempt = 0; ; attempt++) {
      const failure = await this.post(id, events);
      if (failure === undefined) return;
      const wait = BACKOFF_MS[attempt];
      if (wait === undefined) {
        log("webhook_dropped", { room: this.room(), events: events.length, reason: failure });
        return;
      }
      log("webhook_retry", { room: this.room(), attempt: attempt + 1, reason: failure });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** One POST of a batch; undefined when the receiver took it, else why not. */
  private async post(id: string, events: WebhookEvent[]): Promise<string | undefined> {
    // Signed afresh on each try, so a receiver that refuses old timestamps takes a retry.
    const body = JSON.stringify({ id, time_ms: Date.now(), events });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = await sign(await this.key, `${timestamp}.${body}`);
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: `v1=${signature}`,
        },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `status ${response.status}`;
    } catch (error) {
      return String(error);
    }
  }
}

function hmacKey(key: string): Promise<CryptoKey> {
  const raw = new TextEncoder().encode(key);
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function sign(key: CryptoKey, text: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  return [...new Uint8Array(mac)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
