/**
 * Finds connections that died without a close event (a NAT entry expired, the
 * Wi-Fi changed, a laptop slept): every interval it sends `ping`, and if no
 * frame at all arrives within the timeout, it declares the socket dead.
 */
import type { SocketLike } from "./socket";

const OPEN = 1;

export class Heartbeat {
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly socket: SocketLike,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly onDead: () => void,
  ) {}

  /** Pings every interval; one ping at a time, so a slow pong is not pinged again. */
  start(): void {
    this.pingTimer = setInterval(() => this.ping(), this.intervalMs);
  }

  /** Any frame proves the connection alive, not only a pong. */
  alive(): void {
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  stop(): void {
    clearInterval(this.pingTimer);
    this.alive();
  }

  private ping(): void {
    if (this.pongTimer !== undefined || this.socket.readyState !== OPEN) return;
    // Sent alone, never inside a batch: the relay answers the bare text `ping`.
    this.socket.send("ping");
    this.pongTimer = setTimeout(this.onDead, this.timeoutMs);
  }
}
