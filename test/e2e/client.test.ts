/**
 * The client library (client/) against the real relay under `wrangler dev`:
 * acks, refusals, reconnect with resume, resend without duplicates, heartbeats.
 * A small HISTORY_SIZE lets one test run past the history on purpose.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type ClientEvents,
  type ConnectOptions,
  connect,
  type RelayClient,
  type SocketLike,
} from "../../client/index";
import { type DevServer, startWranglerDev } from "./wrangler";
import { until } from "./ws-client";

const HISTORY_SIZE = 5;

let dev: DevServer;
const clients: RelayClient[] = [];

beforeAll(async () => {
  dev = await startWranglerDev({ HISTORY_SIZE: String(HISTORY_SIZE) });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await dev?.stop();
});

/** A client with every event recorded, already connected. */
async function join(room: string, name: string, options: Partial<ConnectOptions> = {}) {
  const client = connect(dev.url, { room, name, ...options });
  clients.push(client);
  const seen = record(client);
  await connected(client);
  return { client, ...seen };
}

function record(client: RelayClient) {
  const events: { [K in keyof ClientEvents]: ClientEvents[K][] } = {
    welcome: [],
    join: [],
    leave: [],
    presence: [],
    occupancy: [],
    message: [],
    ended: [],
    error: [],
    status: [],
    gap: [],
  };
  for (const name of Object.keys(events) as (keyof ClientEvents)[]) {
    client.on(name, (payload) => (events[name] as unknown[]).push(payload));
  }
  return { events, texts: () => events.message.map((m) => m.data) };
}

async function connected(client: RelayClient): Promise<void> {
  await until(() => client.status.state === "connected", "connected");
}

/** Waits for n messages, then a little longer, so a duplicate would have time to show up. */
async function settled(texts: () => unknown[], n: number): Promise<unknown[]> {
  await until(() => texts().length >= n, `${n} messages`);
  await new Promise((r) => setTimeout(r, 300));
  return texts();
}

/** A transport that can go silent both ways, like a dead NAT entry: nothing in, nothing out. */
class FlakySocket implements SocketLike {
  static last: FlakySocket | undefined;
  private readonly ws: WebSocket;
  private silent = false;

  constructor(url: string, protocols?: string[]) {
    this.ws = new WebSocket(url, protocols);
    FlakySocket.last = this;
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  get protocol(): string {
    return this.ws.protocol ?? "";
  }

  send(data: string): void {
    if (!this.silent) this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  addEventListener(
    type: "open" | "message" | "close" | "error",
    listener: (event: { data: unknown; code?: number; reason?: string }) => void,
  ): void {
    this.ws.addEventListener(type, (event) => {
      if (!this.silent) listener(event as { data: unknown; code?: number; reason?: string });
    });
  }

  goSilent(): void {
    this.silent = true;
  }
}

/** The global WebSocket, keeping every frame the client writes. */
class RecordingSocket extends WebSocket {
  static sent: string[] = [];

  override send(data: string): void {
    if (data !== "ping") RecordingSocket.sent.push(data);
    super.send(data);
  }
}

describe("client library", () => {
  it("acks a broadcast with its seq and keeps presence live", async () => {
    const ada = await join("c-ack", "ada");
    const bob = await join("c-ack", "bob");
    await until(() => ada.client.peers.size === 1, "ada sees bob");
    expect([...ada.client.peers.values()]).toEqual([{ id: bob.client.id, name: "bob" }]);
    expect([...bob.client.peers.values()]).toEqual([{ id: ada.client.id, name: "ada" }]);

    const ack = await ada.client.broadcast({ text: "hi" });
    expect(ack.seq).toBeGreaterThan(0);
    expect(ack.duplicate).toBeUndefined();
    expect(await settled(bob.texts, 1)).toEqual([{ text: "hi" }]);
    expect(bob.events.message[0]).toMatchObject({ from: ada.client.id, seq: ack.seq });

    const direct = await bob.client.direct(ada.client.id ?? "", "psst");
    expect(direct.seq).toBeUndefined();
    expect(await settled(ada.texts, 1)).toEqual(["psst"]);

    bob.client.close();
    await until(() => ada.client.peers.size === 0, "bob's leave");
    expect(ada.events.leave.map((p) => p.name)).toEqual(["bob"]);
  });

  it("sets presence state: peers see it in their map and as an event; too large is refused", async () => {
    const ada = await join("c-presence", "ada");
    const bob = await join("c-presence", "bob");
    await until(() => ada.client.peers.size === 1, "ada sees bob");
    await ada.client.setPresence({ typing: true });
    await until(() => bob.events.presence.length === 1, "bob hears of it");
    expect(bob.events.presence[0]).toEqual({
      id: ada.client.id,
      name: "ada",
      state: { typing: true },
    });
    expect(bob.client.peers.get(ada.client.id ?? "")?.state).toEqual({ typing: true });
    const cy = await join("c-presence", "cy");
    expect(cy.client.peers.get(ada.client.id ?? "")?.state).toEqual({ typing: true });
    await expect(ada.client.setPresence("x".repeat(3000))).rejects.toMatchObject({
      code: "too_large",
    });
  });

  it("rejects a send the relay refuses, with the relay's code", async () => {
    const ada = await join("c-refuse", "ada");
    await expect(ada.client.direct("nobody", "hello?")).rejects.toMatchObject({
      name: "RelayError",
      code: "unknown_recipient",
    });
    // The connection is still fine afterwards.
    expect((await ada.client.broadcast("still here")).seq).toBeGreaterThan(0);
    expect(ada.events.error).toEqual([]);
  });

  it("resumes after going offline: every missed broadcast once, in order, no gap", async () => {
    const ada = await join("c-resume", "ada");
    const bob = await join("c-resume", "bob");
    await ada.client.broadcast("before");
    await settled(bob.texts, 1);
    const firstSession = bob.client.id;

    bob.client.disconnect();
    for (const text of ["one", "two", "three"]) await ada.client.broadcast(text);
    bob.client.reconnect();
    await connected(bob.client);

    expect(await settled(bob.texts, 4)).toEqual(["before", "one", "two", "three"]);
    expect(bob.client.id).not.toBe(firstSession);
    expect(bob.events.welcome.at(-1)).toMatchObject({ recovered: true });
    expect(bob.events.gap).toEqual([]);
    const seqs = bob.events.message.map((m) => m.seq ?? 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("resends an unacknowledged broadcast with the same id: delivered once", async () => {
    const ada = await join("c-resend", "ada");
    const bob = await join("c-resend", "bob");
    // Written to the socket (sends go out at the end of the tick), then the
    // socket is dropped before the ack can arrive: no I/O runs between microtasks.
    const sent = ada.client.broadcast("exactly once");
    await Promise.resolve();
    ada.client.disconnect();
    ada.client.reconnect();

    const ack = await sent;
    expect(ack).toMatchObject({ seq: expect.any(Number), duplicate: true });
    expect(await settled(bob.texts, 1)).toEqual(["exactly once"]);
  });

  it("queues sends made while offline and delivers them after reconnecting", async () => {
    const ada = await join("c-queue", "ada");
    const bob = await join("c-queue", "bob");
    ada.client.disconnect();
    const sent = [ada.client.broadcast("q1"), ada.client.broadcast("q2")];
    ada.client.reconnect();
    const acks = await Promise.all(sent);
    expect(acks.map((a) => a.duplicate)).toEqual([undefined, undefined]);
    expect(await settled(bob.texts, 2)).toEqual(["q1", "q2"]);
  });

  it("detects a silent connection by its missing pong, reconnects and catches up", async () => {
    const ada = await join("c-heartbeat", "ada");
    const bob = await join("c-heartbeat", "bob", {
      WebSocket: FlakySocket,
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 300,
    });
    const dead = FlakySocket.last;
    dead?.goSilent();
    // Broadcasts bob's dead socket never passes on; a frame bob sends now is lost on the way.
    await ada.client.broadcast("while silent 1");
    await ada.client.broadcast("while silent 2");
    const fromBob = bob.client.broadcast("sent into the void");

    await until(() => FlakySocket.last !== dead, "a new socket");
    await connected(bob.client);
    expect(bob.events.status.map((s) => s.state)).toContain("reconnecting");
    expect(await settled(bob.texts, 2)).toEqual(["while silent 1", "while silent 2"]);
    expect((await fromBob).duplicate).toBeUndefined();
    expect(await settled(ada.texts, 1)).toEqual(["sent into the void"]);
  });

  it("rejects with timeout when no ack comes back", async () => {
    const ada = await join("c-timeout", "ada", {
      WebSocket: FlakySocket,
      ackTimeoutMs: 300,
      heartbeatIntervalMs: 60_000,
    });
    FlakySocket.last?.goSilent();
    await expect(ada.client.broadcast("lost")).rejects.toMatchObject({ code: "timeout" });
  });

  it("reports a gap when the history no longer covers the time away", async () => {
    const ada = await join("c-gap", "ada");
    const bob = await join("c-gap", "bob");
    bob.client.disconnect();
    for (let i = 0; i < HISTORY_SIZE + 2; i++) await ada.client.broadcast(`missed ${i}`);
    bob.client.reconnect();
    await connected(bob.client);
    expect(bob.events.gap).toEqual([{ reason: "too_many" }]);
    // Live traffic after the gap still arrives; nothing from the gap is replayed.
    await ada.client.broadcast("after");
    expect(await settled(bob.texts, 1)).toEqual(["after"]);
  });

  it("rejects rate-limited sends and delivers the rest exactly once", async () => {
    const ada = await join("c-rate", "ada");
    const bob = await join("c-rate", "bob");
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => ada.client.broadcast(i)),
    );
    const delivered = results.filter((r) => r.status === "fulfilled").length;
    const limited = results.filter(
      (r) => r.status === "rejected" && (r.reason as { code?: string }).code === "rate_limited",
    ).length;
    expect(limited).toBeGreaterThan(0);
    expect(delivered + limited).toBe(60);
    expect(await settled(bob.texts, delivered)).toHaveLength(delivered);
  });

  it("rejects what is still pending when closed", async () => {
    const ada = await join("c-close", "ada");
    ada.client.disconnect();
    const pending = ada.client.broadcast("never");
    ada.client.close();
    await expect(pending).rejects.toMatchObject({ code: "closed" });
    await expect(ada.client.broadcast("after close")).rejects.toMatchObject({ code: "closed" });
    expect(ada.events.status.at(-1)?.state).toBe("closed");
  });

  it("negotiates edge-relay.ndjson, sends a tick's broadcasts as one frame, and talks with a plain client", async () => {
    const ada = await join("c-batch", "ada", { WebSocket: RecordingSocket });
    const bob = await join("c-batch", "bob", { batch: false });
    expect(ada.events.welcome[0]?.limits.maxBatchFrames).toBeGreaterThan(1);
    expect(bob.events.welcome[0]?.limits.maxBatchFrames).toBe(1);

    RecordingSocket.sent = [];
    const acks = await Promise.all(["a", "b", "c"].map((text) => ada.client.broadcast(text)));
    expect(RecordingSocket.sent.map((frame) => frame.split("\n").length)).toEqual([3]);
    const seqs = acks.map((ack) => ack.seq ?? 0);
    expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2]);
    expect(await settled(bob.texts, 3)).toEqual(["a", "b", "c"]);

    await Promise.all(["x", "y"].map((text) => bob.client.broadcast(text)));
    expect(await settled(ada.texts, 2)).toEqual(["x", "y"]);
  });
});
