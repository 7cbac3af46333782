/**
 * Read-only watchers of a room, for the debug console. The room object sees
 * every join, leave, presence change and message, its shards' too, so a
 * watcher connects there: a socket the room accepts with the `observer` tag,
 * never a session (not in the roster, presence or occupancy; peers never hear
 * of it), that gets a copy of each frame the room sends, in the room's order.
 * It opens with a one-time ticket handed to the admin token's holder, because
 * a browser's WebSocket cannot send an Authorization header and the token must
 * not travel in a URL.
 */
import { errorResponse } from "../protocol";

const OBSERVER_TAG = "observer";
/** The path the Worker forwards a watcher's upgrade to (src/observe/observer-routes.ts). */
export const OBSERVE_URL = "https://room/observe";
/** How long a ticket may wait for its socket. */
export const TICKET_MS = 30_000;

export class Observers {
  private readonly sockets = new Set<WebSocket>();
  /**
   * Tickets not used yet, and when each lapses. In memory only: a room that
   * is evicted in the seconds between the ticket and the socket refuses the
   * socket, and the console asks for another ticket.
   */
  private readonly tickets = new Map<string, number>();

  constructor(private readonly ctx: DurableObjectState) {
    for (const ws of ctx.getWebSockets(OBSERVER_TAG)) this.sockets.add(ws);
  }

  /** Whether this upgrade is a watcher's, forwarded by the Worker. */
  static asks(request: Request): boolean {
    return request.url.startsWith(`${OBSERVE_URL}?`);
  }

  /** Whether anyone watches, so a room without watchers queues nothing for them. */
  get watching(): boolean {
    return this.sockets.size > 0;
  }

  /** A watcher's socket: the room's own sockets loop skips it. */
  has(ws: WebSocket): boolean {
    return this.sockets.has(ws);
  }

  /** Hands out a ticket for one watcher's socket, good for `TICKET_MS`. */
  ticket(now: number): string {
    for (const [ticket, lapses] of this.tickets) if (lapses <= now) this.tickets.delete(ticket);
    const ticket = crypto.randomUUID();
    this.tickets.set(ticket, now + TICKET_MS);
    return ticket;
  }

  /** Accepts a watcher's socket if its ticket is one this room handed out, unused and not lapsed. */
  open(request: Request, now: number): Response {
    const ticket = new URL(request.url).searchParams.get("ticket") ?? "";
    const lapses = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (lapses === undefined || lapses <= now) {
      return errorResponse(401, "unauthorized", "no such ticket, or it was used or lapsed");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [OBSERVER_TAG]);
    this.sockets.add(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends every watcher a copy of a frame the room sent; a socket that cannot take it is dropped. */
  send(text: string): void {
    for (const ws of this.sockets) {
      try {
        ws.send(text);
      } catch {
        this.sockets.delete(ws);
      }
    }
  }

  /** Forgets a watcher whose socket closed; false when `ws` was not a watcher's. */
  forget(ws: WebSocket): boolean {
    return this.sockets.delete(ws);
  }
}
