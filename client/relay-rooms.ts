/**
 * The multi-room client: one reconnecting socket to the relay's `/ws`, on
 * which `room(name)` joins rooms, each with the API of a single-room client
 * (docs/client.md, "Many rooms on one connection"). After a drop every room
 * subscribes again with its own `since`/`epoch`, all in one batch.
 */
import {
  type HubServerFrame,
  NDJSON_PROTOCOL,
  type UnsubscribeFrame,
  type WelcomeFrame,
} from "../src/frames";
import { type Batcher, type BatchLimits, batchLimits } from "./batch";
import { Emitter } from "./emitter";
import { randomId } from "./ids";
import { type Connection, Link, type LinkOwner } from "./link";
import { RelayError } from "./outbox";
import { RoomHandle, type RoomHost } from "./room-handle";
import type { SocketLike } from "./socket";
import type { RoomOptions, RoomsEvents, RoomsOptions, Status } from "./types";
import { roomsUrl } from "./url";

/**
 * Lines per frame until the first welcome states the relay's limit: the
 * relay's documented cap (docs/protocol.md), so a reconnect's subscribes go
 * out in one frame.
 */
const FIRST_BATCH_FRAMES = 100;

export class RelayRooms extends Emitter<RoomsEvents> implements RoomHost {
  /** Random and fixed for this object's life: picks the relay's hub and scopes message ids. */
  readonly clientId = randomId();

  private readonly handles = new Map<string, RoomHandle>();
  private readonly link: Link<HubServerFrame>;
  private readonly url: URL;
  private batcher: Batcher | undefined;
  /** Rooms whose subscribe goes out at the end of this tick. */
  private readonly pending = new Set<RoomHandle>();

  /** Throws at once if `url` is not a URL or there is no WebSocket to connect with. */
  constructor(
    url: string,
    private readonly options: RoomsOptions = {},
  ) {
    super();
    this.url = new URL(url);
    this.link = new Link(options, this.owner());
    this.link.start();
  }

  /** The socket's last `status` event; each room has its own too. */
  get status(): Status {
    return this.link.status;
  }

  /** The rooms joined and not left, in the order they were first asked for. */
  get rooms(): readonly RoomHandle[] {
    return [...this.handles.values()];
  }

  /**
   * The handle of room `name`, joining it if this connection is not in it
   * yet (the same handle while it is). On a closed connection the handle is
   * closed at once.
   *
   * @example
   * ```ts
   * const relay = connectRooms("https://relay.example.com", { name: "ada" });
   * const lobby = relay.room("lobby");
   * lobby.on("message", (m) => console.log(m.data));
   * await lobby.broadcast({ text: "hi" });
   * ```
   */
  room(name: string, options: RoomOptions = {}): RoomHandle {
    const existing = this.handles.get(name);
    if (existing) return existing;
    const handle = new RoomHandle(name, this, this.options, this.tokenOf(name, options));
    if (this.link.status.state === "closed") {
      handle.shutdown();
      return handle;
    }
    this.handles.set(name, handle);
    this.subscribe(handle);
    return handle;
  }

  /** Drops the socket and stays offline until reconnect(); every room's unacked sends wait. */
  disconnect(): void {
    this.link.disconnect();
  }

  /** Connects now, dropping the current socket if any (e.g. when the network came back). */
  reconnect(): void {
    this.link.reconnect();
  }

  /** Closes the socket for good; every room closes, its pending sends rejected with `closed`. */
  close(): void {
    if (this.link.status.state === "closed") return;
    const handles = this.rooms;
    this.handles.clear();
    this.link.close();
    for (const handle of handles) handle.shutdown();
  }

  // ---- RoomHost: what the rooms ask of the connection ------------------------

  subscribe(handle: RoomHandle): void {
    // Not connected: the socket's opening subscribes every room.
    if (!this.link.established) return;
    this.pending.add(handle);
    if (this.pending.size === 1) queueMicrotask(() => void this.flushSubscribes());
  }

  release(handle: RoomHandle, subscribed: boolean): void {
    if (this.handles.get(handle.name) !== handle) return;
    this.handles.delete(handle.name);
    this.pending.delete(handle);
    if (!subscribed || !this.batcher) return;
    const frame: UnsubscribeFrame = { type: "unsubscribe", room: handle.name };
    this.batcher.add(batchKey(handle.name), JSON.stringify(frame));
  }

  /**
   * Sends the subscribes asked for in one tick in one batch, once every
   * room's token is in: a reconnect resubscribes all rooms in one frame.
   */
  private async flushSubscribes(): Promise<void> {
    const connection = this.link.established;
    const handles = [...this.pending];
    this.pending.clear();
    const frames = await Promise.all(handles.map((handle) => handle.subscribeFrame()));
    // The socket dropped meanwhile: the next one subscribes every room anyway.
    if (!connection || this.link.established !== connection || !this.batcher) return;
    handles.forEach((handle, i) => {
      const frame = frames[i];
      if (!frame || !handle.wanted || this.handles.get(handle.name) !== handle) return;
      this.batcher?.add(batchKey(handle.name), JSON.stringify(frame));
      handle.subscribed();
    });
  }

  private tokenOf(room: string, options: RoomOptions): (() => Promise<string>) | undefined {
    const token = options.token ?? this.options.token;
    if (token === undefined) return undefined;
    return async () => (typeof token === "function" ? token(room) : token);
  }

  private owner(): LinkOwner<HubServerFrame> {
    return {
      url: async () => roomsUrl(this.url, this.options.name, this.clientId),
      resuming: () => this.rooms.some((handle) => handle.id !== undefined),
      opened: (connection) => this.opened(connection),
      frame: (connection, frame) => this.route(connection, frame),
      // A socket the relay closes is lost, whatever the code: rooms end by `unsubscribed`.
      closed: () => false,
      written: (keys) => {
        for (const key of keys) {
          const [room, id] = splitKey(key);
          this.handles.get(room)?.written(id);
        }
      },
      tooLarge: (key, bytes, limit) => {
        const [room, id] = splitKey(key);
        this.handles.get(room)?.tooLarge(id, bytes, limit);
      },
      dropped: () => {
        this.batcher = undefined;
        this.pending.clear();
        for (const handle of this.handles.values()) handle.dropped();
      },
      status: (status) => {
        this.emit("status", status);
        for (const handle of this.rooms) handle.linkStatus(status);
      },
      error: (error) => this.emit("error", error),
    };
  }

  /** The relay sends nothing before a subscribe: the socket is ready once open. */
  private opened(connection: Connection): void {
    this.batcher = this.link.establish(connection, firstLimits(connection.socket));
    this.link.connected();
    for (const handle of this.handles.values()) this.subscribe(handle);
  }

  private route(connection: Connection, frame: HubServerFrame): void {
    if (frame.type === "error" && frame.room === undefined) {
      this.emit("error", new RelayError(frame.code, frame.message, frame.id));
      return;
    }
    const handle = frame.room === undefined ? undefined : this.handles.get(frame.room);
    if (!handle) return;
    switch (frame.type) {
      case "unsubscribed":
        handle.unsubscribed(frame.code, frame.reason);
        break;
      case "welcome":
        this.welcome(connection, handle, frame);
        break;
      case "message": {
        // The message is the room's already; the application gets it as a single-room client would.
        const { room: _room, ...message } = frame;
        handle.frame(message);
        break;
      }
      default:
        handle.frame(frame);
    }
  }

  private welcome(connection: Connection, handle: RoomHandle, frame: WelcomeFrame): void {
    const { batcher } = this;
    if (!batcher) return;
    batcher.setLimits(batchLimits(connection.socket, frame));
    handle.welcome(frame, { add: (id, text) => batcher.add(batchKey(handle.name, id), text) });
  }
}

/**
 * A frame's key in the shared batcher: its room and its id, since two rooms
 * may use the same id. Room names never hold a newline (the relay refuses them).
 */
function batchKey(room: string, id = ""): string {
  return `${room}\n${id}`;
}

function splitKey(key: string): [room: string, id: string] {
  const at = key.indexOf("\n");
  return [key.slice(0, at), key.slice(at + 1)];
}

function firstLimits(socket: SocketLike): BatchLimits {
  const batching = socket.protocol === NDJSON_PROTOCOL;
  return { maxFrames: batching ? FIRST_BATCH_FRAMES : 1, maxBytes: Number.POSITIVE_INFINITY };
}
