/**
 * A document's edits on their way in: the `Y.Doc` in memory, what a turn
 * added to it, and that turn's one storage commit.
 *
 * An update is applied and relayed to the other sockets as it arrives, and
 * the turn's new content is stored in one commit when the turn ends. Relaying
 * first keeps the storage commit (and the output gate, which holds every send
 * until pending writes are confirmed) off the path between two editors. It
 * loses nothing Yjs cannot recover: an update is only relayed once the
 * document applied it, every receiver then holds it, and a provider that
 * reconnects after a restart answers the document's sync step 1 with what the
 * document lacks (docs/protocol.md, "Relayed before stored").
 *
 * A burst (a script's thousands of one-character edits) arrives faster than
 * turns end: past AT_ONCE_PER_TURN updates in one turn, the rest wait for the
 * turn's end and are applied in one transaction, whose cost grows with their
 * bytes where applying each alone grows with the square of their number.
 */
import * as Y from "yjs";
import type { DocStore } from "./store";

/** Updates of one turn applied and relayed one by one; later ones wait for the turn's end. */
export const AT_ONCE_PER_TURN = 8;

/** What the edits tell the document they belong to. */
export type EditsOutlet<S> = {
  /** Sends what `update` added to every socket but `except`. */
  relay(update: Uint8Array, except: S | undefined): void;
  /** An update that did not apply was left out. */
  refused(reason: string): void;
  /** These senders' updates could not be applied even apart: they reconnect and resync. */
  unapplied(senders: Set<S>): void;
  /** The turn could not be stored: every socket may hold what was lost, and resyncs it. */
  unstored(error: unknown): void;
};

/** A turn's edits: what it added (to store), its bytes, and the burst waiting for its end. */
type Turn<S> = {
  added: Uint8Array[];
  bytes: number;
  atOnce: number;
  waiting: { sender: S; update: Uint8Array }[];
};

export class Edits<S> {
  private turn: Turn<S> | undefined;
  /** The document in memory: storage plus what this turn added; loaded on first use. */
  private loaded: Y.Doc | undefined;

  constructor(
    private readonly store: DocStore,
    private readonly outlet: EditsOutlet<S>,
  ) {}

  get doc(): Y.Doc {
    this.loaded ??= this.rebuild();
    return this.loaded;
  }

  /** Bytes received this turn and not stored yet. */
  unstoredBytes(): number {
    return this.turn?.bytes ?? 0;
  }

  /** Takes an update from `sender`: applied and relayed now, or with the burst at the turn's end. */
  receive(sender: S, update: Uint8Array): void {
    if (!this.turn) {
      this.turn = { added: [], bytes: 0, atOnce: 0, waiting: [] };
      setTimeout(() => this.end(), 0);
    }
    const turn = this.turn;
    turn.bytes += update.byteLength;
    if (turn.atOnce < AT_ONCE_PER_TURN) {
      turn.atOnce += 1;
      this.apply([{ sender, update }]);
    } else {
      turn.waiting.push({ sender, update });
    }
  }

  /** Applies the burst that waited, then stores what the turn added in one commit. */
  private end(): void {
    const turn = this.turn;
    if (!turn) return;
    if (turn.waiting.length > 0) this.apply(turn.waiting);
    this.turn = undefined;
    if (turn.added.length === 0) return;
    try {
      this.store.append(turn.added, this.doc);
    } catch (error) {
      this.loaded = undefined;
      this.outlet.unstored(error);
    }
  }

  /**
   * Applies updates in one transaction and relays what they added. An update
   * that fails is left out: the document may have taken part of it, so it is
   * rebuilt and the others applied again.
   */
  private apply(items: { sender: S; update: Uint8Array }[]): void {
    const senders = new Set(items.map((item) => item.sender));
    const updates = items.map((item) => item.update);
    let added = applied(this.doc, updates);
    if (added instanceof Failure) {
      this.outlet.refused(`update failed to apply: ${added.error.message}`);
      this.loaded = undefined;
      added = applied(
        this.doc,
        updates.filter((_, i) => i !== (added as Failure).index),
      );
      if (added instanceof Failure) {
        this.loaded = undefined;
        this.outlet.unapplied(senders);
        return;
      }
    }
    if (!added) return;
    this.turn?.added.push(added);
    // A lone sender has it all already; with several, each also hears its own.
    this.outlet.relay(added, senders.size === 1 ? [...senders][0] : undefined);
  }

  /** Storage, plus what this turn added before the document had to be rebuilt. */
  private rebuild(): Y.Doc {
    const doc = this.store.load();
    const added = this.turn?.added ?? [];
    if (added.length === 0) return doc;
    doc.transact(() => {
      for (const update of added) Y.applyUpdate(doc, update);
    });
    return doc;
  }
}

/** Which update of a set failed to apply, and why. */
class Failure {
  constructor(
    readonly index: number,
    readonly error: Error,
  ) {}
}

/** Applies updates in one transaction; answers what they added (undefined if nothing). */
function applied(doc: Y.Doc, updates: Uint8Array[]): Uint8Array | undefined | Failure {
  let added: Uint8Array | undefined;
  const capture = (update: Uint8Array) => {
    added = update;
  };
  doc.on("update", capture);
  try {
    let failure: Failure | undefined;
    doc.transact(() => {
      updates.forEach((update, i) => {
        if (failure) return;
        try {
          Y.applyUpdate(doc, update);
        } catch (error) {
          failure = new Failure(i, error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    return failure ?? added;
  } finally {
    doc.off("update", capture);
  }
}
