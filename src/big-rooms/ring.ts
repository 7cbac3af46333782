/**
 * A shard's recent broadcasts, oldest first and without holes, so most
 * resumes replay without asking the room. When the shard skips ahead (it had
 * nobody to deliver to), the ring starts over.
 */
import type { LogRow } from "./wire";

export class Ring {
  private rows: LogRow[] = [];

  constructor(private readonly capacity: number) {}

  /** The seq of the newest broadcast held, or undefined when empty. */
  get last(): number | undefined {
    return this.rows.at(-1)?.seq;
  }

  push(row: LogRow): void {
    if (this.last !== undefined && row.seq !== this.last + 1) this.rows = [];
    this.rows.push(row);
    if (this.rows.length > this.capacity) this.rows.splice(0, this.rows.length - this.capacity);
  }

  clear(): void {
    this.rows = [];
  }

  /** Rows after `after`, if the ring holds every one of them; else undefined. */
  after(after: number): LogRow[] | undefined {
    const first = this.rows[0];
    if (!first || first.seq > after + 1) return undefined;
    return this.rows.slice(after + 1 - first.seq);
  }
}
