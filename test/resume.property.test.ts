/**
 * Property: whatever the order of sends, drops and resumes, a client that
 * resumes with the last seq it saw and resends what was not acknowledged
 * ends with exactly the room's log: nothing twice, nothing missing, unless
 * the room said recovered:false.
 */

import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freshRoom, join, type TestClient } from "./client";

type Action =
  | { kind: "send"; who: number }
  | { kind: "drop"; who: number }
  | { kind: "resume"; who: number };

const CLIENTS = 3;

/** A client as an application would write one on top of the protocol. */
class Model {
  session: TestClient | undefined;
  epoch = "";
  /** The highest seq this client has seen, by message or ack. */
  since = 0;
  /** Broadcasts seen, by seq: received from others or acknowledged as its own. */
  readonly view = new Map<number, unknown>();
  readonly received: number[] = [];
  readonly unacked = new Map<string, unknown>();
  gaps = 0;
  private sent = 0;

  constructor(
    readonly room: string,
    readonly name: string,
  ) {}

  async connect(): Promise<void> {
    const query = {
      client: this.name,
      ...(this.epoch ? { since: this.since, epoch: this.epoch } : {}),
    };
    const { client, welcome } = await join(this.room, this.name, query);
    if (welcome.recovered === false) this.gaps += 1;
    this.epoch = welcome.epoch;
    this.session = client;
    client.ws.addEventListener("message", () => this.absorb(client));
    for (const [id, data] of this.unacked) client.send({ type: "broadcast", data, id });
  }

  send(): void {
    const id = `${this.name}-${++this.sent}`;
    const data = `${this.name} says ${this.sent}`;
    this.unacked.set(id, data);
    this.session?.send({ type: "broadcast", data, id });
  }

  drop(): void {
    this.session?.ws.close(4001, "network lost");
    this.session = undefined;
  }

  /** Reads frames as they arrive; each session's frames are read once. */
  private absorb(client: TestClient): void {
    const read = (client as TestClient & { read?: number }).read ?? 0;
    for (const frame of client.frames.slice(read)) {
      if (client !== this.session) break;
      if (frame.type === "message" && frame.seq !== undefined) {
        this.received.push(frame.seq);
        this.view.set(frame.seq, frame.data);
        this.since = Math.max(this.since, frame.seq);
      }
      if (frame.type === "ack" && frame.seq !== undefined) {
        this.view.set(frame.seq, this.unacked.get(frame.id));
        this.unacked.delete(frame.id);
        this.since = Math.max(this.since, frame.seq);
      }
    }
    (client as TestClient & { read?: number }).read = client.frames.length;
  }
}

async function roomLog(room: string): Promise<Map<number, unknown>> {
  const response = await exports.default.fetch(
    `http://relay.test/rooms/${room}/history?limit=1000`,
    { headers: { authorization: "Bearer test-admin-token" } },
  );
  const body = (await response.json()) as { messages: { seq: number; data: unknown }[] };
  return new Map(body.messages.map((m) => [m.seq, m.data]));
}

const actions = fc.array(
  fc.record({
    kind: fc.constantFrom("send", "send", "send", "drop", "resume"),
    who: fc.integer({ min: 0, max: CLIENTS - 1 }),
  }) as fc.Arbitrary<Action>,
  { minLength: 5, maxLength: 30 },
);

describe("resume, as a property", () => {
  it("every client's view ends equal to the room's log", async () => {
    await fc.assert(
      fc.asyncProperty(actions, async (script) => {
        const room = freshRoom();
        const models = Array.from({ length: CLIENTS }, (_, i) => new Model(room, `c${i}`));
        for (const model of models) await model.connect();
        for (const action of script) {
          const model = models[action.who] as Model;
          if (action.kind === "send" && model.session) model.send();
          if (action.kind === "drop") model.drop();
          if (action.kind === "resume" && !model.session) await model.connect();
          await new Promise((r) => setTimeout(r, 2));
        }
        for (const model of models) if (!model.session) await model.connect();
        const log = await settle(room, models);
        for (const model of models) {
          expect(model.gaps).toBe(0);
          expect(model.unacked.size).toBe(0);
          expect(new Set(model.received).size).toBe(model.received.length);
          expect(model.view).toEqual(log);
        }
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});

/** Waits until every client has seen the whole log, then returns it. */
async function settle(room: string, models: Model[]): Promise<Map<number, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const log = await roomLog(room);
    const done = models.every((m) => m.unacked.size === 0 && m.view.size === log.size);
    if (done || Date.now() > deadline) return log;
    await new Promise((r) => setTimeout(r, 20));
  }
}
