/**
 * Per-room counts for a Workers Analytics Engine dataset (binding `METRICS`):
 * connections, frames and bytes in and out, error frames, webhook events lost. A room adds to its
 * tally as frames pass and writes one data point at most every `METRICS_MS`,
 * from a timer that starts with the first count after a write and ends with
 * the write, so a quiet room has no timer and writes nothing. Without the
 * binding nothing is counted. `METRICS = "log"` (a var) writes each point as
 * a `metrics` log line instead, to see locally what a deployment would write.
 */
import { read } from "../config";
import { log } from "../log";
import { utf8Length } from "../protocol";
import type { Kind } from "./directory";

export const METRICS_MS = 5000;

/** The data point's doubles, in this order (docs/observe.md has the queries). */
export const DOUBLES = [
  "connections",
  "framesIn",
  "bytesIn",
  "framesOut",
  "bytesOut",
  "errors",
  "webhooksDropped",
  "webhooksGivenUp",
] as const;

type Tally = Record<Exclude<(typeof DOUBLES)[number], "connections">, number>;

const empty = (): Tally => ({
  framesIn: 0,
  bytesIn: 0,
  framesOut: 0,
  bytesOut: 0,
  errors: 0,
  webhooksDropped: 0,
  webhooksGivenUp: 0,
});

/** Writes each point as a log line: the local stand-in for a dataset. */
const logged: AnalyticsEngineDataset = {
  writeDataPoint(point) {
    const [kind, name] = (point?.blobs ?? []) as string[];
    const values = Object.fromEntries(DOUBLES.map((key, i) => [key, point?.doubles?.[i]]));
    log("metrics", { kind, name, ...values });
  },
};

export class Metrics {
  private tally = empty();
  private timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    private readonly dataset: AnalyticsEngineDataset,
    private readonly kind: Kind,
    private readonly name: () => string,
    private readonly connections: () => number,
  ) {}

  /** Metrics when the Worker binds `METRICS` (or sets it to "log"), else undefined. */
  static of(env: object, kind: Kind, name: () => string, connections: () => number) {
    const bound = read(env, "METRICS");
    const dataset = bound === "log" ? logged : (bound as AnalyticsEngineDataset | undefined);
    if (typeof dataset?.writeDataPoint !== "function") return undefined;
    return new Metrics(dataset, kind, name, connections);
  }

  /** A frame from a client, as it arrived (a batch is one frame). */
  received(raw: string | ArrayBuffer): void {
    this.tally.framesIn += 1;
    this.tally.bytesIn += typeof raw === "string" ? utf8Length(raw) : raw.byteLength;
    this.soon();
  }

  /** One frame sent to `receivers` members. */
  sent(receivers: number, text: string | Uint8Array): void {
    if (receivers <= 0) return;
    this.tally.framesOut += receivers;
    this.tally.bytesOut += receivers * (typeof text === "string" ? utf8Length(text) : text.length);
    this.soon();
  }

  /** An error frame sent, or a socket the room closed for what it did. */
  refused(): void {
    this.tally.errors += 1;
    this.soon();
  }

  /** Webhook events lost: dropped by the outbox's bound, or in a batch given up after its tries. */
  webhooksLost(how: "dropped" | "givenUp", events: number): void {
    this.tally[how === "dropped" ? "webhooksDropped" : "webhooksGivenUp"] += events;
    this.soon();
  }

  /** Someone joined or left: the next point carries the new count. */
  changed(): void {
    this.soon();
  }

  private soon(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.write(), METRICS_MS);
  }

  private write(): void {
    this.timer = undefined;
    const tally = this.tally;
    this.tally = empty();
    const name = this.name();
    const doubles = DOUBLES.map((key) => (key === "connections" ? this.connections() : tally[key]));
    try {
      this.dataset.writeDataPoint({ blobs: [this.kind, name], doubles, indexes: [name] });
    } catch (error) {
      log("metrics_error", { kind: this.kind, name, error: String(error) });
    }
  }
}
