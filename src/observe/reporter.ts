/**
 * A room's or document's side of the directory: it tells the directory at
 * once when it becomes occupied or vacated, and of a count in between only
 * when `REPORT_MS` passed since it last told one, so a busy room does not pay
 * a call per join. It sets no timer: a count it did not tell is found by the
 * next list, which asks the room about any entry older than `REPORT_MS`
 * (src/observe/routes.ts). Nothing waits for these calls, so they never
 * delay a client frame; they go one at a time, in order.
 */
import { read } from "../config";
import { log } from "../log";
import { DIRECTORY_NAME, type Directory, type Kind } from "./directory";

/** How often a changing count is told at most; also how long a list trusts an entry. */
export const REPORT_MS = 5000;
/** Tries of an occupied or vacated report, a second apart and then two. */
const RETRY_MS = [1000, 2000];

type DirectoryStub = Pick<Directory, "report">;

export class Reporter {
  /** The count the directory has from this object's life; undefined until it told one. */
  private sent: number | undefined;
  private sentAt = 0;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly directory: DirectoryStub,
    private readonly kind: Kind,
    private readonly name: () => string,
    private readonly count: () => number,
  ) {}

  /** A reporter when the Worker binds `DIRECTORY`, else undefined: nothing is told. */
  static of(env: object, kind: Kind, name: () => string, count: () => number) {
    const namespace = read(env, "DIRECTORY") as DurableObjectNamespace<Directory> | undefined;
    if (!namespace) return undefined;
    const stub = namespace.getByName(DIRECTORY_NAME) as unknown as DirectoryStub;
    return new Reporter(stub, kind, name, count);
  }

  /** The count changed (a join or a leave). */
  changed(now = Date.now()): void {
    const count = this.count();
    // A new life of the object (woken, restarted) tells once, whatever the count.
    const transition = this.sent === undefined || this.sent > 0 !== count > 0;
    if (transition || now - this.sentAt >= REPORT_MS) this.send(count, now, transition);
  }

  private send(count: number, now: number, transition: boolean): void {
    this.sent = count;
    this.sentAt = now;
    const name = this.name();
    const report = () => this.directory.report(this.kind, name, count);
    // A lost occupied or vacated would stay wrong until a list checks; a count will be told again.
    this.queue = this.queue.then(() =>
      (transition ? retried(report) : report()).catch((error) => {
        log("directory_error", { kind: this.kind, name, error: String(error) });
        if (this.sent === count) this.sent = undefined;
      }),
    );
  }
}

async function retried(call: () => Promise<void>): Promise<void> {
  for (const wait of RETRY_MS) {
    try {
      return await call();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  return call();
}
