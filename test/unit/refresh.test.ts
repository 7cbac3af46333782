/** Tokens that expire on a live connection, against a fake socket: refresh, expiry, and the end. */
import { describe, expect, it, vi } from "vitest";
import type { RelayClient, RelayError } from "../../client/index";
import { FakeSocket, fakeClients } from "./fake-socket";

const start = fakeClients("https://relay.test", { backoff: { minMs: 100, maxMs: 1_000 } });

async function tick(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** A token function that hands out t1, t2, ... and counts its calls. */
function tokens() {
  let n = 0;
  return vi.fn(async () => `t${++n}`);
}

function refreshes(socket: FakeSocket) {
  return socket.frames().filter((frame) => frame.type === "refresh") as unknown as {
    token: string;
    id: string;
  }[];
}

const errorsOf = (client: RelayClient) => {
  const errors: RelayError[] = [];
  client.on("error", (error) => errors.push(error));
  return errors;
};

describe("a token that expires on a live connection", () => {
  it("is refreshed in-band when the relay warns, with no reconnect", async () => {
    const token = tokens();
    const client = start({ token });
    await tick();
    expect(new URL(FakeSocket.last.url).searchParams.get("token")).toBe("t1");
    FakeSocket.last.welcome();
    FakeSocket.last.deliver({ type: "expiring", at: Date.now() + 60_000 });
    await tick();
    const [refresh] = refreshes(FakeSocket.last);
    expect(refresh?.token).toBe("t2");
    FakeSocket.last.deliver({ type: "ack", id: refresh?.id ?? "" });
    await tick(10_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(client.status.state).toBe("connected");
  });

  it("retries a failing token function with backoff, reporting each failure as an event", async () => {
    let calls = 0;
    const token = vi.fn(async () => {
      calls += 1;
      if (calls === 2 || calls === 3) throw new Error("auth server down");
      return `t${calls}`;
    });
    const client = start({ token });
    const errors = errorsOf(client);
    await tick();
    FakeSocket.last.welcome();
    FakeSocket.last.deliver({ type: "expiring", at: Date.now() + 60_000 });
    await tick();
    expect(errors.map((e) => e.code)).toEqual(["token_failed"]);
    await tick(1_000);
    expect(errors.map((e) => e.code)).toEqual(["token_failed", "token_failed"]);
    await tick(1_000);
    expect(refreshes(FakeSocket.last).map((r) => r.token)).toEqual(["t4"]);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it("tries again when the relay refuses the fresh token", async () => {
    const client = start({ token: tokens() });
    const errors = errorsOf(client);
    await tick();
    FakeSocket.last.welcome();
    FakeSocket.last.deliver({ type: "expiring", at: Date.now() + 60_000 });
    await tick();
    const [first] = refreshes(FakeSocket.last);
    FakeSocket.last.deliver({
      type: "error",
      code: "unauthorized",
      message: "the token is another user's",
      id: first?.id,
    });
    expect(errors.map((e) => e.code)).toEqual(["token_failed"]);
    await tick(1_000);
    expect(refreshes(FakeSocket.last).map((r) => r.token)).toEqual(["t2", "t3"]);
  });

  it("reconnects at once with a fresh token after an expiry close, losing no send", async () => {
    const client = start({ token: tokens() });
    await tick();
    FakeSocket.last.welcome();
    const early = client.broadcast("sent before");
    await tick();
    // Sent after the expiry: the relay refuses it, and it waits for the next session.
    const late = client.broadcast("sent after");
    await tick();
    const lateId = FakeSocket.last.frames().at(-1)?.id;
    FakeSocket.last.deliver({ type: "error", code: "expired", message: "expired", id: lateId });
    FakeSocket.last.drop(4001, "the token expired");
    await tick();
    expect(FakeSocket.made).toHaveLength(2);
    expect(new URL(FakeSocket.last.url).searchParams.get("token")).toBe("t2");
    FakeSocket.last.welcome({ recovered: true });
    await tick();
    const resent = FakeSocket.last.frames().map((f) => f.data);
    expect(resent).toEqual(["sent before", "sent after"]);
    for (const frame of FakeSocket.last.frames()) {
      FakeSocket.last.deliver({ type: "ack", id: frame.id, seq: 1 });
    }
    await expect(early).resolves.toEqual({ seq: 1 });
    await expect(late).resolves.toEqual({ seq: 1 });
  });

  it.each([
    [4403, "forbidden"],
    [4410, "kicked"],
  ] as const)("stops for good after a %s close (%s), and says why", async (code, cause) => {
    const client = start({ token: tokens() });
    const ended: unknown[] = [];
    client.on("ended", (why) => ended.push(why));
    await tick();
    FakeSocket.last.welcome();
    const pending = client.broadcast("never acked");
    await tick();
    FakeSocket.last.drop(code, "spam");
    await expect(pending).rejects.toMatchObject({ code: "closed" });
    expect(ended).toEqual([{ cause, code, reason: "spam" }]);
    expect(client.status).toEqual({
      state: "closed",
      attempt: 0,
      ended: { cause, code, reason: "spam" },
    });
    await tick(60_000);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it("reports a string token that cannot be refreshed", async () => {
    const client = start({ token: "static" });
    const errors = errorsOf(client);
    await tick();
    FakeSocket.last.welcome();
    FakeSocket.last.deliver({ type: "expiring", at: Date.now() + 60_000 });
    await tick();
    expect(errors.map((e) => e.code)).toEqual(["token_failed"]);
    expect(refreshes(FakeSocket.last)).toEqual([]);
  });
});
