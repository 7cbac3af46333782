/**
 * How a document socket is refused or ended. The y-websocket provider stops
 * reconnecting on close codes 4400-4499 ("the server decided") and retries
 * everything else, so the code says whether trying again can help. A browser
 * cannot read the status of a refused upgrade, so refusals are sockets that
 * are accepted and closed at once with the code and a reason.
 */

export const CLOSE = {
  /** A malformed document name: retrying the same URL cannot help. */
  badName: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  /** A frame over MAX_MESSAGE_BYTES, or a document that would pass MAX_DOC_BYTES. */
  tooLarge: 4413,
  /**
   * Over the update budget or the connection cap, or `authorize` answered
   * neither 401 nor 403 (a 429, say): reconnecting later resyncs.
   */
  tryAgain: 1013,
  /** Still sending long after being cut off. */
  flooding: 1008,
  /**
   * The socket's token expired, as room sessions close (CLOSE_CODES.expired):
   * outside 4400-4499, so the provider reconnects, with a fresh token once
   * the app has put one in its `params`.
   */
  expired: 4001,
  /** Storage failed, or `authorize` answered 5xx; the client reconnects and resyncs. */
  internal: 1011,
} as const;

/** A 101 whose socket is closed at once, so the client reads `code` and `reason`. */
export function closedSocket(code: number, reason: string): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.close(code, reason);
  return new Response(null, { status: 101, webSocket: client });
}
