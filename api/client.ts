/**
 * The server API client's entry object: built from a base URL or a service
 * binding and the admin token, it hands out a room's and a document's
 * handles and lists what is live.
 */
import { DocumentApi } from "./document";
import { type ApiResult, mapValue } from "./result";
import { RoomApi } from "./room";
import { type ApiOptions, Transport } from "./transport";
import type { Listing, ListQuery } from "./types";

/**
 * A typed client for the relay's server API, for a backend in Node (22+) or
 * in a Worker. Every call answers an `ApiResult`: `{ ok: true, value }` or
 * `{ ok: false, error }` with an error that names its cause; none throws.
 *
 * @example
 * // Node, or any runtime with fetch:
 * const api = new RelayApi({ url: "https://relay.example.com", token: process.env.ADMIN_TOKEN });
 * // A Worker with a service binding to the relay's Worker:
 * const api = new RelayApi({ service: env.RELAY, token: env.ADMIN_TOKEN });
 *
 * const sent = await api.room("lobby").publish({ text: "hello" });
 * if (!sent.ok) console.error(sent.error);
 */
export class RelayApi {
  private readonly transport: Transport;

  constructor(options: ApiOptions) {
    this.transport = new Transport(options);
  }

  /**
   * A room's handle: publish, describe, history, kick, ban. Names are checked by the relay.
   *
   * @example
   * const lobby = api.room("lobby");
   * await lobby.publish("hi");
   */
  room(name: string): RoomApi {
    return new RoomApi(this.transport, name);
  }

  /**
   * A Yjs document's handle: snapshot, sessions, kick, ban.
   *
   * @example
   * const state = await api.doc("notes").snapshot();
   */
  doc(name: string): DocumentApi {
    return new DocumentApi(this.transport, name);
  }

  /**
   * A page of live rooms with their counts, from the directory (`not_found`
   * without a `DIRECTORY` binding).
   *
   * @example
   * const busiest = await api.rooms({ sort: "occupancy", limit: 10 });
   * if (busiest.ok) for (const room of busiest.value.entries) console.log(room.name, room.count);
   */
  rooms(query: ListQuery = {}): Promise<ApiResult<Listing>> {
    return this.transport.json({ method: "GET", path: "/rooms", query, repeatable: true });
  }

  /**
   * A page of live documents with their socket counts, as `rooms()`.
   *
   * @example
   * const docs = await api.docs({ prefix: "team-" });
   */
  docs(query: ListQuery = {}): Promise<ApiResult<Listing>> {
    return this.transport.json({ method: "GET", path: "/docs", query, repeatable: true });
  }

  /**
   * Whether the relay answers `GET /health`: a check that the URL or binding leads to it.
   *
   * @example
   * const up = await api.health();
   * if (!up.ok) alert(up.error.message);
   */
  async health(): Promise<ApiResult<true>> {
    const path = "/health";
    const answer = await this.transport.json<{ ok: true }>({
      method: "GET",
      path,
      repeatable: true,
    });
    return mapValue(answer, () => true as const);
  }
}
