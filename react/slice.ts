/**
 * One value that components subscribe to through `useSyncExternalStore`. Each
 * kind of state the hooks offer (peers, messages, status...) is its own slice,
 * so a change to one re-renders only the components that read that one.
 */
export class Slice<T> {
  private readonly listeners = new Set<() => void>();

  constructor(private value: T) {}

  /** The current value; the same object until `set` replaces it. */
  readonly get = (): T => this.value;

  /** Adds a listener called after every change; returns its removal. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(value: T): void {
    if (Object.is(value, this.value)) return;
    this.value = value;
    for (const listener of [...this.listeners]) listener();
  }
}
