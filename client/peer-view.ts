/**
 * A read-only window on the client's peer map: the application can read who
 * is there, but cannot add or remove anyone behind the client's back, even
 * from plain JavaScript where `ReadonlyMap` is only a type.
 */
import type { Peer } from "../src/frames";

export class PeerView implements ReadonlyMap<string, Peer> {
  constructor(private readonly map: ReadonlyMap<string, Peer>) {}

  get size(): number {
    return this.map.size;
  }

  get(id: string): Peer | undefined {
    return this.map.get(id);
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  forEach(callback: (peer: Peer, id: string, map: ReadonlyMap<string, Peer>) => void): void {
    for (const [id, peer] of this.map) callback(peer, id, this);
  }

  entries(): MapIterator<[string, Peer]> {
    return this.map.entries();
  }

  keys(): MapIterator<string> {
    return this.map.keys();
  }

  values(): MapIterator<Peer> {
    return this.map.values();
  }

  [Symbol.iterator](): MapIterator<[string, Peer]> {
    return this.map.entries();
  }
}
