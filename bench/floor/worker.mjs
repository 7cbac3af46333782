/**
 * The runtime's floor for the "many rooms" scenario: the least a relay on
 * Durable Objects can do. The Worker forwards `/rooms/:room/ws` to the room's
 * object; the object accepts the socket through the hibernation API (as
 * src/room.ts does), sends a welcome the load generator recognises, and its
 * `webSocketMessage` forwards the raw text to the room's other sockets: no
 * parse, no storage, no presence notices. Whatever this costs per frame is
 * workerd's event dispatch and socket layer, which no relay code can remove.
 */
import { DurableObject } from "cloudflare:workers";

export class Floor extends DurableObject {
  /** @param {DurableObjectState} ctx @param {unknown} env */
  constructor(ctx, env) {
    super(ctx, env);
    /** @type {Set<WebSocket>} */
    this.peers = new Set(ctx.getWebSockets());
  }

  fetch() {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    this.peers.add(server);
    server.send(`{"type":"welcome","id":"${crypto.randomUUID()}"}`);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** @param {WebSocket} ws @param {string | ArrayBuffer} message */
  webSocketMessage(ws, message) {
    for (const peer of this.peers) if (peer !== ws) peer.send(message);
  }

  /** @param {WebSocket} ws @param {number} code */
  webSocketClose(ws, code) {
    this.peers.delete(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      // already gone
    }
  }

  /** @param {WebSocket} ws */
  webSocketError(ws) {
    this.peers.delete(ws);
  }
}

export default {
  /** @param {Request} request @param {{ROOMS: DurableObjectNamespace}} env */
  fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/health") return new Response("ok");
    const room = /^\/rooms\/([^/]+)\/ws$/.exec(pathname)?.[1];
    if (!room || request.headers.get("upgrade") !== "websocket")
      return new Response("not found", { status: 404 });
    return env.ROOMS.get(env.ROOMS.idFromName(room)).fetch(request);
  },
};
