/**
 * What a room or document tells the people who run the relay, in one place:
 * the directory of live rooms and metrics. Each part
 * is there only when the Worker configures it; the room calls this at its
 * join and leave points and, for metrics, as frames pass.
 */
import type { Kind } from "./directory";
import { Metrics } from "./metrics";
import { Reporter } from "./reporter";

export class Watch {
  private constructor(
    private readonly directory: Reporter | undefined,
    /** Undefined unless `METRICS` is configured, so a frame's path tests one field. */
    readonly metrics: Metrics | undefined,
  ) {}

  /** `count` is members (rooms) or open sockets (documents), wherever they are held. */
  static of(env: object, kind: Kind, name: () => string, count: () => number): Watch {
    return new Watch(Reporter.of(env, kind, name, count), Metrics.of(env, kind, name, count));
  }

  /** Someone joined or left; `count` already says so. */
  changed(): void {
    this.directory?.changed();
    this.metrics?.changed();
  }
}
