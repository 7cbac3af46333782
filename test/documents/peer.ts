/**
 * A y-websocket peer for the workerd tests, built from y-protocols the way
 * the stock provider is: it sends sync step 1 on open, answers the server's
 * step 1 with step 2, applies updates, and tracks the awareness states it hears.
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as sync from "y-protocols/sync";
import * as Y from "yjs";
import { upgrade } from "../client";

type Options = { query?: string; headers?: Record<string, string>; doc?: Y.Doc; quiet?: boolean };

export class Peer {
  /** Awareness states heard, by client id; removals delete. */
  readonly states = new Map<number, unknown>();
  readonly frames: Uint8Array[] = [];
  /** Bytes of sync step 2 messages received: what a joiner is sent to catch up. */
  step2Bytes = 0;
  closed: { code: number; reason: string } | undefined;
  private clock = 0;

  constructor(
    readonly ws: WebSocket,
    readonly doc = new Y.Doc(),
  ) {
    // Binary frames arrive as Blobs here; a chain keeps them in order.
    let chain = Promise.resolve();
    ws.addEventListener("message", (event) => {
      const data = event.data as Blob | ArrayBuffer;
      chain = chain.then(async () => {
        const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
        this.receive(new Uint8Array(buffer));
      });
    });
    const relay = (update: Uint8Array, origin: unknown) => {
      if (origin !== this) this.send(0, (e) => sync.writeUpdate(e, update));
    };
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      // The document stays with its app; a peer opened on it later sends what this one could not.
      this.doc.off("update", relay);
    });
    ws.accept();
    this.doc.on("update", relay);
  }

  /**
   * Opens a document socket and sends step 1 as a provider does on open;
   * `quiet` skips that, so only the server's step 1 can draw out what `doc` holds.
   */
  static async open(name: string, options: Options = {}): Promise<Peer> {
    const response = await upgrade(`/docs/${name}${options.query ?? ""}`, options.headers);
    if (response.status !== 101 || !response.webSocket) {
      throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
    }
    const peer = new Peer(response.webSocket, options.doc);
    if (!options.quiet) peer.send(0, (e) => sync.writeSyncStep1(e, peer.doc));
    return peer;
  }

  get text(): string {
    return this.doc.getText("t").toString();
  }

  insert(text: string): void {
    const t = this.doc.getText("t");
    t.insert(t.length, text);
  }

  /** Sends this peer's awareness state (null: removal), with a new clock. */
  announce(state: unknown): void {
    this.clock += 1;
    this.announceAs(this.doc.clientID, this.clock, state);
  }

  /** Sends an awareness entry for any client id and clock. */
  announceAs(client: number, clock: number, state: unknown): void {
    this.send(1, (e) => {
      const inner = encoding.createEncoder();
      encoding.writeVarUint(inner, 1);
      encoding.writeVarUint(inner, client);
      encoding.writeVarUint(inner, clock);
      encoding.writeVarString(inner, JSON.stringify(state));
      encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    });
  }

  raw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  async until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private send(type: number, write: (encoder: encoding.Encoder) => void): void {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, type);
    write(encoder);
    this.ws.send(encoding.toUint8Array(encoder));
  }

  private receive(bytes: Uint8Array): void {
    this.frames.push(bytes);
    const decoder = decoding.createDecoder(bytes);
    const type = decoding.readVarUint(decoder);
    if (type === 0) {
      if (bytes[1] === sync.messageYjsSyncStep2) this.step2Bytes += bytes.byteLength;
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, 0);
      sync.readSyncMessage(decoder, reply, this.doc, this);
      if (encoding.length(reply) > 1 && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(encoding.toUint8Array(reply));
      }
    } else if (type === 1) {
      const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
      const count = decoding.readVarUint(update);
      for (let i = 0; i < count; i++) {
        const client = decoding.readVarUint(update);
        decoding.readVarUint(update);
        const state = JSON.parse(decoding.readVarString(update));
        if (state === null) this.states.delete(client);
        else this.states.set(client, state);
      }
    }
  }
}

let docs = 0;
/** A fresh document name per test. */
export function freshDoc(): string {
  docs += 1;
  return `doc-${Date.now().toString(36)}-${docs}`;
}
