/**
 * The stock y-websocket provider against the real bundle under `wrangler dev`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import * as Y from "yjs";
import { type DevServer, startWranglerDev } from "./wrangler";
import { until } from "./ws-client";
import { type Editor, editor, synced } from "./yjs-provider";

let dev: DevServer;
let open: Editor[] = [];
let docs = 0;

beforeAll(async () => {
  dev = await startWranglerDev();
});

afterAll(async () => {
  await dev?.stop();
});

afterEach(() => {
  for (const e of open) e.destroy();
  open = [];
});

const freshDoc = () => `e2e-doc-${Date.now().toString(36)}-${++docs}`;

function start(name: string, options: Parameters<typeof editor>[2] = {}): Editor {
  const e = editor(`${dev.ws}/docs`, name, options);
  open.push(e);
  return e;
}

/** The client ids whose awareness states an editor sees, but its own. */
const others = (e: Editor) =>
  [...e.provider.awareness.getStates().keys()].filter((id) => id !== e.doc.clientID);

describe("documents with the y-websocket provider", () => {
  it("converges under concurrent edits", async () => {
    const name = freshDoc();
    const [ada, bob] = [start(name), start(name)];
    await Promise.all([synced(ada), synced(bob)]);
    for (let i = 0; i < 40; i++) {
      for (const e of [ada, bob]) {
        const t = e.doc.getText("t");
        t.insert(Math.floor(Math.random() * (t.length + 1)), e === ada ? "a" : "b");
      }
    }
    await until(() => ada.text() === bob.text() && ada.text().length === 80, "convergence");
    expect([...ada.text()].filter((c) => c === "b")).toHaveLength(40);
  });

  it("brings edits made offline to the others after reconnecting", async () => {
    const name = freshDoc();
    const [ada, bob] = [start(name), start(name)];
    await Promise.all([synced(ada), synced(bob)]);
    bob.provider.disconnect();
    bob.doc.getText("t").insert(0, "written offline");
    ada.doc.getText("t").insert(0, "meanwhile ");
    await until(() => ada.text() === "meanwhile ", "ada's own edit");
    bob.provider.connect();
    await until(() => ada.text() === bob.text() && ada.text().length === 25, "the merge");
  });

  it("shows a joiner the existing awareness at once, not at the next renewal", async () => {
    const name = freshDoc();
    const ada = start(name);
    ada.provider.awareness.setLocalStateField("user", { name: "ada" });
    await synced(ada);
    const bob = start(name);
    // Renewals come every 15 s; 5 s is only reachable by the relay sending it on join.
    await until(() => others(bob).includes(ada.doc.clientID), "ada's presence", 5_000);
    expect(bob.provider.awareness.getStates().get(ada.doc.clientID)).toEqual({
      user: { name: "ada" },
    });
  });

  it("removes a vanished socket's awareness for the others within seconds", async () => {
    const name = freshDoc();
    const [ada, bob] = [start(name), start(name)];
    bob.provider.awareness.setLocalStateField("user", { name: "bob" });
    await until(() => others(ada).includes(bob.doc.clientID), "bob's presence");
    // No close frame, no goodbye: the process might have died.
    bob.provider.shouldConnect = false;
    (bob.provider.ws as unknown as WebSocket).terminate();
    // Clients time a silent peer out after 30 s; the relay must be much faster.
    await until(() => !others(ada).includes(bob.doc.clientID), "bob's removal", 5_000);
  });

  it("gives a late joiner the compacted state, not the history of every edit", async () => {
    const name = freshDoc();
    const ada = start(name);
    await synced(ada);
    let history = 0;
    ada.doc.on("update", (update: Uint8Array) => {
      history += update.byteLength;
    });
    const t = ada.doc.getText("t");
    // Each edit types a line and deletes it again: a long history, a short document.
    // 280 frames stay within one socket's rate-limit burst.
    for (let i = 0; i < 140; i++) {
      t.insert(0, `line ${i} ${"x".repeat(80)}`);
      t.delete(0, t.length - 1);
    }
    // The text is the same one character all along, so wait for every edit
    // (the state vectors), not the text, before the joiner comes.
    const sameState = (other: { doc: Y.Doc }) =>
      Buffer.from(Y.encodeStateVector(other.doc)).equals(Y.encodeStateVector(ada.doc));
    const probe = start(name);
    await until(() => sameState(probe), "every edit at another provider");
    const bob = start(name);
    await until(() => sameState(bob), "every edit at the joiner");
    const encoded = Y.encodeStateAsUpdate(ada.doc).byteLength;
    expect(history).toBeGreaterThan(10 * encoded);
    expect(bob.received()).toBeLessThan(3 * encoded + 512);
  });

  it("ignores garbage and text frames: the document and the other providers go on", async () => {
    const name = freshDoc();
    const ada = start(name);
    ada.doc.getText("t").insert(0, "intact");
    await synced(ada);
    const vandal = new WebSocket(`${dev.ws}/docs/${name}`);
    await new Promise((resolve) => vandal.once("open", resolve));
    vandal.send("a text frame");
    vandal.send(Buffer.from([0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    vandal.send(Buffer.from([7, 1, 2, 3]));
    vandal.send(Buffer.from([0, 2, 5, 1, 1, 0xff, 0xff, 0xff]));
    const bob = start(name);
    await synced(bob);
    ada.doc.getText("t").insert(6, "!");
    await until(() => bob.text() === "intact!", "the next real edit");
    expect(ada.provider.wsconnected && bob.provider.wsconnected).toBe(true);
    vandal.close();
  });

  it("stores every edit of a provider that sends 3,000 separate ones and leaves at once", {
    timeout: 60_000,
  }, async () => {
    const name = freshDoc();
    const ada = start(name);
    await synced(ada);
    const t = ada.doc.getText("t");
    // One transaction, and so one frame, per character: a script or an import.
    for (let i = 0; i < 3000; i++) t.insert(t.length, ".");
    // Gone before any reconnect could resync what the document did not take.
    ada.destroy();
    open = open.filter((e) => e !== ada);
    const bob = start(name);
    await until(() => bob.text().length === 3000, "every edit at a late joiner", 30_000);
  });

  it("keeps a lone provider connected past its 30 s watchdog", { timeout: 50_000 }, async () => {
    const name = freshDoc();
    const ada = start(name);
    await synced(ada);
    const statuses: string[] = [];
    ada.provider.on("status", ({ status }) => statuses.push(status));
    const socket = ada.provider.ws;
    await new Promise((resolve) => setTimeout(resolve, 35_000));
    expect(statuses).toEqual([]);
    expect(ada.provider.ws).toBe(socket);
    expect(ada.provider.wsconnected).toBe(true);
  });
});
