/**
 * One load-generator process. The bench forks a few of these (bench/bench.mjs)
 * and drives them over IPC, so the generator's CPU is spread over processes
 * and measured apart from the bench and the server.
 *
 * Every client sends at an open-loop pace (not waiting for replies); each
 * payload carries [send time, step, sender, n] and the receiver computes
 * latency = receipt time - send time on the same machine clock
 * (performance.timeOrigin + performance.now()). Receivers find the stamp with a
 * byte search instead of parsing the whole frame, so large payloads cost the
 * generator little. Unknown frame types and fields are ignored.
 */
import { io } from "socket.io-client";
import WebSocket from "ws";
import { Histogram } from "./histogram.mjs";

const now = () => performance.timeOrigin + performance.now();
const MARK = Buffer.from('"bench":[');

/**
 * @typedef {{room: string, name: string, roomSize: number}} ClientSpec
 * @typedef {{spec: ClientSpec, id?: string, welcomedAt?: number, closed: boolean,
 *   send: (text: string | object) => void, close: () => void, sock: any}} Client
 */

/** @type {Client[]} */
let clients = [];
let kind = "relay";
let errorFrames = 0;
let unexpectedCloses = 0;

/** @type {{id: number, end: number, hist: Histogram, received: number, inWindow: number, bytes: number} | undefined} */
let step;

/** @param {number} t @param {number} stepId @param {number} bytes */
function onStamp(t, stepId, bytes) {
  if (!step || stepId !== step.id) return;
  const at = now();
  step.hist.record(at - t);
  step.received++;
  step.bytes += bytes;
  if (at <= step.end) step.inWindow++;
}

/** @param {Client} client @param {any} frame */
function onControl(client, frame) {
  if (!frame || typeof frame !== "object") return;
  if (frame.type === "welcome" && !client.id) {
    client.id = frame.id;
    client.welcomedAt = now();
    client.onWelcome?.();
  } else if (frame.type === "error") {
    errorFrames++;
  }
  // join, leave, ack and anything newer: not needed for load
}

/** @param {string} base @param {ClientSpec} spec @returns {Promise<Client>} */
function openRelay(base, spec) {
  const url = `${base.replace(/^http/, "ws")}/rooms/${spec.room}/ws?name=${encodeURIComponent(spec.name)}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  /** @type {Client & {onWelcome?: () => void}} */
  const client = {
    spec,
    closed: false,
    sock: ws,
    send: (text) => ws.send(/** @type {string} */ (text)),
    close: () => ws.close(1000),
  };
  ws.on("message", (buf, isBinary) => {
    if (isBinary) return;
    const data = /** @type {Buffer} */ (buf);
    const at = data.indexOf(MARK);
    if (at >= 0) {
      const head = data.toString("latin1", at + MARK.length, at + MARK.length + 80);
      const parts = head.slice(0, head.indexOf("]")).split(",");
      onStamp(Number(parts[0]), Number(parts[1]), data.length);
      return;
    }
    // Presence churn is the bulk of control frames; skip parsing it.
    if (
      data[0] === 0x7b &&
      (data.indexOf('{"type":"join"') === 0 || data.indexOf('{"type":"leave"') === 0)
    )
      return;
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return; // e.g. "pong"
    }
    onControl(client, frame);
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
  /** @type {Client & {onWelcome?: () => void}} */
  const client = {
    spec,
    closed: false,
    sock: socket,
    send: (data) => socket.emit("broadcast", data),
    close: () => socket.disconnect(),
  };
  socket.on("message", (frame) => {
    const stamp = frame?.data?.bench;
    if (Array.isArray(stamp)) {
      // Socket.IO has already parsed the packet; count the payload it carried.
      onStamp(stamp[0], stamp[1], frame.data.p ? frame.data.p.length + 60 : 60);
    }
  });
  socket.on("error_frame", () => {
    errorFrames++;
  });
  return new Promise((resolve, reject) => {
    socket.on("welcome", (frame) => {
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

/** @param {{base: string, kind: string, clients: ClientSpec[], concurrency: number}} msg */
async function connect(msg) {
  kind = msg.kind;
  const open = kind === "sio" ? openSocketIo : openRelay;
  const started = now();
  let next = 0;
  let failed = 0;
  /** @type {string[]} */
  const errors = [];
  const worker = async () => {
    while (next < msg.clients.length) {
      const spec = /** @type {ClientSpec} */ (msg.clients[next++]);
      try {
        clients.push(await open(msg.base, spec));
      } catch (error) {
        failed++;
        if (errors.length < 5) errors.push(String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, msg.concurrency) }, worker));
  const welcomed = clients.map((c) => c.welcomedAt ?? 0);
  return {
    connected: clients.length,
    failed,
    errors,
    started,
    lastWelcome: welcomed.length ? Math.max(...welcomed) : started,
    ids: clients.map((c) => c.id),
  };
}

/**
 * Sends `rate` messages/s (this process's share) for `durationMs` from
 * `startAt`, round-robin over the live clients.
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
  };
  const senders = clients.filter((c) => !c.closed);
  // Pad so the client frame is about payloadBytes on the wire.
  const sample = relayFrame(now(), msg.id, 9999, 99999, "");
  const pad = "x".repeat(Math.max(0, msg.payloadBytes - sample.length));
  while (now() < msg.startAt) await new Promise((r) => setTimeout(r, 1));
  let sent = 0;
  let expected = 0;
  let turn = 0;
  const seqs = new Map();
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
        if (kind === "sio") client.send({ bench: [stamp, msg.id, turn, n], p: pad });
        else client.send(relayFrame(stamp, msg.id, turn, n, pad));
        sent++;
        expected += client.spec.roomSize - 1;
      }
      if (t >= msg.startAt + msg.durationMs) {
        clearInterval(timer);
        resolve(undefined);
      }
    };
    const timer = setInterval(tick, 2);
  });
  return { sent, expected, frameBytes: sample.length + pad.length };
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
    else if (msg.cmd === "step") result = await runStep(msg);
    else if (msg.cmd === "count") result = { received: step?.received ?? 0 };
    else if (msg.cmd === "collect") {
      result = {
        received: step?.received ?? 0,
        inWindow: step?.inWindow ?? 0,
        bytes: step?.bytes ?? 0,
        hist: step?.hist.toJSON(),
        errorFrames,
        unexpectedCloses,
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
