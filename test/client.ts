/** A test client for the workerd tests: a real WebSocket into the Worker. */
import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { ServerFrame } from "../src/protocol";
import type { Room } from "../src/room";

/** True in the project that runs these tests against rooms spread over shards. */
export const SHARDED = Number((env as { SHARD_COUNT?: string }).SHARD_COUNT ?? 0) > 0;

export type Welcome = Extract<ServerFrame, { type: "welcome" }>;

export class TestClient {
  readonly frames: ServerFrame[] = [];
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const text = String(event.data);
      this.raw.push(text);
      if (text === "pong") return this.wake();
      // One frame per line: a batching socket joins a turn's frames with "\n".
      for (const line of text.split("\n")) this.frames.push(JSON.parse(line) as ServerFrame);
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
    ws.accept();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits until some received frame matches, and returns it. */
  async next<T extends ServerFrame["type"]>(
    type: T,
    match: (frame: Extract<ServerFrame, { type: T }>) => boolean = () => true,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    const found = () =>
      this.frames.find(
        (f): f is Extract<ServerFrame, { type: T }> =>
          f.type === type && match(f as Extract<ServerFrame, { type: T }>),
      );
    await this.until(() => found() !== undefined, `a ${type} frame`);
    return found() as Extract<ServerFrame, { type: T }>;
  }

  /** Frames of one type, in arrival order. */
  all<T extends ServerFrame["type"]>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);
  }

  /**
   * Waits until `condition` holds, checking it whenever a frame or the close
   * arrives. The deadline is a real timer, so it holds even while a test has
   * frozen `Date`.
   */
  async until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      this.wake();
    }, ms);
    try {
      while (!condition()) {
        if (late) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  close(code = 1000): void {
    this.ws.close(code, "bye");
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export function upgrade(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`http://relay.test${path}`, {
    headers: { Upgrade: "websocket", ...headers },
  });
}

/** Connects a session and waits for its welcome; `query` adds upgrade parameters. */
export async function join(
  room: string,
  name = "",
  query: Record<string, string | number> = {},
  headers: Record<string, string> = {},
): Promise<{ client: TestClient; welcome: Welcome }> {
  const params = new URLSearchParams({ ...(name ? { name } : {}) });
  for (const [key, value] of Object.entries(query)) params.set(key, String(value));
  const search = params.size ? `?${params}` : "";
  const response = await upgrade(`/rooms/${room}/ws${search}`, headers);
  if (response.status !== 101 || !response.webSocket) {
    throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
  }
  const client = new TestClient(response.webSocket);
  const welcome = await client.next("welcome");
  return { client, welcome };
}

/** The room's end of the socket of the session with this display name. */
export function socketOf(state: DurableObjectState, name: string): WebSocket {
  const socket = state.getWebSockets().find((ws) => {
    const { peer } = ws.deserializeAttachment() as { peer: { name: string } };
    return peer.name === name;
  });
  if (!socket) throw new Error(`no session named ${name}`);
  return socket;
}

/**
 * Connects a session by calling the room directly, inside `runInDurableObject`,
 * so a test can run it in one event with other calls into the room. The
 * socket belongs to the room's I/O context: read it only inside that call.
 */
export async function joinInside(room: Room, roomName: string, query = ""): Promise<TestClient> {
  const response = await room.fetch(
    new Request(`https://room/connect?room=${roomName}&${query}`, {
      headers: { Upgrade: "websocket" },
    }),
  );
  return new TestClient(response.webSocket as WebSocket);
}

let rooms = 0;
/** A fresh room name per test, so tests never see each other's sessions. */
export function freshRoom(): string {
  rooms += 1;
  // Random too: a frozen clock must not give two test files the same name.
  return `room-${crypto.randomUUID().slice(0, 8)}-${rooms}`;
}

/**
 * Freezes `Date` where the test and the room both read it (they share an
 * isolate), so limits in time are tested at their exact boundary without
 * sleeping. Timers keep running. Call `vi.useRealTimers()` after the test.
 */
export function freezeClock(): { advance(ms: number): void } {
  vi.useFakeTimers({ toFake: ["Date"] });
  return { advance: (ms) => vi.setSystemTime(Date.now() + ms) };
}
