/**
 * The y-websocket wire format, as the stock provider speaks it: binary
 * frames, a varuint message type first, then y-protocols' sync or awareness
 * payload. `readMessage` is the one strict decoder: a frame that is truncated,
 * claims absurd lengths, carries an unknown type, or has bytes left over is an
 * error, so nothing undecodable ever reaches the document or another socket.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as sync from "y-protocols/sync";
import * as Y from "yjs";

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_AUTH = 2;
const MESSAGE_QUERY_AWARENESS = 3;
/**
 * The relay's own auth message: y-protocols reads only sub-type 0
 * (permission denied) and skips any other, so a stock provider ignores it,
 * and an app that wants the warning reads it (docs/protocol.md).
 */
const AUTH_EXPIRING = 1;

/** One client's awareness entry; `state` is its JSON text, "null" when it left. */
export type AwarenessEntry = { client: number; clock: number; state: string };

export type DocMessage =
  | { type: "step1"; stateVector: Uint8Array }
  | { type: "update"; update: Uint8Array }
  | { type: "awareness"; entries: AwarenessEntry[] }
  | { type: "query-awareness" };

/** A decoded message, or why the frame could not be decoded. */
export type Read = { ok: true; message: DocMessage } | { ok: false; reason: string };

/** Decodes one binary frame; never throws. */
export function readMessage(frame: Uint8Array): Read {
  try {
    const decoder = decoding.createDecoder(frame);
    const message = readBody(decoder);
    if (typeof message === "string") return { ok: false, reason: message };
    if (decoding.hasContent(decoder)) return { ok: false, reason: "trailing bytes" };
    return { ok: true, message };
  } catch (error) {
    return { ok: false, reason: `undecodable: ${String(error)}` };
  }
}

function readBody(decoder: decoding.Decoder): DocMessage | string {
  const type = decoding.readVarUint(decoder);
  if (type === MESSAGE_QUERY_AWARENESS) return { type: "query-awareness" };
  if (type === MESSAGE_AWARENESS) {
    return { type: "awareness", entries: readAwareness(decoding.readVarUint8Array(decoder)) };
  }
  if (type !== MESSAGE_SYNC) return `unknown message type ${type}`;
  const step = decoding.readVarUint(decoder);
  const payload = decoding.readVarUint8Array(decoder);
  if (step === sync.messageYjsSyncStep1) {
    // Decoding it here means a bad state vector is refused before it is used.
    Y.decodeStateVector(payload);
    return { type: "step1", stateVector: payload };
  }
  // Step 2 and update carry the same thing: an update to apply.
  if (step === sync.messageYjsSyncStep2 || step === sync.messageYjsUpdate) {
    return { type: "update", update: payload };
  }
  return `unknown sync step ${step}`;
}

/** Reads an awareness update; every state must be JSON, as receivers parse it. */
function readAwareness(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const client = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    JSON.parse(state);
    entries.push({ client, clock, state });
  }
  if (decoding.hasContent(decoder)) throw new Error("trailing bytes in awareness update");
  return entries;
}

/** Sync step 1: the server's state vector, so the peer answers with what the server lacks. */
export function syncStep1(doc: Y.Doc): Uint8Array {
  return message((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    sync.writeSyncStep1(encoder, doc);
  });
}

/** Sync step 2: what the peer lacks, given its state vector. */
export function syncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  return message((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    sync.writeSyncStep2(encoder, doc, stateVector);
  });
}

/** An update, as relayed to the other sockets of a document. */
export function syncUpdate(update: Uint8Array): Uint8Array {
  return message((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    sync.writeUpdate(encoder, update);
  });
}

/** The warning that the socket's token expires at `at` (ms since the epoch). */
export function expiringMessage(at: number): Uint8Array {
  return message((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_AUTH);
    encoding.writeVarUint(encoder, AUTH_EXPIRING);
    encoding.writeVarUint(encoder, at);
  });
}

/** An awareness message carrying these entries. */
export function awarenessMessage(entries: readonly AwarenessEntry[]): Uint8Array {
  return message((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, entries.length);
    for (const { client, clock, state } of entries) {
      encoding.writeVarUint(inner, client);
      encoding.writeVarUint(inner, clock);
      encoding.writeVarString(inner, state);
    }
    encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner));
  });
}

function message(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}
