import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startWranglerDev } from "./wrangler";
import { refusedUpgrade, until, WsClient } from "./ws-client";

let dev: DevServer;

beforeAll(async () => {
  // A small room cap to reach room_full, and a bad value that must fall back.
  dev = await startWranglerDev({ MAX_CONNECTIONS_PER_ROOM: "3", MAX_MESSAGE_BYTES: "lots" });
});

afterAll(async () => {
  await dev?.stop();
});

const roomUrl = (room: string, name = "") =>
  `${dev.ws}/rooms/${room}/ws${name ? `?name=${name}` : ""}`;

describe("the deployable bundle under wrangler dev", () => {
  it("answers /health", async () => {
    const response = await fetch(`${dev.url}/health`);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("runs a whole session: welcome, join, broadcast, direct, leave", async () => {
    const ada = await WsClient.open(roomUrl("e2e-session", "ada"));
    const bob = await WsClient.open(roomUrl("e2e-session", "bob"));
    expect(bob.all("welcome")[0]?.peers).toEqual([{ id: ada.id, name: "ada" }]);
    expect((await ada.next("join")).peer).toEqual({ id: bob.id, name: "bob" });

    ada.send({ type: "broadcast", data: { hello: "room" } });
    expect(await bob.next("message")).toMatchObject({ from: ada.id, data: { hello: "room" } });
    bob.send({ type: "direct", to: ada.id, data: "hi ada" });
    expect(await ada.next("message")).toMatchObject({ from: bob.id, to: ada.id, data: "hi ada" });

    bob.ws.close(1000);
    expect((await ada.next("leave")).peer.id).toBe(bob.id);
    await until(() => bob.closed !== undefined, "bob's close");
    expect(bob.closed?.code).toBe(1000);
    ada.ws.close();
  });

  it("turns a client that vanishes without a close frame into one leave", async () => {
    const ada = await WsClient.open(roomUrl("e2e-abrupt", "ada"));
    const ghost = await WsClient.open(roomUrl("e2e-abrupt", "ghost"));
    await ada.next("join");
    ghost.ws.terminate();
    expect((await ada.next("leave")).peer).toEqual({ id: ghost.id, name: "ghost" });
    const cy = await WsClient.open(roomUrl("e2e-abrupt", "cy"));
    expect(cy.all("welcome")[0]?.peers).toEqual([{ id: ada.id, name: "ada" }]);
    await ada.next("join", (f) => f.peer.id === cy.id);
    expect(ada.all("leave")).toHaveLength(1);
    ada.ws.close();
    cy.ws.close();
  });

  it("turns a socket error (a frame far over the platform's limit) into one leave", async () => {
    const ada = await WsClient.open(roomUrl("e2e-error", "ada"));
    const big = await WsClient.open(roomUrl("e2e-error", "big"));
    await ada.next("join");
    // Over the runtime's 32 MiB message limit: the room sees a socket error, not a frame.
    big.send("x".repeat(32 * 1024 * 1024 + 1));
    expect((await ada.next("leave")).peer).toEqual({ id: big.id, name: "big" });
    // Its socket then goes away too: that must not announce it a second time.
    big.ws.terminate();
    const cy = await WsClient.open(roomUrl("e2e-error", "cy"));
    expect(cy.all("welcome")[0]?.peers).toEqual([{ id: ada.id, name: "ada" }]);
    await ada.next("join", (f) => f.peer.id === cy.id);
    expect(ada.all("leave")).toHaveLength(1);
    ada.ws.close();
    cy.ws.close();
  });

  it("answers the text ping with pong", async () => {
    const ada = await WsClient.open(roomUrl("e2e-ping"));
    ada.send("ping");
    await until(() => ada.raw.includes("pong"), "pong");
    ada.ws.close();
  });

  it("refuses bad upgrades with the JSON error shape", async () => {
    expect(await refusedUpgrade(roomUrl("a%2Fb"))).toEqual({
      status: 400,
      body: { error: { code: "bad_room", message: expect.any(String) } },
    });
    expect(await refusedUpgrade(roomUrl("ok", "n".repeat(65)))).toMatchObject({
      status: 400,
      body: { error: { code: "bad_name" } },
    });
    const plain = await fetch(`${dev.url}/rooms/ok/ws`);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: { code: "upgrade_required" } });
    const missing = await fetch(`${dev.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("refuses the connection past MAX_CONNECTIONS_PER_ROOM with 503 room_full", async () => {
    const clients = [];
    for (let i = 0; i < 3; i++) clients.push(await WsClient.open(roomUrl("e2e-full")));
    expect(await refusedUpgrade(roomUrl("e2e-full"))).toMatchObject({
      status: 503,
      body: { error: { code: "room_full" } },
    });
    // The refusal accepted nobody: the room still has exactly three.
    clients[0]?.ws.close();
    await clients[1]?.next("leave");
    const again = await WsClient.open(roomUrl("e2e-full"));
    expect(again.all("welcome")[0]?.peers).toHaveLength(2);
    for (const c of [...clients, again]) c.ws.close();
  });

  it("falls back to the default size limit when the configured one is bad", async () => {
    const a = await WsClient.open(roomUrl("e2e-size"));
    const b = await WsClient.open(roomUrl("e2e-size"));
    // Exactly the default, 65,536 bytes, passes; one byte more does not.
    const envelope = JSON.stringify({ type: "broadcast", data: "" }).length;
    const data = "x".repeat(65_536 - envelope);
    a.send({ type: "broadcast", data });
    expect((await b.next("message")).data).toBe(data);
    a.send({ type: "broadcast", data: `${data}x` });
    expect((await a.next("error")).code).toBe("too_large");
    await until(() => dev.output().includes('"bad_config"'), "the config warning");
    expect(dev.output()).toContain('"name":"MAX_MESSAGE_BYTES"');
    a.ws.close();
    b.ws.close();
  });
});
