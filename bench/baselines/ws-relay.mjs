/**
 * Baseline: the relay a self-hoster would write in an afternoon on Node and
 * the `ws` package. One process, rooms in a Map, the core protocol of
 * docs/protocol.md: welcome with peers, join/leave, broadcast, direct,
 * error frames, and the text `ping`. No persistence, no hibernation.
 *
 *   PORT=8080 node bench/baselines/ws-relay.mjs
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? "127.0.0.1";
const MAX_MESSAGE_BYTES = 65536;
const ROOM_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** @type {Map<string, Map<string, {id: string, name: string, ws: import("ws").WebSocket}>>} */
const rooms = new Map();

const http = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  } else {
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":{"code":"not_found","message":"no such route"}}');
  }
});

// The size limit is checked by hand so an oversized frame gets an error frame,
// as in our relay, instead of ws closing the connection with 1009.
const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * MAX_MESSAGE_BYTES });

http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url ?? "/", "http://relay");
  const match = /^\/rooms\/([^/]+)\/ws$/.exec(url.pathname);
  const room = match ? decodeURIComponent(match[1]) : "";
  if (!ROOM_NAME.test(room)) {
    socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    return;
  }
  const name = url.searchParams.get("name") ?? "";
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, room, name));
});

/** @param {import("ws").WebSocket} ws @param {string} roomName @param {string} name */
function join(ws, roomName, name) {
  let room = rooms.get(roomName);
  if (!room) {
    room = new Map();
    rooms.set(roomName, room);
  }
  const me = { id: randomUUID(), name, ws };
  const peers = [...room.values()].map((p) => ({ id: p.id, name: p.name }));
  ws.send(JSON.stringify({ type: "welcome", id: me.id, room: roomName, peers }));
  sendToAll(room, JSON.stringify({ type: "join", peer: { id: me.id, name } }));
  room.set(me.id, me);

  ws.on("message", (data, isBinary) => {
    if (isBinary) return error(ws, "bad_message", "binary frames are not accepted");
    const bytes = Array.isArray(data)
      ? data.reduce((n, b) => n + b.length, 0)
      : /** @type {Buffer} */ (data).length;
    if (bytes > MAX_MESSAGE_BYTES) return error(ws, "too_large", `frame is ${bytes} bytes`);
    const text = data.toString();
    if (text === "ping") return ws.send("pong");
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return error(ws, "bad_json", "frame is not valid JSON");
    }
    if (typeof frame !== "object" || frame === null || !("data" in frame)) {
      return error(ws, "bad_message", "expected an object with data");
    }
    const ts = Date.now();
    if (frame.type === "broadcast") {
      const out = JSON.stringify({ type: "message", from: me.id, data: frame.data, ts });
      sendToAll(/** @type {Map<string, any>} */ (room), out, me.id);
    } else if (frame.type === "direct" && typeof frame.to === "string") {
      const target = room?.get(frame.to);
      if (!target) return error(ws, "unknown_recipient", `no session ${frame.to} in this room`);
      target.ws.send(
        JSON.stringify({ type: "message", from: me.id, to: frame.to, data: frame.data, ts }),
      );
    } else {
      error(ws, "bad_message", "unknown type");
    }
  });

  let gone = false;
  const leave = () => {
    if (gone) return;
    gone = true;
    room?.delete(me.id);
    if (room?.size === 0) rooms.delete(roomName);
    else if (room) sendToAll(room, JSON.stringify({ type: "leave", peer: { id: me.id, name } }));
  };
  ws.on("close", leave);
  ws.on("error", leave);
}

/** @param {Map<string, {id: string, ws: import("ws").WebSocket}>} room @param {string} text @param {string} [except] */
function sendToAll(room, text, except) {
  for (const peer of room.values()) {
    if (peer.id !== except && peer.ws.readyState === 1) peer.ws.send(text);
  }
}

/** @param {import("ws").WebSocket} ws @param {string} code @param {string} message */
function error(ws, code, message) {
  ws.send(JSON.stringify({ type: "error", code, message }));
}

http.listen(PORT, HOST, () => console.log(`ws relay on http://${HOST}:${PORT}`));
