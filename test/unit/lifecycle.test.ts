/** The client's connection lifecycle against a fake socket: no relay, an injected clock. */
import { describe, expect, it, vi } from "vitest";
import { connect, RelayError } from "../../client/index";
import { FakeSocket, fakeClients } from "./fake-socket";

const start = fakeClients("https://relay.test/base", { backoff: { minMs: 100, maxMs: 1_000 } });

/** Lets the client's queued microtasks (its first open, a batch flush) run. */
async function tick(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

describe("starting and stopping", () => {
  it("stays closed when close() comes straight after connect()", async () => {
    const client = start();
    client.close();
    await tick();
    expect(FakeSocket.made).toEqual([]);
    expect(client.status.state).toBe("closed");
  });

  it("stays offline when disconnect() comes straight after connect(), until reconnect()", async () => {
    const client = start();
    client.disconnect();
    await tick();
    expect(FakeSocket.made).toEqual([]);
    expect(client.status.state).toBe("offline");
    client.reconnect();
    await tick();
    expect(FakeSocket.made).toHaveLength(1);
  });

  it("builds the socket URL from the base URL, the room and the client id", async () => {
    const client = start({ name: "ada" });
    await tick();
    const url = new URL(FakeSocket.last.url);
    expect(url.origin + url.pathname).toBe("wss://relay.test/base/rooms/r/ws");
    expect(url.searchParams.get("name")).toBe("ada");
    expect(url.searchParams.get("client")).toBe(client.clientId);
  });

  it("throws at once for a URL that cannot be parsed", () => {
    expect(() => connect("not a url", { room: "r", WebSocket: FakeSocket })).toThrow(TypeError);
  });

  it("reports a WebSocket constructor that throws, and retries after the backoff", async () => {
    let refuse = true;
    class Refusing extends FakeSocket {
      constructor(url: string, protocols?: string[]) {
        if (refuse) throw new DOMException("port blocked", "SecurityError");
        super(url, protocols);
      }
    }
    const client = start({ WebSocket: Refusing });
    const errors: RelayError[] = [];
    client.on("error", (error) => errors.push(error));
    await tick();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RelayError);
    expect(errors[0]?.code).toBe("connect_failed");
    expect(client.status).toMatchObject({ state: "reconnecting", retryInMs: expect.any(Number) });
    refuse = false;
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    FakeSocket.last.welcome();
    expect(client.status.state).toBe("connected");
  });

  it("retries a handshake that fails with an error event and no close event", async () => {
    const client = start();
    await tick();
    FakeSocket.last.fail();
    expect(client.status.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it("reports a token function that throws, and retries", async () => {
    let calls = 0;
    const client = start({
      token: () => {
        calls++;
        if (calls === 1) throw new Error("token service down");
        return "jwt";
      },
    });
    const errors: RelayError[] = [];
    client.on("error", (error) => errors.push(error));
    await tick();
    expect(errors.map((e) => e.code)).toEqual(["connect_failed"]);
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    expect(new URL(FakeSocket.last.url).searchParams.get("token")).toBe("jwt");
  });

  it("stays closed when a listener closes it while it schedules a retry", async () => {
    const client = start();
    await tick();
    const off = client.on("status", ({ state }) => {
      if (state !== "reconnecting") return;
      off();
      client.close();
    });
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(client.status.state).toBe("closed");
  });

  it("stays closed when an error listener closes it after an attempt could not start", async () => {
    class Refusing extends FakeSocket {
      constructor(url: string) {
        if (url) throw new SyntaxError("bad URL");
        super(url);
      }
    }
    const client = start({ WebSocket: Refusing });
    const states: string[] = [];
    client.on("status", ({ state }) => states.push(state));
    client.on("error", () => client.close());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(states).toEqual(["connecting", "closed"]);
  });

  it("stays offline when a welcome listener disconnects it", async () => {
    const client = start();
    client.on("welcome", () => client.disconnect());
    await tick();
    FakeSocket.last.welcome();
    expect(client.status.state).toBe("offline");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it("rejects sends made after close() with closed", async () => {
    const client = start();
    client.close();
    await expect(client.broadcast("late")).rejects.toMatchObject({ code: "closed" });
  });
});

describe("what the application can see", () => {
  it("exposes status, id and peers as read-only", async () => {
    const client = start();
    await tick();
    FakeSocket.last.welcome({ id: "me", peers: [{ id: "p1", name: "bob" }] });
    expect(client.id).toBe("me");
    expect(Object.isFrozen(client.status)).toBe(true);
    expect(() => {
      // @ts-expect-error status is read-only
      client.status = { state: "closed", attempt: 0 };
    }).toThrow(TypeError);
    expect(() => {
      // @ts-expect-error id is read-only
      client.id = "someone else";
    }).toThrow(TypeError);
    // @ts-expect-error peers is a read-only view
    expect(client.peers.set).toBeUndefined();
    expect(client.peers).not.toBeInstanceOf(Map);
    expect([...client.peers.keys()]).toEqual(["p1"]);
    expect(client.peers.get("p1")).toEqual({ id: "p1", name: "bob" });
  });

  it("keeps peers live from join and leave, and never lists its own earlier session", async () => {
    const client = start();
    await tick();
    FakeSocket.last.welcome({ id: "s1" });
    FakeSocket.last.deliver({ type: "join", peer: { id: "p1", name: "bob" } });
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    FakeSocket.last.welcome({
      id: "s2",
      peers: [
        { id: "s1", name: "" },
        { id: "p1", name: "bob" },
      ],
    });
    expect([...client.peers.keys()]).toEqual(["p1"]);
    FakeSocket.last.deliver({ type: "leave", peer: { id: "p1", name: "bob" } });
    expect(client.peers.size).toBe(0);
  });
});

describe("heartbeat", () => {
  const heartbeat = { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500 };

  it("sends ping alone every interval while connected, one at a time", async () => {
    start(heartbeat);
    await tick();
    const socket = FakeSocket.last;
    socket.welcome();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sent).toEqual(["ping"]);
    socket.receive("pong");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sent).toEqual(["ping", "ping"]);
  });

  it("does not ping again while a ping waits for its pong", async () => {
    start({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 1_500 });
    await tick();
    const socket = FakeSocket.last;
    socket.welcome();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(socket.sent).toEqual(["ping"]);
    await vi.advanceTimersByTimeAsync(500);
    expect(socket.closedWith?.code).toBe(4000);
  });

  it("drops a connection whose pong does not come, and reconnects", async () => {
    const client = start(heartbeat);
    await tick();
    const socket = FakeSocket.last;
    socket.welcome();
    await vi.advanceTimersByTimeAsync(1_499);
    expect(socket.closedWith).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.closedWith?.code).toBe(4000);
    expect(client.status.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(client.status.retryInMs ?? 0);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it("takes any frame as proof of life, not only pong", async () => {
    start(heartbeat);
    await tick();
    const socket = FakeSocket.last;
    socket.welcome();
    await vi.advanceTimersByTimeAsync(1_000);
    socket.deliver({ type: "join", peer: { id: "p", name: "" } });
    await vi.advanceTimersByTimeAsync(600);
    expect(socket.closedWith).toBeUndefined();
  });

  it("abandons an attempt that is not welcomed within connectTimeoutMs", async () => {
    const client = start({ connectTimeoutMs: 2_000 });
    await tick();
    FakeSocket.last.open();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(FakeSocket.last.closedWith?.code).toBe(4000);
    expect(client.status.state).toBe("reconnecting");
  });
});

describe("backoff between attempts", () => {
  it("grows while attempts fail and starts over once a connection was stable", async () => {
    const client = start({ backoff: { minMs: 100, maxMs: 100_000 } });
    const delays: number[] = [];
    client.on("status", (s) => s.retryInMs !== undefined && delays.push(s.retryInMs));
    await tick();
    for (let i = 0; i < 3; i++) {
      FakeSocket.last.drop();
      await vi.advanceTimersByTimeAsync(delays.at(-1) ?? 0);
    }
    FakeSocket.last.welcome();
    await vi.advanceTimersByTimeAsync(5_000);
    FakeSocket.last.drop();
    expect(client.status.attempt).toBe(0);
    // Steps 100, 200, 400, then 100 again: jitter keeps each in the upper half of its step.
    const steps = [100, 200, 400, 100];
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual((steps[i] ?? 0) / 2);
      expect(delay).toBeLessThanOrEqual(steps[i] ?? 0);
    });
  });
});
