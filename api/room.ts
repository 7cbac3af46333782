/**
 * One room through the server API: publish into it (with an idempotency
 * id), read who is in it and its history, ask for a watcher's ticket, and
 * end sessions (from `Ending`).
 */
import { Ending } from "./ending";
import { type ApiResult, mapValue } from "./result";
import type { Transport } from "./transport";
import type {
  Delivered,
  HistoryPage,
  HistoryQuery,
  Published,
  PublishOptions,
  RoomDescription,
} from "./types";

/**
 * A room's handle, from `api.room(name)`; holds no state, so make one per call if you like.
 *
 * @example
 * const lobby = api.room("lobby");
 * const who = await lobby.describe();
 * if (who.ok && who.value.connections > 0) await lobby.publish({ text: "hello, all" });
 */
export class RoomApi extends Ending {
  constructor(
    transport: Transport,
    readonly name: string,
  ) {
    super(transport, `/rooms/${encodeURIComponent(name)}`);
  }

  /**
   * Broadcasts `data` to everyone in the room, from `"server"`, stored in
   * its history. Sent under `options.id`, or a fresh id when none is given,
   * so the client's own retries (and yours, with the answer's `id`) never
   * store it twice: a repeat answers the first `seq` with `duplicate: true`.
   *
   * @example
   * const sent = await api.room("lobby").publish({ text: "deploy at noon" }, { id: "notice-42" });
   * if (sent.ok) console.log(sent.value.seq);
   * else if (sent.error.kind === "relay" && sent.error.code === "too_large") shorten();
   */
  publish(data: unknown, options: PublishOptions = {}): Promise<ApiResult<Published>> {
    return this.post<Omit<Published, "id">>({ data }, options);
  }

  /**
   * Sends `data` to one session (its id is in `describe()`), not stored;
   * `unknown_recipient` when it is not in the room.
   *
   * @example
   * await api.room("lobby").direct(sessionId, { text: "only you" });
   */
  direct(to: string, data: unknown, options: PublishOptions = {}): Promise<ApiResult<Delivered>> {
    return this.post<Omit<Delivered, "id">>({ to, data }, options);
  }

  /**
   * Who is in the room now (everyone, announced or not), its `seq` and
   * `epoch`, and whether it is spread over shards. Reading a room creates nothing.
   *
   * @example
   * const room = await api.room("lobby").describe();
   * if (room.ok) console.log(room.value.peers.map((peer) => peer.name));
   */
  describe(): Promise<ApiResult<RoomDescription>> {
    return this.transport.json({ method: "GET", path: this.path, repeatable: true });
  }

  /**
   * A page of stored broadcasts after `since`.
   *
   * @example
   * let since: number | null = 0;
   * while (since !== null) {
   *   const page = await api.room("lobby").history({ since, limit: 500 });
   *   if (!page.ok) break;
   *   for (const message of page.value.messages) console.log(message.seq, message.data);
   *   since = page.value.next;
   * }
   */
  history(query: HistoryQuery = {}): Promise<ApiResult<HistoryPage>> {
    const path = `${this.path}/history`;
    return this.transport.json({ method: "GET", path, query, repeatable: true });
  }

  /**
   * A one-time ticket for a read-only watcher's socket, good for 30 s:
   * open `GET /rooms/:room/observe?ticket=` with it (docs/observe.md).
   *
   * @example
   * const ticket = await api.room("lobby").watcherTicket();
   * if (ticket.ok) new WebSocket(`wss://relay.example.com/rooms/lobby/observe?ticket=${ticket.value}`);
   */
  async watcherTicket(): Promise<ApiResult<string>> {
    const path = `${this.path}/observe`;
    const answer = await this.transport.json<{ ticket: string }>({
      method: "POST",
      path,
      repeatable: false,
    });
    return mapValue(answer, (value) => value.ticket);
  }

  /** Publishes under an id, given or fresh; repeatable because the room drops a repeated id. */
  private async post<T>(
    body: { data: unknown; to?: string },
    options: PublishOptions,
  ): Promise<ApiResult<T & { id: string }>> {
    const id = options.id ?? crypto.randomUUID();
    const path = `${this.path}/messages`;
    const answer = await this.transport.json<T>({
      method: "POST",
      path,
      body: { ...body, id },
      repeatable: true,
    });
    return mapValue(answer, (value) => ({ ...value, id }));
  }
}
