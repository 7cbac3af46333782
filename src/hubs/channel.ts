/**
 * One room's share of a multiplexed socket: a sink that names the room in
 * every frame it passes to the socket's outlet, and holds that room's live
 * frames (not the other rooms') while its welcome or replay is pending.
 * Frames are JSON objects made by the room, so naming the room is a prefix,
 * not a parse and a second serialization.
 */
import type { Outlet, Sink } from "../outlet";
import { utf8Length } from "../protocol";

export class Channel implements Sink {
  private readonly prefix: string;
  /** Bytes the prefix adds to a frame, less the `{` it replaces. */
  private readonly extra: number;
  private held: string[] | undefined;

  constructor(
    private readonly outlet: Outlet,
    room: string,
  ) {
    this.prefix = `{"room":${JSON.stringify(room)},`;
    this.extra = utf8Length(this.prefix) - 1;
  }

  get batched(): boolean {
    return this.outlet.batched;
  }

  send(frame: string, bytes?: number): void {
    if (this.held) this.held.push(frame);
    else this.outlet.send(this.named(frame), bytes === undefined ? undefined : bytes + this.extra);
  }

  hold(): void {
    this.held ??= [];
  }

  replayed(frame: string): void {
    this.outlet.send(this.named(frame));
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const frame of held) this.outlet.send(this.named(frame));
  }

  private named(frame: string): string {
    return this.prefix + frame.slice(1);
  }
}
