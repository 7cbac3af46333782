/**
 * The client the resume properties model, as an application would write one
 * on top of the protocol: per room, it resumes with the last seq it saw and
 * resends what was not acknowledged. `View` is one client's state in one
 * room, whatever carries it; `Solo` carries it over a single-room socket.
 * test/resume.property.test.ts runs it on rooms, test/hubs/faults/ on
 * multiplexed connections too; both end by comparing each view with the log.
 */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { join, type TestClient } from "./client";

/** The frames a view reads: a broadcast of the room's log, or the ack of its own. */
type Seen = { type: string; seq?: number; id?: string; data?: unknown; duplicate?: boolean };

/** One client's state in one room: what it has seen, and what it still owes the room. */
export class View {
  epoch = "";
  /** The highest seq this client has seen, by message or ack. */
  since = 0;
  /** Broadcasts seen, by seq: received from others or acknowledged as its own. */
  readonly seen = new Map<number, unknown>();
  /** Seqs in the order they arrived: others' broadcasts and first acks of its own. */
  readonly arrived: number[] = [];
  readonly unacked = new Map<string, unknown>();
  gaps = 0;
  private sent = 0;

  constructor(
    readonly room: string,
    readonly name: string,
  ) {}

  /** Where a new session resumes from: nothing on the first one. */
  resume(): { since: number; epoch: string } | Record<string, never> {
    return this.epoch ? { since: this.since, epoch: this.epoch } : {};
  }

  /** A welcome (on a socket or a subscription): the frames still unacked, to send again. */
  welcomed(welcome: { epoch: string; recovered?: boolean }): { data: unknown; id: string }[] {
    if (welcome.recovered === false) this.gaps += 1;
    this.epoch = welcome.epoch;
    return [...this.unacked].map(([id, data]) => ({ id, data }));
  }

  /** A new broadcast of this client's, kept until it is acked. */
  next(): { data: unknown; id: string } {
    const id = `${this.name}-${++this.sent}`;
    const data = `${this.name} says ${this.sent} in ${this.room}`;
    this.unacked.set(id, data);
    return { id, data };
  }

  absorb(frame: Seen): void {
    if (frame.seq === undefined) return;
    if (frame.type === "message") {
      this.arrived.push(frame.seq);
      this.seen.set(frame.seq, frame.data);
    } else if (frame.type === "ack" && frame.id !== undefined) {
      // A resent frame's ack repeats the seq it was first given.
      if (!frame.duplicate) this.arrived.push(frame.seq);
      this.seen.set(frame.seq, this.unacked.get(frame.id) ?? this.seen.get(frame.seq));
      this.unacked.delete(frame.id);
    } else return;
    this.since = Math.max(this.since, frame.seq);
  }

  /**
   * The room's guarantees for this member: nothing lost (it saw the whole
   * log, and every frame of its own was acked), nothing twice, in seq order.
   */
  expectWhole(log: Map<number, unknown>): void {
    const who = `${this.name} in ${this.room}`;
    expect(this.gaps, `${who}: resumes that could not recover`).toBe(0);
    expect([...this.unacked.keys()], `${who}: unacked`).toEqual([]);
    const ordered = this.arrived.every((seq, i) => i === 0 || seq > (this.arrived[i - 1] ?? 0));
    expect(ordered, `${who}: seqs in arrival order ${this.arrived}`).toBe(true);
    expect(this.seen, who).toEqual(log);
  }
}

/** A client on a single-room socket (`/rooms/:room/ws`). */
export class Solo {
  session: TestClient | undefined;
  readonly view: View;

  constructor(room: string, name: string) {
    this.view = new View(room, name);
  }

  async connect(): Promise<void> {
    const { room, name } = this.view;
    const { client, welcome } = await join(room, name, { client: name, ...this.view.resume() });
    this.session = client;
    let read = 0;
    // Frames are read once each, and only while this is the client's session.
    client.ws.addEventListener("message", () => {
      if (client !== this.session) return;
      for (const frame of client.frames.slice(read)) this.view.absorb(frame);
      read = client.frames.length;
    });
    for (const frame of this.view.welcomed(welcome)) client.send({ type: "broadcast", ...frame });
  }

  send(): void {
    const frame = this.view.next();
    this.session?.send({ type: "broadcast", ...frame });
  }

  drop(): void {
    this.session?.ws.close(4001, "network lost");
    this.session = undefined;
  }
}

/** The room's log, through the server API. */
export async function roomLog(room: string): Promise<Map<number, unknown>> {
  const response = await exports.default.fetch(
    `http://relay.test/rooms/${room}/history?limit=1000`,
    { headers: { authorization: "Bearer test-admin-token" } },
  );
  const body = (await response.json()) as { messages: { seq: number; data: unknown }[] };
  return new Map(body.messages.map((m) => [m.seq, m.data]));
}

/** Waits until every view of the room has seen its whole log (or 5 s pass), then returns the log. */
export async function settle(room: string, views: View[]): Promise<Map<number, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const log = await roomLog(room);
    const done = views.every((v) => v.unacked.size === 0 && v.seen.size === log.size);
    if (done || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 20));
  }
}
