/**
 * A document's storage in its Durable Object's SQLite: a snapshot (the whole
 * document as one Yjs update, in chunks under the 2 MB per-value limit) and a
 * log of the updates appended since. When the log grows as large as the
 * snapshot (or past a count), it is compacted: the document is encoded once
 * and replaces both. So the stored bytes stay within about twice the encoded
 * document, and a load applies one snapshot and at most a few hundred updates.
 * Nothing is created until the first update is stored, so reading a document
 * that never existed leaves no trace.
 */
import * as Y from "yjs";
import { moveUnderPrefix } from "../tables";

/** Each row stays well under the storage's 2 MB per-value limit. */
export const CHUNK_BYTES = 512 * 1024;
/** The log is compacted once it holds this many updates… */
export const MAX_LOG_UPDATES = 500;
/** …or more bytes than the snapshot (and at least this many). */
export const MIN_LOG_BYTES = 64 * 1024;

/** The names documents created before the `relay_` prefix have (src/tables.ts). */
const UNPREFIXED = { doc_snapshot: "relay_doc_snapshot", doc_updates: "relay_doc_updates" };

export class DocStore {
  private sizes: { snapshot: number; log: number; updates: number } | undefined;
  /** Set when the document was measured near its limit: compact at the next append. */
  private compactNext = false;
  /** Whether this object has made sure its tables exist. */
  private tablesMade = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly maxDocBytes: number,
  ) {
    moveUnderPrefix(sql, UNPREFIXED);
  }

  /** Whether anything was ever stored. */
  exists(): boolean {
    return (
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'relay_doc_snapshot'").toArray()
        .length > 0
    );
  }

  /** The stored document, rebuilt from the snapshot and the log. */
  load(): Y.Doc {
    const doc = new Y.Doc();
    if (!this.exists()) return doc;
    doc.transact(() => {
      const snapshot = this.snapshot();
      if (snapshot.byteLength > 0) Y.applyUpdate(doc, snapshot);
      for (const row of this.sql.exec<{ data: ArrayBuffer }>(
        "SELECT data FROM relay_doc_updates ORDER BY seq",
      )) {
        Y.applyUpdate(doc, new Uint8Array(row.data));
      }
    });
    return doc;
  }

  /**
   * Whether `doc` with `extra` more bytes stays within MAX_DOC_BYTES; `doc`
   * also holds `unstored` bytes not appended yet. The stored bytes
   * overestimate the document; only when they pass the limit is the document
   * encoded to know, and then the next append compacts.
   */
  fits(extra: number, unstored: number, doc: Y.Doc): boolean {
    const { snapshot, log } = this.measure();
    if (snapshot + log + unstored + extra <= this.maxDocBytes) return true;
    if (Y.encodeStateAsUpdate(doc).byteLength + extra > this.maxDocBytes) return false;
    this.compactNext = true;
    return true;
  }

  /**
   * Stores updates already applied to `doc` (a turn's, in one commit): each
   * appended to the log, or the log and the snapshot replaced by `doc`'s
   * encoding when compaction is due.
   */
  append(updates: Uint8Array[], doc: Y.Doc): void {
    const sizes = this.measure();
    const bytes = updates.reduce((n, update) => n + update.byteLength, 0);
    const logBytes = sizes.log + bytes;
    const due =
      this.compactNext ||
      sizes.updates + updates.length >= MAX_LOG_UPDATES ||
      logBytes >= Math.max(sizes.snapshot, MIN_LOG_BYTES) ||
      updates.some((update) => update.byteLength > CHUNK_BYTES);
    if (due) {
      this.replace(Y.encodeStateAsUpdate(doc));
      return;
    }
    this.ensureTables();
    for (const update of updates) {
      this.sql.exec("INSERT INTO relay_doc_updates (data) VALUES (?)", bufferOf(update));
    }
    sizes.log = logBytes;
    sizes.updates += updates.length;
  }

  private snapshot(): Uint8Array {
    const parts = this.sql
      .exec<{ data: ArrayBuffer }>("SELECT data FROM relay_doc_snapshot ORDER BY part")
      .toArray()
      .map((row) => new Uint8Array(row.data));
    return concat(parts);
  }

  private replace(state: Uint8Array): void {
    this.ensureTables();
    this.sql.exec("DELETE FROM relay_doc_snapshot");
    this.sql.exec("DELETE FROM relay_doc_updates");
    for (let part = 0, at = 0; at < state.byteLength; part++, at += CHUNK_BYTES) {
      const chunk = state.subarray(at, at + CHUNK_BYTES);
      this.sql.exec(
        "INSERT INTO relay_doc_snapshot (part, data) VALUES (?, ?)",
        part,
        bufferOf(chunk),
      );
    }
    this.sizes = { snapshot: state.byteLength, log: 0, updates: 0 };
    this.compactNext = false;
  }

  private measure(): { snapshot: number; log: number; updates: number } {
    if (this.sizes) return this.sizes;
    if (!this.exists()) {
      this.sizes = { snapshot: 0, log: 0, updates: 0 };
      return this.sizes;
    }
    const [snapshot] = this.sql
      .exec<{ bytes: number }>(
        "SELECT COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM relay_doc_snapshot",
      )
      .toArray();
    const [log] = this.sql
      .exec<{ bytes: number; updates: number }>(
        "SELECT COALESCE(SUM(LENGTH(data)), 0) AS bytes, COUNT(*) AS updates FROM relay_doc_updates",
      )
      .toArray();
    this.sizes = {
      snapshot: snapshot?.bytes ?? 0,
      log: log?.bytes ?? 0,
      updates: log?.updates ?? 0,
    };
    return this.sizes;
  }

  private ensureTables(): void {
    // Once per object: parsing the two statements on every append showed in profiles.
    if (this.tablesMade) return;
    this.tablesMade = true;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS relay_doc_snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS relay_doc_updates (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL);
    `);
  }
}

/** SQLite binds an ArrayBuffer as a BLOB; a view may cover only part of its buffer. */
function bufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
