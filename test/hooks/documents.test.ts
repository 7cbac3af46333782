/**
 * `/docs` refusals from an application's `authorize`: only 401 and 403 are
 * final for the stock y-websocket provider; a backend that is busy or down
 * gets a close code the provider retries.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";

let docs = 0;
const freshDoc = () => `hooked-doc-${Date.now().toString(36)}-${++docs}`;

/** The close a refused document socket gets, as the provider would read it. */
async function refusedAs(user: string): Promise<CloseEvent> {
  const response = await exports.default.fetch(
    `http://app.test/realtime/docs/${freshDoc()}?user=${user}`,
    { headers: { Upgrade: "websocket" } },
  );
  const ws = response.webSocket;
  if (!ws) throw new Error(`no socket: ${response.status}`);
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  ws.accept();
  return closed;
}

/** Whether the stock provider, with its default policy, reconnects after `event`. */
function providerRetries(event: CloseEvent): boolean {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider("ws://app.test/realtime/docs", "d", doc, {
    connect: false,
    disableBc: true,
  });
  const retries = provider.shouldReconnect(event, provider);
  provider.destroy();
  return retries;
}

describe("an authorize refusal on /docs", () => {
  it.each([
    ["busy", 429, 1013],
    ["down", 503, 1011],
    ["broken", 500, 1011],
  ])(
    "closes a socket refused for %s (%i) with %i, which the provider retries",
    async (user, _, code) => {
      const closed = await refusedAs(user);
      expect(closed.code).toBe(code);
      expect(closed.reason).toBe(user);
      expect(providerRetries(closed)).toBe(true);
    },
  );

  it.each([
    ["nobody", 4401],
    ["banned", 4403],
  ])("closes a socket refused for %s with %i, final for the provider", async (user, code) => {
    const closed = await refusedAs(user);
    expect(closed.code).toBe(code);
    expect(providerRetries(closed)).toBe(false);
  });
});
