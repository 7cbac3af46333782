/**
 * One load-generator process. The bench forks a few of these (bench/bench.mjs)
 * and drives them over IPC, so the generator's CPU is spread over processes
 * and measured apart from the bench and the server.
 *
 * Clients offer permessage-deflate, as browsers do (the `ws` client's
 * default); each server decides, and the extension it agreed is reported.
 * With `protocol: "ndjson"` they also offer the `edge-relay.ndjson`
 * subprotocol: received frames are split on "\n", and a sender's messages due
 * in one timer tick go out as one frame of at most the welcome's
 * `limits.maxBatchFrames` lines and `limits.maxMessageBytes` bytes (docs/protocol.md).
 *
 * Every client sends at an open-loop pace (not waiting for replies); each
 * payload carries [send time, step, sender, n] and the receiver computes
 * latency = receipt time - send time on the same machine clock
 * (performance.timeOrigin + performance.now()). Receivers find the stamp with a
 * byte search instead of parsing the whole frame, so large payloads cost the
 * generator little. Unknown frame types and fields are ignored. Receivers count
 * the WebSocket frames and the logical messages they carried, per step.
 *
 * `watch` (the big-room bench) sends nothing: it counts what the server API
 * publishes, with a latency histogram per broadcast and each client's order.
 * A client spec may name a loopback `localAddress`, so more clients than one
 * source address has ephemeral ports can connect.
 */
import { io } from "socket.io-client";
import WebSocket from "ws";
import { Histogram } from "./histogram.mjs";

const now = () => performance.timeOrigin + performance.now();
const MARK = Buffer.from('"bench":[');
const NEWLINE = 0x0a;
const NDJSON_PROTOCOL = "edge-relay.ndjson";
const PRESENCE = ['{"type":"join"', '{"type":"leave"'];

/**
 * @typedef {{room: string, name: string, roomSize: number, localAddress?: string}} ClientSpec
 * @typedef {{spec: ClientSpec, id?: string, welcomedAt?: number, closed: boolean, ndjson: boolean,
 *   maxBatch: number, maxBytes: number, extension: string, send: (text: string | object) => void, close: () => void,
 *   sock: any, onWelcome?: () => void, lastN?: number}} Client
 */

/** @type {Client[]} */
let clients = [];
let kind = "relay";
let errorFrames = 0;
let unexpectedCloses = 0;

/**
 * @type {{id: number, end: number, hist: Histogram, received: number, inWindow: number, bytes: number,
 *   frames: number, lines: number, perN?: Map<number, Histogram>, outOfOrder: number} | undefined}
 */
let step;

/**
 * @param {Client} client @param {number} t @param {number} stepId @param {number} n
 * @param {number} bytes @returns {boolean} counted
 */
function onStamp(client, t, stepId, n, bytes) {
  if (!step || stepId !== step.id) return false;
  const at = now();
  step.hist.record(at - t);
  step.received++;
  step.bytes += bytes;
  if (at <= step.end) step.inWindow++;
  if (step.perN) {
    // The server's broadcasts are numbered 1, 2, 3, ...: each client must see them in order, once.
    if (n <= (client.lastN ?? 0)) step.outOfOrder++;
    client.lastN = n;
    const hist = step.perN.get(n) ?? new Histogram();
    step.perN.set(n, hist);
    hist.record(at - t);
  }
  return true;
}

/** @param {Client} client @param {any} frame */
function onControl(client, frame) {
  if (!frame || typeof frame !== "object") return;
  if (frame.type === "welcome" && !client.id) {
    client.id = frame.id;
    client.welcomedAt = now();
    if (client.ndjson) {
      client.maxBatch = Math.max(1, Number(frame.limits?.maxBatchFrames) || 1);
      client.maxBytes = Number(frame.limits?.maxMessageBytes) || 65_536;
    }
    client.onWelcome?.();
  } else if (frame.type === "error") {
    errorFrames++;
  }
  // join, leave, ack and anything newer: not needed for load
}

/**
 * Handles one server frame, the bytes [start, end) of a WebSocket frame.
 * @param {Client} client @param {Buffer} data @param {number} start @param {number} end
 * @returns {boolean} whether it was a stamped message of the current step
 */
function onLine(client, data, start, end) {
  const at = data.indexOf(MARK, start);
  if (at >= 0 && at < end) {
    const head = data.toString("latin1", at + MARK.length, Math.min(end, at + MARK.length + 80));
    const parts = head.slice(0, head.indexOf("]")).split(",");
    return onStamp(client, Number(parts[0]), Number(parts[1]), Number(parts[3]), end - start);
  }
  // Presence churn is the bulk of control frames; skip parsing it.
  const prefix = data.toString("latin1", start, Math.min(end, start + 15));
  if (PRESENCE.some((p) => prefix.startsWith(p))) return false;
  try {
    onControl(client, JSON.parse(data.toString("utf8", start, end)));
  } catch {
    // e.g. "pong"
  }
  return false;
}

/** @param {Client} client @param {Buffer} data one WebSocket text frame */
function onFrame(client, data) {
  let lines = 0;
  let start = 0;
  while (start <= data.length) {
    const newline = client.ndjson ? data.indexOf(NEWLINE, start) : -1;
    const end = newline < 0 ? data.length : newline;
    if (end > start && onLine(client, data, start, end)) lines++;
    start = end + 1;
  }
  if (lines > 0 && step) {
    step.frames++;
    step.lines += lines;
  }
}

/**
 * @param {string} base @param {ClientSpec} spec @param {"plain" | "ndjson"} protocol
 * @param {boolean} deflate whether to offer permessage-deflate
 * @returns {Promise<Client>}
 */
function openRelay(base, spec, protocol, deflate) {
  const url = `${base.replace(/^http/, "ws")}/rooms/${spec.room}/ws?name=${encodeURIComponent(spec.name)}`;
  const ndjson = protocol === "ndjson";
  // perMessageDeflate: true is the ws client's default offer, as a browser makes.
  const ws = new WebSocket(url, ndjson ? [NDJSON_PROTOCOL] : [], {
    perMessageDeflate: deflate,
    ...(spec.localAddress ? { localAddress: spec.localAddress } : {}),
  });
  /** @type {Client} */
  const client = {
    spec,
    closed: false,
    ndjson,
    maxBatch: 1,
    maxBytes: 65_536,
    extension: "",
    sock: ws,
    send: (text) => ws.send(/** @type {string} */ (text)),
    close: () => ws.close(1000),
  };
  ws.on("open", () => {
    client.extension = ws.extensions || "none";
  });
  ws.on("message", (buf, isBinary) => {
    if (!isBinary) onFrame(client, /** @type {Buffer} */ (buf));
  });
  return new Promise((resolve, reject) => {
    client.onWelcome = () => resolve(client);
    ws.on("error", (error) => {
      if (!client.id) reject(error);
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("close", () => {
      if (!client.closed && client.id) unexpectedCloses++;
      client.closed = true;
      if (!client.id) reject(new Error("closed before welcome"));
    });
  });
}

/** @param {string} base @param {ClientSpec} spec @returns {Promise<Client>} */
function openSocketIo(base, spec) {
  const socket = io(base, {
    transports: ["websocket"],
    query: { room: spec.room, name: spec.name },
    reconnection: false,
    forceNew: true,
    timeout: 60_000,
  });
  /** @type {Client} */
  const client = {
    spec,
    closed: false,
    ndjson: false,
    maxBatch: 1,
    maxBytes: 65_536,
    extension: "",
    sock: socket,
    send: (data) => socket.emit("broadcast", data),
    close: () => socket.disconnect(),
  };
  socket.on("message", (frame) => {
    const stamp = frame?.data?.bench;
    if (Array.isArray(stamp)) {
      // Socket.IO has already parsed the packet; count the payload it carried.
      const bytes = frame.data.p ? frame.data.p.length + 60 : 60;
      if (onStamp(client, stamp[0], stamp[1], stamp[3], bytes) && step) {
        step.frames++;
        step.lines++;
      }
    }
  });
  socket.on("error_frame", () => {
    errorFrames++;
  });
  return new Promise((resolve, reject) => {
    socket.on("welcome", (frame) => {
      client.extension = socket.io.engine?.transport?.ws?.extensions || "none";
      onControl(client, { ...frame, type: "welcome" });
      resolve(client);
    });
    socket.on("connect_error", reject);
    socket.on("disconnect", () => {
      if (!client.closed && client.id) unexpectedCloses++;
      client.closed = true;
    });
  });
}

/**
 * Opens the clients, `concurrency` handshakes at a time; past `deadline` (epoch
 * ms, if given) it starts no more, so a bench that outgrows the server ends.
 * @param {{base: string, kind: string, protocol: "plain" | "ndjson", deflate?: boolean,
 *   clients: ClientSpec[], concurrency: number, deadline?: number}} msg
 */
async function connect(msg) {
  kind = msg.kind;
  const open = kind === "sio" ? openSocketIo : openRelay;
  const started = now();
  let next = 0;
  let failed = 0;
  // Counted per call: the big room connects to several servers at once.
  let opened = 0;
  /** @type {string[]} */
  const errors = [];
  const worker = async () => {
    while (next < msg.clients.length && now() < (msg.deadline ?? Infinity)) {
      const spec = /** @type {ClientSpec} */ (msg.clients[next++]);
      try {
        clients.push(await open(msg.base, spec, msg.protocol, msg.deflate !== false));
        opened++;
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, msg.concurrency) }, worker));
  const welcomed = clients.map((c) => c.welcomedAt ?? 0);
  /** @type {Record<string, number>} */
  const extensions = {};
  for (const c of clients) extensions[c.extension] = (extensions[c.extension] ?? 0) + 1;
  return {
    extensions,
    connected: opened,
    failed,
    errors,
    started,
    lastWelcome: welcomed.reduce((a, b) => Math.max(a, b), started),
    ids: clients.map((c) => c.id),
  };
}

/**
 * Sends `rate` messages/s (this process's share) for `durationMs` from
 * `startAt`, round-robin over the live clients. On ndjson sockets each
 * sender's messages of one timer tick leave as one frame (up to its
 * maxBatchFrames lines and maxMessageBytes bytes), as the client library
 * packs a tick's sends.
 * @param {{id: number, startAt: number, durationMs: number, rate: number, payloadBytes: number}} msg
 */
async function runStep(msg) {
  step = {
    id: msg.id,
    end: msg.startAt + msg.durationMs,
    hist: new Histogram(),
    received: 0,
    inWindow: 0,
    bytes: 0,
    frames: 0,
    lines: 0,
  };
  const senders = clients.filter((c) => !c.closed);
  // Pad so the client frame is about payloadBytes on the wire.
  const sample = relayFrame(now(), msg.id, 9999, 99999, "");
  const pad = "x".repeat(Math.max(0, msg.payloadBytes - sample.length));
  while (now() < msg.startAt) await new Promise((r) => setTimeout(r, 1));
  let sent = 0;
  let sentFrames = 0;
  let expected = 0;
  let turn = 0;
  const seqs = new Map();
  /** @type {Map<Client, string[]>} */
  const batches = new Map();
  const flush = () => {
    for (const [client, lines] of batches) {
      for (const frame of pack(lines, client.maxBatch, client.maxBytes)) {
        client.send(frame);
        sentFrames++;
      }
    }
    batches.clear();
  };
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      const elapsed = Math.min(t, msg.startAt + msg.durationMs) - msg.startAt;
      const due = Math.floor((msg.rate * elapsed) / 1000) - sent;
      for (let i = 0; i < due && senders.length > 0; i++) {
        const client = /** @type {Client} */ (senders[turn++ % senders.length]);
        const n = (seqs.get(client) ?? 0) + 1;
        seqs.set(client, n);
        const stamp = now();
        if (kind === "sio") {
          client.send({ bench: [stamp, msg.id, turn, n], p: pad });
          sentFrames++;
        } else if (client.ndjson) {
          const lines = batches.get(client) ?? [];
          lines.push(relayFrame(stamp, msg.id, turn, n, pad));
          batches.set(client, lines);
        } else {
          client.send(relayFrame(stamp, msg.id, turn, n, pad));
          sentFrames++;
        }
        sent++;
        expected += client.spec.roomSize - 1;
      }
      flush();
      if (t >= msg.startAt + msg.durationMs) {
        clearInterval(timer);
        resolve(undefined);
      }
    };
    const timer = setInterval(tick, 2);
  });
  return { sent, sentFrames, expected, frameBytes: sample.length + pad.length };
}

/**
 * Joins lines into frames of at most `maxLines` lines and `maxBytes` bytes
 * (a single longer line goes alone). Bench lines are ASCII: length = bytes.
 * @param {string[]} lines @param {number} maxLines @param {number} maxBytes
 */
function pack(lines, maxLines, maxBytes) {
  const frames = [];
  let batch = [];
  let bytes = 0;
  for (const line of lines) {
    const grown = bytes + (batch.length ? 1 : 0) + line.length;
    if (batch.length && (batch.length >= maxLines || grown > maxBytes)) {
      frames.push(batch.join("\n"));
      batch = [];
      bytes = 0;
    }
    bytes += (batch.length ? 1 : 0) + line.length;
    batch.push(line);
  }
  if (batch.length) frames.push(batch.join("\n"));
  return frames;
}

/** @param {number} t @param {number} stepId @param {number} sender @param {number} n @param {string} pad */
function relayFrame(t, stepId, sender, n, pad) {
  return `{"type":"broadcast","data":{"bench":[${t},${stepId},${sender},${n}],"p":"${pad}"}}`;
}

async function closeAll() {
  const open = clients.filter((c) => !c.closed);
  for (const c of open) {
    c.closed = true;
    c.close();
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const pending = open.filter((c) =>
      kind === "sio" ? c.sock.connected : c.sock.readyState !== WebSocket.CLOSED,
    );
    if (pending.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const c of open)
    if (kind !== "sio" && c.sock.readyState !== WebSocket.CLOSED) c.sock.terminate();
  clients = [];
  return { closed: open.length };
}

process.on("message", async (/** @type {any} */ msg) => {
  let result;
  try {
    if (msg.cmd === "connect") result = await connect(msg);
    else if (msg.cmd === "watch") {
      const perN = new Map();
      step = { id: msg.id, end: Infinity, hist: new Histogram(), received: 0, inWindow: 0 };
      step = { ...step, bytes: 0, frames: 0, lines: 0, perN, outOfOrder: 0 };
    } else if (msg.cmd === "step") result = await runStep(msg);
    else if (msg.cmd === "count") result = { received: step?.received ?? 0 };
    else if (msg.cmd === "collect") {
      result = {
        received: step?.received ?? 0,
        inWindow: step?.inWindow ?? 0,
        bytes: step?.bytes ?? 0,
        hist: step?.hist.toJSON(),
        frames: step?.frames ?? 0,
        lines: step?.lines ?? 0,
        errorFrames,
        unexpectedCloses,
        live: clients.filter((c) => !c.closed).length,
        outOfOrder: step?.outOfOrder ?? 0,
        perN: step?.perN ? [...step.perN].map(([n, hist]) => [n, hist.toJSON()]) : undefined,
      };
      step = undefined;
    } else if (msg.cmd === "close") result = await closeAll();
    else if (msg.cmd === "cpu") result = process.cpuUsage();
    else if (msg.cmd === "exit") process.exit(0);
    process.send?.({ rid: msg.rid, ok: true, result });
  } catch (error) {
    process.send?.({ rid: msg.rid, ok: false, error: String(error?.stack ?? error) });
  }
});
