/**
 * One Yjs document through the server API: its stored state as a Yjs
 * update, its open sockets, and ending sessions (from `Ending`).
 */
import { Ending } from "./ending";
import { type ApiResult, mapValue } from "./result";
import type { Transport } from "./transport";
import type { DocumentSessions } from "./types";

/**
 * A Yjs document's handle, from `api.doc(name)`; holds no state.
 *
 * @example
 * const notes = api.doc("notes");
 * const open = await notes.sessions();
 * if (open.ok && open.value.some((s) => s.user === "mallory")) await notes.kick({ user: "mallory" });
 */
export class DocumentApi extends Ending {
  constructor(
    transport: Transport,
    readonly name: string,
  ) {
    super(transport, `/docs/${encodeURIComponent(name)}`);
  }

  /**
   * The document's state as one Yjs update, to apply with `Y.applyUpdate`;
   * `not_found` for a document that never stored anything.
   *
   * @example
   * const state = await api.doc("notes").snapshot();
   * if (state.ok) Y.applyUpdate(ydoc, state.value);
   */
  snapshot(): Promise<ApiResult<Uint8Array>> {
    return this.transport.bytes({ method: "GET", path: `${this.path}/snapshot`, repeatable: true });
  }

  /**
   * The document's open sockets and the user each was opened by.
   *
   * @example
   * const open = await api.doc("notes").sessions();
   * if (open.ok) console.log(open.value.map((session) => session.user));
   */
  async sessions(): Promise<ApiResult<DocumentSessions["sessions"]>> {
    const path = `${this.path}/sessions`;
    const answer = await this.transport.json<DocumentSessions>({
      method: "GET",
      path,
      repeatable: true,
    });
    return mapValue(answer, (value) => value.sessions);
  }
}
