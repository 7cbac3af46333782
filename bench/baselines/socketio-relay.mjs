/**
 * Baseline: the same room relay on Socket.IO 4, the way its docs suggest.
 * Clients connect with `?room=&name=`, get a `welcome` event with their id and
 * the peers, and see `join`/`leave`. They emit `broadcast` (data) and
 * `direct` ({to, data}); peers receive `message` events shaped like our
 * relay's message frames. WebSocket transport only (the bench clients never
 * use long-polling), no per-message compression.
 *
 *   PORT=8081 node bench/baselines/socketio-relay.mjs
 */
import { createServer } from "node:http";
import { Server } from "socket.io";

const PORT = Number(process.env.PORT ?? 8081);
const HOST = process.env.HOST ?? "127.0.0.1";

const http = createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  } else {
    // Socket.IO answers its own path (/socket.io/) before this handler runs.
    res.writeHead(404).end();
  }
});

const io = new Server(http, {
  transports: ["websocket"],
  perMessageDeflate: false,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
});

/** Presence per room: socket id -> name. */
/** @type {Map<string, Map<string, string>>} */
const presence = new Map();

io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room ?? "lobby");
  const name = String(socket.handshake.query.name ?? "");
  let members = presence.get(room);
  if (!members) {
    members = new Map();
    presence.set(room, members);
  }
  const peers = [...members].map(([id, peerName]) => ({ id, name: peerName }));
  socket.join(room);
  socket.emit("welcome", { id: socket.id, room, peers });
  socket.to(room).emit("join", { peer: { id: socket.id, name } });
  members.set(socket.id, name);

  socket.on("broadcast", (data) => {
    socket.to(room).emit("message", { from: socket.id, data, ts: Date.now() });
  });
  socket.on("direct", (frame) => {
    if (!frame || typeof frame.to !== "string" || !members?.has(frame.to)) {
      socket.emit("error_frame", { code: "unknown_recipient", message: "no such session" });
      return;
    }
    io.to(frame.to).emit("message", {
      from: socket.id,
      to: frame.to,
      data: frame.data,
      ts: Date.now(),
    });
  });
  socket.on("disconnect", () => {
    members?.delete(socket.id);
    if (members?.size === 0) presence.delete(room);
    socket.to(room).emit("leave", { peer: { id: socket.id, name } });
  });
});

http.listen(PORT, HOST, () => console.log(`socket.io relay on http://${HOST}:${PORT}`));
