/**
 * The rooms that components under one `<RelayRoomsProvider>` use, each with
 * its own store: a room is joined when the first component asks for it and
 * left a microtask after the last one lets go (so StrictMode's unmount and
 * mount again keep it), all over the provider's one connection.
 */
import type { RelayConnection, RelayRoomsConnection } from "./connection.js";
import { RelayStore } from "./store.js";

type Entry = {
  store: RelayStore;
  users: number;
  handle?: RelayConnection;
  detach?: () => void;
};

export class RoomRegistry {
  private readonly entries = new Map<string, Entry>();
  private client: RelayRoomsConnection | undefined;

  constructor(private readonly messageLimit: number) {}

  /** The store of room `name`, made on first use; the same object while the room is used. */
  store(name: string): RelayStore {
    return this.entry(name).store;
  }

  /** Follows `client`: every room in use joins on it. Returns the function that stops following. */
  attach(client: RelayRoomsConnection): () => void {
    this.client = client;
    for (const [name, entry] of this.entries) if (entry.users > 0) this.open(name, entry);
    return () => {
      for (const entry of this.entries.values()) {
        entry.detach?.();
        entry.detach = undefined;
        entry.handle = undefined;
      }
      if (this.client === client) this.client = undefined;
    };
  }

  /** One more component uses room `name`; the returned function lets go of it. */
  acquire(name: string): () => void {
    const entry = this.entry(name);
    entry.users++;
    if (this.client && !entry.handle) this.open(name, entry);
    return () => {
      entry.users--;
      queueMicrotask(() => {
        if (entry.users > 0 || this.entries.get(name) !== entry) return;
        entry.detach?.();
        entry.handle?.close();
        this.entries.delete(name);
      });
    };
  }

  private entry(name: string): Entry {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = { store: new RelayStore(this.messageLimit), users: 0 };
      this.entries.set(name, entry);
    }
    return entry;
  }

  private open(name: string, entry: Entry): void {
    if (!this.client) return;
    entry.handle = this.client.room(name);
    entry.detach = entry.store.attach(entry.handle);
  }
}
