/**
 * The resume property (test/resume.property.test.ts) with hubs, over links
 * that drop, double and delay calls (workerd-hubs-faults[-sharded]):
 * multiplexed connections in every room of a run and a single-room socket in
 * each, sending, publishing, dropping, resuming, and leaving and rejoining
 * one room on a live connection. Every room keeps its guarantees for every
 * member: each broadcast (acked or published) reaches it exactly once, in seq
 * order, with no gap, and each of its own is acked.
 */

import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freshRoom, type TestClient } from "../../client";
import { Solo, settle, View } from "../../resume-model";
import { connectHub, type Named, publish } from "../hubs";

const ROOMS = 3;
const MULTIPLEXED = 2;

/** A client on one multiplexed connection in every room of the run, resuming each on its own. */
class Multi {
  socket: TestClient | undefined;
  readonly views: Map<string, View>;
  /** Rooms welcomed on the current socket. */
  private live = new Set<string>();

  constructor(rooms: string[], name: string) {
    this.views = new Map(rooms.map((room) => [room, new View(room, name)]));
  }

  async connect(name: string): Promise<void> {
    const socket = await connectHub({ client: name, name });
    this.socket = socket;
    this.live = new Set();
    let read = 0;
    socket.ws.addEventListener("message", () => {
      if (socket !== this.socket) return;
      for (const frame of socket.frames.slice(read)) this.absorb(socket, frame as unknown as Named);
      read = socket.frames.length;
    });
    for (const room of this.views.keys()) this.subscribe(room);
    await socket.until(() => this.live.size === this.views.size, "every room's welcome");
  }

  send(room: string): void {
    const frame = (this.views.get(room) as View).next();
    // One not yet welcomed gets it with the resends that follow its welcome.
    if (this.live.has(room)) this.socket?.send({ type: "broadcast", room, ...frame });
  }

  /** Leaves one room and subscribes again from where it was, on the same socket. */
  async rejoin(room: string): Promise<void> {
    const socket = this.socket;
    if (!socket || !this.live.has(room)) return;
    socket.send({ type: "unsubscribe", room });
    await socket.until(() => !this.live.has(room), `unsubscribed from ${room}`);
    this.subscribe(room);
    await socket.until(() => this.live.has(room), `back in ${room}`);
  }

  drop(): void {
    this.socket?.ws.close(4001, "network lost");
    this.socket = undefined;
  }

  private subscribe(room: string): void {
    const view = this.views.get(room) as View;
    this.socket?.send({ type: "subscribe", room, ...view.resume() });
  }

  private absorb(socket: TestClient, frame: Named): void {
    const room = frame.room ?? "";
    const view = this.views.get(room);
    if (!view) return;
    if (frame.type === "welcome") {
      this.live.add(room);
      const welcome = frame as unknown as { epoch: string; recovered?: boolean };
      for (const resend of view.welcomed(welcome))
        socket.send({ type: "broadcast", room, ...resend });
    } else if (frame.type === "unsubscribed") {
      this.live.delete(room);
      // As the client library does: an end the client did not ask for is resumed at once.
      if (frame.code !== 1000) this.subscribe(room);
    } else view.absorb(frame);
  }
}

type Action =
  | { kind: "send" | "drop" | "resume"; who: number; room: number }
  | { kind: "rejoin"; who: number; room: number }
  | { kind: "publish"; who: number; room: number };

const CLIENTS = MULTIPLEXED + ROOMS;

const actions = fc.array(
  fc.record({
    kind: fc.constantFrom("send", "send", "send", "publish", "drop", "resume", "rejoin"),
    who: fc.integer({ min: 0, max: CLIENTS - 1 }),
    room: fc.integer({ min: 0, max: ROOMS - 1 }),
  }) as fc.Arbitrary<Action>,
  { minLength: 5, maxLength: 30 },
);

/** One run's clients: multiplexed ones first (in every room), then one single-room client per room. */
function cast(rooms: string[]) {
  const multi = Array.from({ length: MULTIPLEXED }, (_, i) => new Multi(rooms, `m${i}`));
  const solo = rooms.map((room, i) => new Solo(room, `s${i}`));
  return { multi, solo };
}

async function act(action: Action, rooms: string[], { multi, solo }: ReturnType<typeof cast>) {
  const room = rooms[action.room] as string;
  if (action.kind === "publish") return publish(room, 1, `api-${action.who}-`);
  const m = multi[action.who];
  const s = solo[action.who - MULTIPLEXED] as Solo;
  if (action.kind === "drop") return m ? m.drop() : s.drop();
  if (action.kind === "resume") {
    if (m && !m.socket) await m.connect(`m${action.who}`);
    if (!m && !s.session) await s.connect();
    return;
  }
  if (action.kind === "rejoin") return m?.rejoin(room);
  if (m) m.send(room);
  else if (s.session) s.send();
}

/** Waits until the room lists no peers (or 5 s pass), and answers those it still lists. */
async function emptied(room: string): Promise<unknown[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const response = await exports.default.fetch(`http://relay.test/rooms/${room}`, {
      headers: { authorization: "Bearer test-admin-token" },
    });
    const { peers } = (await response.json()) as { peers: unknown[] };
    if (peers.length === 0 || Date.now() > deadline) return peers;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("resume with hubs over faulty links, as a property", () => {
  it("every member of every room ends with the room's whole log, once and in order", async () => {
    await fc.assert(
      fc.asyncProperty(actions, async (script) => {
        const rooms = Array.from({ length: ROOMS }, () => freshRoom());
        const clients = cast(rooms);
        const { multi, solo } = clients;
        for (const [i, m] of multi.entries()) await m.connect(`m${i}`);
        for (const s of solo) await s.connect();
        try {
          for (const action of script) {
            await act(action, rooms, clients);
            await new Promise((r) => setTimeout(r, 2));
          }
          for (const [i, m] of multi.entries()) if (!m.socket) await m.connect(`m${i}`);
          for (const s of solo) if (!s.session) await s.connect();
          for (const [i, room] of rooms.entries()) {
            const views = [...multi.map((m) => m.views.get(room) as View), (solo[i] as Solo).view];
            const log = await settle(room, views);
            for (const view of views) view.expectWhole(log);
          }
          // Every session that closed is gone from its room: none leaks through a lost call.
          for (const client of [...multi, ...solo]) client.drop();
          for (const room of rooms) expect(await emptied(room), room).toEqual([]);
        } finally {
          for (const client of [...multi, ...solo]) client.drop();
        }
      }),
      { numRuns: 10 },
    );
  }, 120_000);
});
