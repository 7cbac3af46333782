/**
 * The client library through an expiry, against the real relay: it refreshes
 * in-band when warned, or, when it cannot, reconnects after the expiry close
 * and resends; either way every message reaches the others exactly once.
 */
import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connect, type RelayClient, type SocketLike } from "../../client/index";
import { freshRoom, join } from "../client";
import { alarm, frozenAhead, thaw, token } from "./trust";

let clock: { advance(ms: number): void };
const clients: RelayClient[] = [];
beforeEach(() => {
  clock = frozenAhead();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  thaw();
});

type Listener = (event: { data: unknown; code?: number; reason?: string }) => void;

/** The client's socket, opened through this Worker's fetch instead of the network. */
class WorkerSocket implements SocketLike {
  readyState = 0;
  protocol = "";
  private ws: WebSocket | undefined;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(url: string, protocols: string[] = []) {
    const { pathname, search } = new URL(url);
    const headers: Record<string, string> = { Upgrade: "websocket" };
    if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
    void exports.default.fetch(`http://relay.test${pathname}${search}`, { headers }).then((res) => {
      const ws = res.webSocket;
      if (!ws) return this.ended(1006, `refused: ${res.status}`);
      ws.accept();
      this.ws = ws;
      this.protocol = res.headers.get("Sec-WebSocket-Protocol") ?? "";
      this.readyState = 1;
      ws.addEventListener("message", (event) => this.fire("message", { data: event.data }));
      ws.addEventListener("close", (event) => this.ended(event.code, event.reason));
      this.fire("open", { data: undefined });
    });
  }

  send(data: string): void {
    this.ws?.send(data);
  }

  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.ws?.close(code, reason);
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  private ended(code: number, reason: string): void {
    if (this.readyState === 3 && this.ws === undefined) return;
    this.readyState = 3;
    this.fire("close", { data: undefined, code, reason });
  }

  private fire(type: string, event: { data: unknown; code?: number; reason?: string }): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

/** Ada through the client library, with a token function; bob, who listens, as a test client. */
async function room(tokenOf: () => Promise<string>) {
  const name = freshRoom();
  const bob = await join(name, "bob", { token: await token("u-bob", 7200) });
  const ada = connect("https://relay.test", {
    room: name,
    name: "ada",
    token: tokenOf,
    WebSocket: WorkerSocket,
  });
  clients.push(ada);
  await bob.client.next("join");
  return { name, ada, bob };
}

describe("the client library through an expiry", () => {
  it("refreshes in-band when warned and keeps its session", async () => {
    let calls = 0;
    let refreshed: () => void = () => {};
    const refreshing = new Promise<void>((resolve) => {
      refreshed = resolve;
    });
    const { name, ada, bob } = await room(async () => {
      const fresh = await token("u-ada", 300);
      // Once the client has had its second token, and sent it, the next frame follows it.
      if (++calls === 2) setTimeout(refreshed, 0);
      return fresh;
    });
    await ada.broadcast("one");
    const session = ada.id;
    clock.advance(240_000);
    await alarm(name);
    await refreshing;
    await ada.broadcast("two");

    clock.advance(120_000);
    await alarm(name);
    await ada.broadcast("three");
    expect(ada.id).toBe(session);
    await bob.client.until(() => bob.client.all("message").length === 3, "three messages");
    expect(bob.client.all("message").map((m) => m.data)).toEqual(["one", "two", "three"]);
    expect(bob.client.all("leave")).toEqual([]);
  });

  it("reconnects after the expiry close when it could not refresh, losing and repeating nothing", async () => {
    let failing = false;
    const { name, ada, bob } = await room(async () => {
      if (failing) throw new Error("auth server down");
      return token("u-ada", 300);
    });
    await ada.broadcast("one");
    const first = ada.id;
    failing = true;
    clock.advance(240_000);
    await alarm(name);
    clock.advance(60_001);
    const late = ada.broadcast("after expiry");
    failing = false;
    await alarm(name);
    await late;
    await ada.broadcast("three");
    expect(ada.id).not.toBe(first);
    await bob.client.until(() => bob.client.all("message").length === 3, "three messages");
    expect(bob.client.all("message").map((m) => m.data)).toEqual(["one", "after expiry", "three"]);
  });
});
