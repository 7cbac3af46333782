/**
 * A WebSocket the test drives by hand: it records what the client sends and
 * lets the test open, feed, drop or refuse it, with no relay and no network.
 */

import { afterEach, beforeEach, vi } from "vitest";
import {
  type ConnectOptions,
  connect,
  type RelayClient,
  type SocketLike,
} from "../../client/index";
import type { ServerFrame, WelcomeFrame } from "../../src/frames";

type Event = { data: unknown; code?: number; reason?: string };
type Listener = (event: Event) => void;

/** The fields of a broadcast or direct frame as the client writes it. */
type Written = { type: string; id: string; data?: unknown; to?: string };

export class FakeSocket implements SocketLike {
  /** Every socket made, oldest first. */
  static made: FakeSocket[] = [];
  readyState = 0;
  protocol = "";
  /** Text frames the client wrote, as written. */
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {
    FakeSocket.made.push(this);
  }

  static get last(): FakeSocket {
    const socket = FakeSocket.made.at(-1);
    if (!socket) throw new Error("no socket was made");
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  /** The handshake succeeds; by default the server echoes what was offered. */
  open(protocol = this.protocols[0] ?? ""): void {
    this.readyState = 1;
    this.protocol = protocol;
    this.fire("open", {});
  }

  /** Opens and sends a welcome, as the relay does. */
  welcome(fields: Partial<WelcomeFrame> = {}, protocol?: string): void {
    this.open(protocol);
    const batching = this.protocol !== "";
    this.deliver({
      type: "welcome",
      id: `session-${FakeSocket.made.length}`,
      room: "r",
      peers: [],
      occupancy: 1,
      seq: 0,
      epoch: "e1",
      limits: { maxMessageBytes: 65_536, maxBatchFrames: batching ? 100 : 1 },
      ...fields,
    });
  }

  /** Server frames in one WebSocket frame, joined by "\n" as on an ndjson socket. */
  deliver(...frames: ServerFrame[]): void {
    this.receive(frames.map((frame) => JSON.stringify(frame)).join("\n"));
  }

  receive(text: string): void {
    this.fire("message", { data: text });
  }

  /**
   * The connection ends from the other side (or never opened, if it was still
   * connecting); the relay's close code and reason, when it closed it.
   */
  drop(code?: number, reason?: string): void {
    this.readyState = 3;
    this.fire("close", { data: undefined, code, reason });
  }

  /** Client frames written so far, every line of every frame, in order. */
  frames(): Written[] {
    return this.sent
      .filter((text) => text !== "ping")
      .flatMap((text) => text.split("\n"))
      .map((line) => JSON.parse(line) as Written);
  }

  /** The handshake fails the way Node's WebSocket reports it: an error event, no close. */
  fail(): void {
    this.fire("error", {});
  }

  private fire(type: string, event: Partial<Event>): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ data: event.data, ...event });
  }
}

/**
 * Runs each test of the calling file on fake timers and fresh fake sockets,
 * and returns `make` wrapped so each client it makes is closed when the test ends.
 */
export function onFakeSockets<O, C extends { close(): void }>(
  make: (options: O) => C,
): (options: O) => C {
  const clients: C[] = [];
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.made = [];
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    vi.useRealTimers();
  });
  return (options) => {
    const client = make(options);
    clients.push(client);
    return client;
  };
}

/**
 * A single-room client of `url` on fake sockets (see `onFakeSockets`), with
 * `defaults` under the test's own options.
 */
export function fakeClients(
  url: string,
  defaults: Partial<ConnectOptions>,
): (options?: Partial<ConnectOptions>) => RelayClient {
  const start = onFakeSockets((options: Partial<ConnectOptions>) =>
    connect(url, { room: "r", WebSocket: FakeSocket, ...defaults, ...options }),
  );
  return (options = {}) => start(options);
}
