/**
 * What a room or document tells the people who run the relay, in one place:
 * the directory of live rooms, metrics and, for rooms, webhooks. Each part
 * is there only when the Worker configures it; the room calls this at its
 * join and leave points and, for metrics, as frames pass.
 */
import type { Peer } from "../protocol";
import type { Kind } from "./directory";
import { Metrics } from "./metrics";
import type { OutboxStatus } from "./outbox";
import { Reporter } from "./reporter";
import { Webhooks } from "./webhooks";

export class Watch {
  private constructor(
    private readonly directory: Reporter | undefined,
    /** Undefined unless `METRICS` is configured, so a frame's path tests one field. */
    readonly metrics: Metrics | undefined,
    private readonly webhooks: Webhooks | undefined,
    private readonly count: () => number,
  ) {}

  /** `count` is members (rooms) or open sockets (documents), wherever they are held. */
  /** `storage` is a room's, for its webhook outbox; a document passes none and has no webhooks. */
  static of(
    env: object,
    kind: Kind,
    name: () => string,
    count: () => number,
    storage?: DurableObjectStorage,
  ): Watch {
    const metrics = Metrics.of(env, kind, name, count);
    const webhooks = storage ? Webhooks.of(env, name, storage, metrics) : undefined;
    return new Watch(Reporter.of(env, kind, name, count), metrics, webhooks, count);
  }

  /** A room's member joined; `count` already includes it. */
  joined(peer: Peer): void {
    this.changed();
    this.webhooks?.joined(peer, this.count());
  }

  /** A room's member left; `count` no longer includes it. */
  left(peer: Peer): void {
    this.changed();
    this.webhooks?.left(peer, this.count());
  }

  /** The room's alarm: webhooks that are due go out. */
  alarm(): Promise<void> {
    return this.webhooks?.alarm() ?? Promise.resolve();
  }

  /** Pending webhook events and losses, when the room sends webhooks. */
  webhookStatus(): OutboxStatus | undefined {
    return this.webhooks?.status();
  }

  /** A document's socket opened or closed; `count` already says so. */
  changed(): void {
    this.directory?.changed();
    this.metrics?.changed();
  }
}
