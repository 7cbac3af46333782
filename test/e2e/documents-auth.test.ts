/**
 * Refused document sockets under `wrangler dev` with AUTH_SECRET: the stock
 * provider reads the 44xx close and stops; a granted token gets in.
 */
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startWranglerDev } from "./wrangler";
import { until } from "./ws-client";
import { type Editor, editor, synced } from "./yjs-provider";

const SECRET = "e2e-docs-secret";
let dev: DevServer;

beforeAll(async () => {
  dev = await startWranglerDev({ AUTH_SECRET: SECRET });
});

afterAll(async () => {
  await dev?.stop();
});

const token = (claims: Record<string, unknown>) =>
  sign({ exp: Math.floor(Date.now() / 1000) + 60, ...claims }, SECRET, "HS256");

/** Opens a provider and records its connection attempts and its terminal close. */
function watched(name: string, params: Record<string, string>) {
  const e = editor(`${dev.ws}/docs`, name, { params, connect: false });
  const attempts: string[] = [];
  let closed: { code: number; reason: string } | undefined;
  e.provider.on("status", ({ status }) => {
    if (status === "connecting") attempts.push(status);
  });
  e.provider.on("closed", (event) => {
    closed = event;
  });
  e.provider.connect();
  return { e, attempts, closed: () => closed };
}

async function refusedOnce(w: ReturnType<typeof watched>, code: number): Promise<void> {
  await until(() => w.closed() !== undefined, "the provider's terminal close");
  expect(w.closed()?.code).toBe(code);
  expect(w.closed()?.reason).not.toBe("");
  // Its backoff would have retried within 200 ms; a second later there is still one attempt.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(w.attempts).toHaveLength(1);
  expect(w.e.provider.wsconnected).toBe(false);
  w.e.destroy();
}

describe("document sockets with AUTH_SECRET", () => {
  it("refuses a provider without a token with 4401, and it stops retrying", async () => {
    await refusedOnce(watched("e2e-auth-doc", {}), 4401);
  });

  it("refuses a token that does not grant the document with 4403, and it stops retrying", async () => {
    const denied = await token({ sub: "u1", rooms: ["another-doc"] });
    await refusedOnce(watched("e2e-auth-doc", { token: denied }), 4403);
  });

  it("lets a provider whose token grants the document in", async () => {
    const granted = await token({ sub: "u1", rooms: ["e2e-auth-doc"] });
    const e: Editor = editor(`${dev.ws}/docs`, "e2e-auth-doc", { params: { token: granted } });
    await synced(e);
    expect(e.provider.wsconnected).toBe(true);
    e.destroy();
  });
});

describe("a document socket whose token expires", () => {
  it("is warned, closed with a code the stock provider retries, and reconnects with the app's fresh token keeping every edit", {
    timeout: 30_000,
  }, async () => {
    const short = await sign({ sub: "u-ada", exp: Math.floor(Date.now() / 1000) + 4 }, SECRET);
    const ada = editor(`${dev.ws}/docs`, "e2e-expiring-doc", { params: { token: short } });
    const bob = editor(`${dev.ws}/docs`, "e2e-expiring-doc", {
      params: { token: await token({ sub: "u-bob" }) },
    });
    const closes: number[] = [];
    ada.provider.on("connection-close", (event) => {
      if (event) closes.push(event.code);
    });
    // The app's handler, as docs/protocol.md shows it: on the warning, a fresh token for the next connect.
    let warned = false;
    const handleAuth = ada.provider.messageHandlers[2];
    ada.provider.messageHandlers[2] = (encoder, decoder, provider, emitSynced, type) => {
      if (decoder.arr[decoder.pos] !== 1) {
        handleAuth?.(encoder, decoder, provider, emitSynced, type);
        return;
      }
      warned = true;
      token({ sub: "u-ada" }).then((fresh) => {
        provider.params = { ...provider.params, token: fresh };
      });
    };
    await Promise.all([synced(ada), synced(bob)]);
    const text = ada.doc.getText("t");
    // Typing straight through the warning, the close and the reconnect.
    const typing = setInterval(() => text.insert(text.length, "x"), 50);
    await until(() => closes.includes(4001), "the close at expiry", 10_000);
    await until(() => ada.provider.wsconnected && ada.provider.synced, "the reconnect");
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(typing);
    expect(warned).toBe(true);
    await until(() => bob.text() === ada.text(), "every edit at bob");
    expect(bob.text().length).toBeGreaterThan(40);
    ada.destroy();
    bob.destroy();
  });
});
