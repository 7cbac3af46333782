/**
 * One Durable Object per room. It holds the room's sessions and routes frames
 * between them. It uses the WebSocket Hibernation API, so an idle room is
 * evicted from memory and costs nothing; each socket's attachment keeps who
 * the session is, and the session map is rebuilt from the sockets on wake.
 */
import { DurableObject } from "cloudflare:workers";
import { type Limits, readLimits } from "./config";
import { log } from "./log";
import {
  type ClientFrame,
  encode,
  errorFrame,
  errorResponse,
  type Peer,
  type ProtocolError,
  parseClientFrame,
  tryEncode,
} from "./protocol";

type Session = Peer & { ws: WebSocket };

export class Room extends DurableObject<Env> {
  private readonly sessions = new Map<string, Session>();
  /** Sockets whose leave was announced; close and error may both arrive. */
  private readonly departed = new WeakSet<WebSocket>();
  private readonly limits: Limits;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.limits = readLimits(env);
    // Heartbeats are answered by the runtime without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    for (const ws of ctx.getWebSockets()) {
      if (ws.readyState === WebSocket.OPEN) this.remember(ws, peerOf(ws));
    }
  }

  // ---- a session connects ------------------------------------------------

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const room = url.searchParams.get("room") ?? "";
    const name = url.searchParams.get("name") ?? "";
    if (this.sessions.size >= this.limits.maxConnectionsPerRoom) {
      log("refused", { room, code: "room_full", connections: this.sessions.size });
      return errorResponse(503, "room_full", "this room is full; try again later");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    const peer: Peer = { id: crypto.randomUUID(), name };
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(peer);

    const peers = [...this.sessions.values()].map(({ id, name }) => ({ id, name }));
    server.send(encode({ type: "welcome", id: peer.id, room, peers }));
    this.sendToAll(encode({ type: "join", peer }));
    this.remember(server, peer);
    log("connect", { room, session: peer.id, connections: this.sessions.size });
    return new Response(null, { status: 101, webSocket: client });
  }

  // ---- a session speaks --------------------------------------------------

  async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const sender = this.sessions.get(peerOf(ws).id);
    if (!sender) return; // the room already let this session go
    const parsed = parseClientFrame(raw, this.limits.maxMessageBytes);
    const error = parsed.ok ? this.route(sender, parsed.frame) : parsed.error;
    if (error) this.reject(sender, error);
  }

  private route(sender: Session, frame: ClientFrame): ProtocolError | undefined {
    const ts = Date.now();
    if (frame.type === "broadcast") {
      const text = tryEncode({ type: "message", from: sender.id, data: frame.data, ts });
      if (typeof text !== "string") return text;
      this.sendToAll(text, sender.id);
      return;
    }
    const target = this.sessions.get(frame.to);
    if (!target) {
      return { code: "unknown_recipient", message: `no session ${frame.to} in this room` };
    }
    const text = tryEncode({
      type: "message",
      from: sender.id,
      to: frame.to,
      data: frame.data,
      ts,
    });
    if (typeof text !== "string") return text;
    send(target.ws, text);
  }

  private reject(session: Session, error: ProtocolError): void {
    log("protocol_error", { room: this.name, session: session.id, code: error.code });
    send(session.ws, errorFrame(error));
  }

  // ---- a session leaves --------------------------------------------------

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.leave(ws, code);
    // Answer the close handshake so the client sees a clean close, not 1006.
    try {
      ws.close(echoable(code), reason);
    } catch {
      // already closed by the runtime
    }
  }

  async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.leave(ws, 1011, String(error));
  }

  private leave(ws: WebSocket, code: number, error?: string): void {
    if (this.departed.has(ws)) return;
    this.departed.add(ws);
    const peer = peerOf(ws);
    this.sessions.delete(peer.id);
    this.sendToAll(encode({ type: "leave", peer }));
    log("close", {
      room: this.name,
      session: peer.id,
      code,
      error,
      connections: this.sessions.size,
    });
  }

  // ---- plumbing ------------------------------------------------------------

  private get name(): string {
    return this.ctx.id.name ?? "";
  }

  private remember(ws: WebSocket, peer: Peer): void {
    this.sessions.set(peer.id, { ...peer, ws });
  }

  /** Sends one already-serialized frame to every session but `except`. */
  private sendToAll(text: string, except?: string): void {
    for (const session of this.sessions.values()) {
      if (session.id !== except) send(session.ws, text);
    }
  }
}

function peerOf(ws: WebSocket): Peer {
  return ws.deserializeAttachment() as Peer;
}

/** A send to a socket that is going away fails; its close event will follow. */
function send(ws: WebSocket, text: string): void {
  try {
    ws.send(text);
  } catch {
    // the close or error handler announces the leave
  }
}

/** 1005 and 1006 describe a missing close frame and cannot be sent back. */
function echoable(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 ? 1000 : code;
}
