/**
 * One object's sessions in one room, and its link pair to that room: what a
 * shard is for its big room, and what a hub is for each room its
 * connections subscribe to (src/hubs/). The owner holds the sockets, parses
 * and rate-limits; here sessions are joined, spoken for and left, and the
 * room's stream comes down in the room's one order. Nothing is ordered or
 * stored here (the room is the sequencer), so sends never wait on a commit,
 * and a ring of recent broadcasts serves most resumes without asking the room.
 * See docs/large-rooms.md and docs/multiplex.md.
 */
import type { Refusal } from "../auth";
import { log } from "../log";
import { type Sink, sendEach } from "../outlet";
import { errorFrame, type Peer, type ProtocolError } from "../protocol";
import { Replay } from "../replay";
import { History } from "./history";
import { type Faults, Link } from "./link";
import { Ring } from "./ring";
import type { Down, DownBatch, Joiner, LogRow, Up, UpBatch, UpResult } from "./wire";

/** A session held here, as its room's stream reaches it. */
export type Held = {
  peer: Peer;
  scope: string;
  outlet: Sink;
  /** The room's welcome has arrived: from here on the session receives the room's stream. */
  welcomed: boolean;
  replay?: Replay;
};

/** What a holder needs of its room. */
export type RoomStub = {
  uplink(batch: UpBatch): Promise<UpResult>;
  logPage(after: number, limit: number): Promise<LogRow[]>;
};

export type HoldingOptions = {
  /** The room, and this holder as the room knows it (holders.ts), as far as the owner knows them yet. */
  room: string;
  holder: number;
  /** The room's `HISTORY_SIZE`: the ring keeps as many recent broadcasts, 1 to 1,000. */
  historySize: number;
  faults: Faults | undefined;
  /** The room of that name, on a fresh stub for each call. */
  stub: (room: string) => RoomStub;
  /** Ends a session from here: the owner lets it go and calls `leave`. */
  drop: (held: Held, code: number, reason: string) => void;
};

/** Which room a holding serves, and its holder number there (holders.ts). */
export type Place = { room: string; holder: number };

/** What a joining session tells the room beyond who it is. */
export type JoinDetails = Omit<Joiner, "peer" | "scope">;

export class Holding {
  readonly sessions = new Map<string, Held>();
  /** From the owner's name, else from what its upgrades and the room's downlinks say (`locate`). */
  private room: string;
  private holder: number;
  /** How each session not yet welcomed asked to join, to ask again if the room lost its welcome. */
  private readonly asked = new Map<string, Joiner>();
  private readonly ring: Ring;
  private readonly history: History;
  private readonly up: Link<Up, UpResult>;
  /** This life of the holding; a new one tells the room which sessions survived. */
  private life = crypto.randomUUID();
  /** The room has not yet answered this life: each batch says what is held. */
  private unconfirmed = true;
  /** This life has said hello, so the room learns of sessions a restart took. */
  private greeted = false;
  /** Joins waiting for the room's verdict. */
  private readonly joining = new Map<string, (refusal: Refusal | undefined) => void>();
  /** The last broadcast every welcomed session has been given; undefined until known. */
  private lastSeq: number | undefined;
  private roomLife: string | undefined;
  private lastDown = 0;
  /** Downlink batches, taken strictly one after another. */
  private stream: Promise<void> = Promise.resolve();

  constructor(private readonly options: HoldingOptions) {
    const { faults, stub } = options;
    this.room = options.room;
    this.holder = options.holder;
    this.ring = new Ring(Math.max(1, Math.min(options.historySize, 1000)));
    this.up = new Link<Up, UpResult>({
      name: `up-${options.holder}`,
      faults,
      call: (batch) =>
        stub(this.room).uplink({
          room: this.room,
          shard: this.holder,
          life: this.life,
          seq: batch.seq,
          holds: this.unconfirmed ? [...this.sessions.keys()] : undefined,
          events: batch.items,
        }),
      delivered: (batch, result) => this.answered(batch.items, result),
      lost: (batch) => this.upLost(batch.items),
    });
    this.history = new History((after, limit) => stub(this.room).logPage(after, limit));
  }

  /**
   * Takes the room's name and this holder's number from an upgrade or a
   * downlink: an owner reached by ID alone (through a local dev registry's
   * proxy) has no name to read them from, and its uplink would go astray.
   */
  locate(room: string, holder: number | undefined): void {
    if (room !== "") this.room = room;
    if (holder !== undefined && Number.isSafeInteger(holder)) this.holder = holder;
  }

  /** Where this holding is, as far as it knows. */
  get place(): Place {
    return { room: this.room, holder: this.holder };
  }

  /** A session whose socket woke with its object: it was welcomed before it slept. */
  adopt(held: Held): void {
    held.welcomed = true;
    this.sessions.set(held.peer.id, held);
  }

  /** Asks the room to admit a session; nothing reaches it before the room's welcome. */
  join(held: Held, details: JoinDetails): Promise<Refusal | undefined> {
    const { peer, scope } = held;
    const joiner = { peer, scope, ...details };
    this.sessions.set(peer.id, held);
    this.asked.set(peer.id, joiner);
    held.outlet.hold();
    return new Promise((resolve) => {
      this.joining.set(peer.id, resolve);
      this.up.push({ kind: "join", joiner });
    });
  }

  /** A frame that passed the owner's parser and rate limit, as the client's own JSON text. */
  speak(held: Held, text: string): void {
    this.up.push({ kind: "frame", from: held.peer.id, text });
  }

  /** An error for the session, sent down through the room so it keeps its place among the room's answers. */
  reject(held: Held, error: ProtocolError): void {
    log("protocol_error", { room: this.room, session: held.peer.id, code: error.code });
    this.up.push({ kind: "answer", to: held.peer.id, text: errorFrame(error) });
  }

  /** Tells the room once that a session left. */
  leave(id: string): void {
    this.sessions.delete(id);
    this.asked.delete(id);
    this.up.push({ kind: "leave", id });
  }

  /** Forgets a session the room never counted: its join was refused. */
  forget(id: string): void {
    this.sessions.delete(id);
    this.asked.delete(id);
  }

  /** Ends every session held here, as the owner's `drop` does. */
  closeAll(code: number, reason: string): void {
    for (const held of [...this.sessions.values()]) this.options.drop(held, code, reason);
  }

  // ---- the room's stream -------------------------------------------------

  /** The room's downlink: batches are taken in order, a repeated one is ignored. */
  downlink(batch: DownBatch): Promise<void> {
    const taken = this.stream.then(() => this.take(batch));
    this.stream = taken.catch((error: unknown) => {
      log("shard_error", { room: this.room, shard: this.holder, error: String(error) });
    });
    return taken;
  }

  private async take(batch: DownBatch): Promise<void> {
    this.locate(batch.room, batch.shard);
    if (batch.life !== this.roomLife) this.roomRestarted(batch.life);
    else if (batch.seq <= this.lastDown) return;
    this.lastDown = batch.seq;
    if (this.unconfirmed && !this.greeted) {
      // Woken by the room: a life that lost sessions to a restart must say so unasked.
      this.greeted = true;
      this.up.push({ kind: "hello" });
    }
    for (const item of batch.items) await this.apply(item);
  }

  private async apply(item: Down): Promise<void> {
    switch (item.kind) {
      case "broadcast":
        return this.relay(item.row);
      case "all":
        sendEach(
          this.sessions.values(),
          item.text,
          (s) => !s.welcomed || s.peer.id === item.except,
        );
        return;
      case "to":
        this.sessions.get(item.to)?.outlet.send(item.text);
        return;
      case "welcome":
        return this.welcome(item);
      case "close": {
        const held = this.sessions.get(item.to);
        if (held) this.options.drop(held, item.code, item.reason);
        return;
      }
      case "lost":
        return this.lost(item.ids);
    }
  }

  /**
   * The room lost items for these sessions. One that was welcomed missed
   * part of the stream and resumes; one still waiting never got its welcome,
   * and asks for it again rather than be dropped after the room announced
   * it. Sessions not held here (an old life's) are no concern.
   */
  private lost(ids: string[]): void {
    for (const id of ids) {
      const held = this.sessions.get(id);
      if (held?.welcomed) this.options.drop(held, 1013, "fell behind the room; resume");
      else if (held) this.askAgain(id);
    }
  }

  /** Asks the room again for a welcome it lost: it welcomes a member it knows once more. */
  private askAgain(id: string): void {
    const joiner = this.asked.get(id);
    if (joiner) this.up.push({ kind: "join", joiner });
  }

  /** A numbered broadcast: the gap before it (if any) first, then it, once and in order. */
  private async relay(row: LogRow): Promise<void> {
    await this.reach(row.seq - 1);
    if (this.lastSeq !== undefined && row.seq <= this.lastSeq) return;
    this.deliver(row);
  }

  /** Brings `lastSeq` up to `seq`, from the room's log when there is anyone to deliver to. */
  private async reach(seq: number): Promise<void> {
    if (this.lastSeq === undefined || !this.anyoneLive()) {
      // Nobody here needs what came before: the ring starts over at this point.
      if (this.lastSeq === undefined || seq > this.lastSeq) {
        this.ring.clear();
        this.lastSeq = seq;
      }
      return;
    }
    while (this.lastSeq < seq) {
      const rows = await this.history.read(this.lastSeq);
      const next = rows?.[0];
      if (rows === undefined) continue;
      if (!next || next.seq !== this.lastSeq + 1) {
        // The room's history no longer covers the gap: these sessions must resume.
        this.closeAll(4000, "fell behind");
        this.ring.clear();
        this.lastSeq = seq;
        return;
      }
      for (const one of rows) if (one.seq <= seq && one.seq === this.lastSeq + 1) this.deliver(one);
    }
  }

  private deliver(row: LogRow): void {
    this.ring.push(row);
    this.lastSeq = row.seq;
    const skip = (s: Held) => !s.welcomed || s.replay !== undefined || s.peer.id === row.sender;
    sendEach(this.sessions.values(), row.frame, skip);
  }

  private async welcome(item: Extract<Down, { kind: "welcome" }>): Promise<void> {
    await this.reach(item.seq);
    const held = this.sessions.get(item.to);
    if (!held || held.welcomed) return;
    held.outlet.replayed(item.text);
    held.welcomed = true;
    this.asked.delete(item.to);
    // What it missed: a resume's gap, or broadcasts taken here past the welcome's seq.
    const from = item.replayFrom ?? item.seq;
    if (from >= (this.lastSeq ?? from)) {
      held.outlet.release();
      return;
    }
    const source = {
      rows: (after: number) => this.ring.after(after) ?? this.history.read(after),
      last: () => this.lastSeq ?? from,
    };
    const alive = () => this.sessions.get(held.peer.id) === held;
    const drop = (code: number, reason: string) => this.options.drop(held, code, reason);
    Replay.start(held, from, source, alive, drop);
  }

  // ---- the room's answers -------------------------------------------------

  private answered(events: Up[], result: UpResult): void {
    this.unconfirmed = false;
    if (result.life !== this.roomLife) this.roomRestarted(result.life);
    for (const event of events) {
      if (event.kind !== "join") continue;
      const id = event.joiner.peer.id;
      const refusal = result.refused[id];
      const waiting = this.joining.get(id);
      this.joining.delete(id);
      if (waiting) waiting(refusal);
      else if (refusal) this.refusedAgain(id, refusal);
    }
  }

  /** A session that asked again for its welcome and was refused: the room no longer had room for it. */
  private refusedAgain(id: string, refusal: Refusal): void {
    const held = this.sessions.get(id);
    if (held && !held.welcomed) this.options.drop(held, 1013, refusal.message);
  }

  /** The room could not be reached: every session resumes, and a new life tells the room who is left. */
  private upLost(events: Up[]): void {
    for (const event of events) {
      if (event.kind !== "join") continue;
      const id = event.joiner.peer.id;
      const refusal: Refusal = {
        status: 503,
        code: "internal",
        message: "the room is unreachable; retry",
      };
      this.joining.get(id)?.(refusal);
      this.joining.delete(id);
    }
    this.closeAll(1012, "the room is unreachable; resume");
    this.life = crypto.randomUUID();
    this.unconfirmed = true;
    this.greeted = false;
  }

  /** A new life of the room may have lost what it had queued: welcomes that never came ask again. */
  private roomRestarted(life: string): void {
    const before = this.roomLife;
    this.roomLife = life;
    this.lastDown = 0;
    if (before === undefined) return;
    for (const held of this.sessions.values()) {
      if (!held.welcomed && !this.joining.has(held.peer.id)) this.askAgain(held.peer.id);
    }
  }

  private anyoneLive(): boolean {
    for (const held of this.sessions.values()) if (held.welcomed) return true;
    return false;
  }
}
