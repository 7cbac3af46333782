/** The part of a WebSocket the client uses; the global WebSocket of browsers and Node fits. */
export interface SocketLike {
  readonly readyState: number;
  /** The subprotocol the server chose; "" or absent if none, and then the client does not batch. */
  readonly protocol?: string | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  /** The code says why: the relay's codes for expiry, refusal and kicks are `CLOSE_CODES`. */
  addEventListener(
    type: "close",
    listener: (event: { code?: number; reason?: string }) => void,
  ): void;
  /** Some implementations (Node's undici) report a failed handshake only as an error. */
  addEventListener(type: "error", listener: () => void): void;
}

/** How the client makes a socket: the WebSocket constructor, or one shaped like it. */
export type SocketFactory = new (url: string, protocols?: string[]) => SocketLike;
