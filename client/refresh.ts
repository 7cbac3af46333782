/**
 * Keeps a live session's token fresh. When the relay warns that the token
 * expires (an `expiring` frame), the application's token function is asked
 * for a new one, which goes to the relay in-band on the same connection; the
 * session then runs on without a reconnect. A failure (the function throws,
 * or the relay refuses the token) is reported and tried again with backoff,
 * until it works or the connection ends.
 */
import type { RefreshFrame } from "../src/frames";
import { type BackoffOptions, backoffDelay } from "./backoff";
import { RelayError } from "./outbox";
import type { ConnectOptions } from "./types";

export type RefreshOptions = {
  token: ConnectOptions["token"];
  backoff?: BackoffOptions;
  /** Sends a frame on the connection, in order with the application's. */
  send: (frame: RefreshFrame & { id: string }) => void;
  /** Reports a failure; the refresher tries again by itself. */
  failed: (error: RelayError) => void;
  nextId: () => string;
};

export class Refresher {
  /** The id of the refresh frame waiting for the relay's answer. */
  private pending: string | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly options: RefreshOptions) {}

  /** The relay's warning: fetch a token and send it, unless one is on its way. */
  expiring(): void {
    if (this.pending !== undefined || this.timer !== undefined) return;
    void this.run();
  }

  /** True when the ack was this refresher's: the relay took the token. */
  acked(id: string): boolean {
    if (id !== this.pending) return false;
    this.pending = undefined;
    this.attempt = 0;
    return true;
  }

  /** True when the error was this refresher's: the relay refused the token; it tries again. */
  refused(id: string, message: string): boolean {
    if (id !== this.pending) return false;
    this.pending = undefined;
    this.fail(`the relay refused the fresh token: ${message}`);
    return true;
  }

  /** The connection ended: nothing more is sent on it. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    const { token } = this.options;
    if (typeof token !== "function") {
      const message = "the token expires and a string token cannot be refreshed; pass a function";
      this.options.failed(new RelayError("token_failed", message));
      return;
    }
    let fresh: string;
    try {
      fresh = await token();
    } catch (error) {
      if (!this.stopped) this.fail(`the token function failed: ${String(error)}`);
      return;
    }
    if (this.stopped) return;
    const id = `refresh-${this.options.nextId()}`;
    this.pending = id;
    this.options.send({ type: "refresh", token: fresh, id });
  }

  private fail(message: string): void {
    this.options.failed(new RelayError("token_failed", message));
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.timer = setTimeout(() => void this.run(), delay);
  }
}
