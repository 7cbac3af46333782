/**
 * What a production client gets from the relay's own Worker on a direct
 * socket: no compression unless configured, the batching subprotocol only
 * when asked for, and an answer to its close frame.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { NDJSON_PROTOCOL } from "../../src/frames";
import { type DirectServer, startDirect } from "./direct";

let relay: DirectServer;

beforeAll(async () => {
  relay = await startDirect();
});

afterAll(async () => {
  await relay?.stop();
});

function open(room: string, protocols: string[] = []): Promise<WebSocket> {
  // The ws client offers permessage-deflate by default, as browsers do.
  const ws = new WebSocket(`${relay.ws}/rooms/${room}/ws`, protocols);
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once("close", (code) => resolve(code)));
}

describe("the relay's own Worker on a direct socket", () => {
  it("declines permessage-deflate to a client that offers it", async () => {
    const ws = await open("direct-deflate");
    expect(ws.extensions).toBe("");
    ws.close();
  });

  it("echoes edge-relay.ndjson when offered, and nothing to a plain client", async () => {
    const batched = await open("direct-protocol", [NDJSON_PROTOCOL]);
    const plain = await open("direct-protocol");
    expect(batched.protocol).toBe(NDJSON_PROTOCOL);
    expect(plain.protocol).toBe("");
    batched.close();
    plain.close();
  });

  it("coalesces the frames a batching client is due into one WebSocket frame", async () => {
    const receiver = await open("direct-batch", [NDJSON_PROTOCOL]);
    const sender = await open("direct-batch", [NDJSON_PROTOCOL]);
    const frames: string[] = [];
    const three = new Promise<void>((resolve) =>
      receiver.on("message", (data) => {
        frames.push(String(data));
        if (frames.join("\n").split('"type":"message"').length === 4) resolve();
      }),
    );
    const batch = [1, 2, 3].map((n) => JSON.stringify({ type: "broadcast", data: n }));
    sender.send(batch.join("\n"));
    await three;
    expect(
      frames
        .at(-1)
        ?.split("\n")
        .map((line) => JSON.parse(line).data),
    ).toEqual([1, 2, 3]);
    sender.close();
    receiver.close();
  });

  // The runtime does not answer a hibernated socket's close frame; the room does.
  it.each([
    [1000, 1000],
    [4001, 4001],
    [undefined, 1000],
  ])("answers a client's close frame (code %s) with %s", async (code, answer) => {
    const ws = await open("direct-close");
    const done = closed(ws);
    ws.close(code);
    expect(await done).toBe(answer);
  });
});
