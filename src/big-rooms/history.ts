/**
 * A shard's reads of its room's log, one call at a time for all who wait:
 * each call starts at the lowest point any waiter needs, and every waiter
 * takes what lies past its own point. So a hundred sessions resuming at
 * once cost the room a few calls, not a hundred.
 */
import type { LogRow } from "./wire";

const PAGE = 100;

type Waiter = {
  after: number;
  resolve(rows: LogRow[] | undefined): void;
  reject(e: unknown): void;
};

export class History {
  private waiting: Waiter[] = [];
  private busy = false;

  constructor(private readonly page: (after: number, limit: number) => Promise<LogRow[]>) {}

  /**
   * Rows after `after`, oldest first: empty when the log holds nothing past
   * it, undefined when this call served others further back (ask again).
   */
  read(after: number): Promise<LogRow[] | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ after, resolve, reject });
      if (!this.busy) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      const from = Math.min(...group.map((waiter) => waiter.after));
      try {
        const rows = await this.page(from, PAGE);
        for (const waiter of group) {
          const mine = rows.filter((row) => row.seq > waiter.after);
          const pageReachesIt = rows.length === 0 || (rows.at(-1)?.seq ?? 0) > waiter.after;
          waiter.resolve(pageReachesIt || rows.length < PAGE ? mine : undefined);
        }
      } catch (error) {
        for (const waiter of group) waiter.reject(error);
      }
    }
    this.busy = false;
  }
}
