import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { MAX_LOG_UPDATES } from "../../src/documents/store";
import { freshDoc, Peer } from "./peer";

const ADMIN = { authorization: "Bearer test-admin-token" };

function snapshot(name: string, headers: Record<string, string> = ADMIN): Promise<Response> {
  return exports.default.fetch(`http://relay.test/docs/${name}/snapshot`, { headers });
}

/** Rows and bytes in the document's tables. */
function stored(name: string): Promise<{ updates: number; bytes: number }> {
  return runInDurableObject(env.DOCS.getByName(name), (_instance, state) => {
    const [row] = state.storage.sql
      .exec<{ updates: number; bytes: number }>(
        `SELECT (SELECT COUNT(*) FROM relay_doc_updates) AS updates,
                (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM relay_doc_updates)
              + (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM relay_doc_snapshot) AS bytes`,
      )
      .toArray();
    return row ?? { updates: 0, bytes: 0 };
  });
}

describe("a document's storage", () => {
  it("keeps the document and its presence through eviction", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    ada.announce({ user: "ada" });
    ada.insert("survives eviction");
    await ada.until(() => ada.states.has(ada.doc.clientID), "ada's state");
    // The update is stored before anyone hears of it; wait until a peer does.
    const probe = await Peer.open(name);
    await probe.until(() => probe.text === "survives eviction", "the update");

    await evictDurableObject(env.DOCS.getByName(name));

    const bob = await Peer.open(name);
    await bob.until(() => bob.text === "survives eviction", "the stored document");
    // ada's socket outlived the eviction, and so did what it owns.
    await bob.until(() => bob.states.has(ada.doc.clientID), "ada's state after eviction");
    ada.ws.close(1000);
    await bob.until(() => !bob.states.has(ada.doc.clientID), "ada's removal after eviction");
  });

  it("compacts the log: a late joiner gets the merged state, storage stays near the document's size", {
    timeout: 30_000,
  }, async () => {
    const name = freshDoc();
    // Four editors, each within its socket's burst, one update per keystroke.
    const editors = await Promise.all([1, 2, 3, 4].map(() => Peer.open(name)));
    const perEditor = Math.ceil((MAX_LOG_UPDATES * 2 + 50) / editors.length);
    for (let i = 0; i < perEditor; i++) {
      for (const editor of editors) {
        const t = editor.doc.getText("t");
        if (i % 5 === 4 && t.length > 0) t.delete(t.length - 1, 1);
        else editor.insert(String.fromCharCode(97 + (i % 26)));
      }
    }
    const [ada] = editors as [Peer];
    const deletes = Math.floor(perEditor / 5);
    const length = editors.length * (perEditor - 2 * deletes);
    const converged = () => editors.every((e) => e.text.length === length && e.text === ada.text);
    await ada.until(converged, "the editors converge", 20_000);
    const bob = await Peer.open(name);
    await bob.until(() => bob.text === ada.text, "the whole document", 20_000);

    const encoded = Y.encodeStateAsUpdate(ada.doc).byteLength;
    const rows = await stored(name);
    expect(rows.updates).toBeLessThan(MAX_LOG_UPDATES);
    expect(rows.bytes).toBeLessThan(4 * encoded + 64 * 1024);
    // bob's step 2 is the merged state, not the history of every keystroke.
    expect(bob.step2Bytes).toBeGreaterThan(0);
    expect(bob.step2Bytes).toBeLessThan(2 * encoded + 100);
  });

  it("answers the snapshot API with the document as one update", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    ada.insert("exported");
    const probe = await Peer.open(name);
    await probe.until(() => probe.text === "exported", "the update");
    const response = await snapshot(name);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()));
    expect(doc.getText("t").toString()).toBe("exported");
  });

  it("keeps a document stored before the relay_ prefix", async () => {
    const name = freshDoc();
    const stub = env.DOCS.getByName(name);
    const old = new Y.Doc();
    old.getText("t").insert(0, "written before the prefix");
    // The tables as documents deployed before the prefix have them.
    await runInDurableObject(stub, (_instance, { storage: { sql } }) => {
      sql.exec(`
        CREATE TABLE doc_snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL);
        CREATE TABLE doc_updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);`);
      sql.exec(
        "INSERT INTO doc_updates (data) VALUES (?)",
        Y.encodeStateAsUpdate(old).slice().buffer,
      );
    });
    await evictDurableObject(stub);

    const peer = await Peer.open(name);
    await peer.until(() => peer.text === "written before the prefix", "the stored text");
    peer.insert("!");
    const later = await Peer.open(name);
    await later.until(() => later.text.endsWith("!"), "the new update");
    expect(await stored(name)).toMatchObject({ updates: 2 });
  });

  it("answers 404 for a document that never existed, and creates nothing", async () => {
    const name = freshDoc();
    expect((await snapshot(name)).status).toBe(404);
    const tables = await runInDurableObject(env.DOCS.getByName(name), (_i, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables.filter((t) => String(t.name).startsWith("relay_"))).toEqual([]);
  });

  it("refuses the snapshot API without the admin token", async () => {
    const name = freshDoc();
    expect((await snapshot(name, {})).status).toBe(401);
    expect((await snapshot(name, { authorization: "Bearer wrong" })).status).toBe(401);
  });
});
