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
