/**
 * What the hooks read, kept in slices that follow one client at a time:
 * a message changes only `messages`, a join only `peers`, so each component
 * re-renders for the slice it reads and no other.
 */
import type { Json, Message, Peer, RelayConnection, Status } from "./connection.js";
import { Slice } from "./slice.js";

/** A state for `setPresence`, or a function of the current one. */
export type PresenceUpdate = Json | ((current: Json | undefined) => Json);

export class RelayStore {
  readonly client = new Slice<RelayConnection | undefined>(undefined);
  readonly peers = new Slice<readonly Peer[]>([]);
  readonly messages = new Slice<readonly Message[]>([]);
  // Annotated, so the declaration names `Status` instead of spelling out a path into the client's.
  readonly status: Slice<Status> = new Slice({ state: "connecting", attempt: 0 });
  /** This session's own presence state, as last set here. */
  readonly presence = new Slice<Json | undefined>(undefined);
  private presenceInFlight = 0;

  constructor(private readonly messageLimit: number) {}

  /** Follows `client` until the returned function is called; a new client starts a new history. */
  attach(client: RelayConnection): () => void {
    if (this.client.get() !== client) this.messages.set([]);
    const peers = () => this.peers.set([...client.peers.values()]);
    const offs = [
      client.on("welcome", () => {
        peers();
        this.restorePresence(client);
      }),
      client.on("join", peers),
      client.on("leave", peers),
      client.on("presence", peers),
      client.on("message", (message) => this.addMessage(message)),
      client.on("status", (status) => this.status.set(status)),
    ];
    peers();
    this.status.set(client.status);
    this.client.set(client);
    return () => {
      for (const off of offs) off();
    };
  }

  /**
   * Sets this session's presence state: at once here, and on the relay through
   * the client. Resolves on the relay's ack; with no client yet, at once, and the
   * state goes out when the client connects.
   */
  setPresence(update: PresenceUpdate): Promise<void> {
    const state = typeof update === "function" ? update(this.presence.get()) : update;
    this.presence.set(state);
    const client = this.client.get();
    return client ? this.sendPresence(client, state) : Promise.resolve();
  }

  private sendPresence(client: RelayConnection, state: Json): Promise<void> {
    this.presenceInFlight++;
    const promise = client.setPresence(state);
    const settled = () => {
      this.presenceInFlight--;
    };
    promise.then(settled, settled);
    return promise;
  }

  /**
   * A new session starts without presence state on the relay: send ours again,
   * unless a send is still waiting, which the client delivers after the welcome.
   */
  private restorePresence(client: RelayConnection): void {
    const state = this.presence.get();
    if (state === undefined || this.presenceInFlight > 0) return;
    // A failure here is the one the application's next setPresence reports.
    this.sendPresence(client, state).catch(() => {});
  }

  private addMessage(message: Message): void {
    this.messages.set([...this.messages.get(), message].slice(-this.messageLimit));
  }
}
