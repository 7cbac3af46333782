/**
 * The provider's client across React's unmount-and-mount-again of the same
 * component (StrictMode does it once on purpose): a release closes the client
 * a microtask later, and an acquire for the same connection in between keeps
 * it, so only one connection is ever opened for it.
 */
/** A client the lease can close: a single-room client or a multi-room connection. */
type Closable = { close(): void };

export class ClientLease<C extends Closable> {
  private held: { key: string; client: C } | undefined;
  private closing = false;

  /** The client for `key`: the one held if its key matches, else a new one from `open`. */
  acquire(key: string, open: () => C): C {
    this.closing = false;
    if (this.held?.key === key) return this.held.client;
    this.held?.client.close();
    this.held = { key, client: open() };
    return this.held.client;
  }

  /** Closes the client unless it is acquired again before the next microtask. */
  release(): void {
    this.closing = true;
    const held = this.held;
    queueMicrotask(() => {
      if (!this.closing || this.held !== held) return;
      held?.client.close();
      this.held = undefined;
      this.closing = false;
    });
  }
}
