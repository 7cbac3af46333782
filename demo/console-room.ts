/**
 * One room in the console: a watcher socket (src/observe/observers.ts) that
 * shows joins, leaves, presence and messages as the room sends them, the
 * people in it, a form to publish as "server", and its stored history.
 */
import type { Peer } from "../client/index";
import { json, segment } from "./console-api";
import { $ } from "./view";

/** What a watcher is sent: the room's frames to its members. */
type Watched =
  | { type: "join" | "leave" | "presence"; peer: Peer }
  | { type: "message"; from: string; to?: string; data: unknown; seq?: number; ts: number }
  | { type: "occupancy"; count: number };

/** What `GET /rooms/:room` says of the room's webhooks (docs/observe.md#webhooks). */
type WebhookStatus = {
  pending: number;
  lost: Partial<Record<"outbox_full" | "gave_up", { events: number; at: number }>>;
};

const RETRY_MS = 2000;
/** How often the room's webhook state is read again while it is watched. */
const STATUS_MS = 5000;
const SHOWN_EVENTS = 500;

export class RoomWatch {
  private ws: WebSocket | undefined;
  private status: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private readonly peers = new Map<string, Peer>();
  private readonly path: string;

  constructor(
    readonly room: string,
    private readonly failed: (error: unknown) => void,
  ) {
    this.path = `/rooms/${segment(room)}`;
  }

  async start(): Promise<void> {
    $("room-title").textContent = this.room;
    $("events").replaceChildren();
    $("history").replaceChildren();
    $("publish-result").textContent = "";
    $("room-webhooks").textContent = "";
    this.showPeers();
    this.status = setInterval(() => this.readStatus().catch(this.failed), STATUS_MS);
    await this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.status);
    this.ws?.close(1000, "console closed the room");
  }

  /** Publishes `raw` as JSON if it parses, else as a string. */
  async publish(raw: string): Promise<void> {
    const body = JSON.stringify({ data: parsed(raw) });
    const routed = await json<{ seq?: number }>(`${this.path}/messages`, { method: "POST", body });
    $("publish-result").textContent = `published, seq ${routed.seq}`;
  }

  /** The room's stored broadcasts from `since`, one page. */
  async history(since = 0): Promise<void> {
    const page = await json<{ messages: Watched[]; next: number | null }>(
      `${this.path}/history?since=${since}&limit=100`,
    );
    const list = $("history");
    if (since === 0) list.replaceChildren();
    for (const frame of page.messages) list.append(line(frame, this.nameOf(frame)));
    const more = $<HTMLButtonElement>("history-more");
    more.hidden = page.next === null;
    more.onclick = () => this.history(page.next ?? 0).catch(this.failed);
  }

  private async connect(): Promise<void> {
    const { ticket } = await json<{ ticket: string }>(`${this.path}/observe`, { method: "POST" });
    if (this.stopped) return;
    const origin = location.origin.replace(/^http/, "ws");
    const ws = new WebSocket(`${origin}${this.path}/observe?ticket=${ticket}`);
    this.ws = ws;
    ws.onopen = () => this.opened().catch(this.failed);
    ws.onmessage = (event) => this.show(JSON.parse(String(event.data)) as Watched);
    ws.onclose = () => {
      if (this.stopped) return;
      watchStatus("reconnecting", "reconnecting…");
      setTimeout(() => this.connect().catch(this.failed), RETRY_MS);
    };
  }

  /** Who was there before the watcher opened; what happens after arrives as frames. */
  private async opened(): Promise<void> {
    watchStatus("connected", "watching");
    const described = await this.readStatus();
    for (const peer of described.peers) if (!this.peers.has(peer.id)) this.peers.set(peer.id, peer);
    this.showPeers();
  }

  /** Reads the room, and shows its webhooks: pending, and any lost, which must not go unseen. */
  private async readStatus(): Promise<{ peers: Peer[] }> {
    const described = await json<{ peers: Peer[]; webhooks?: WebhookStatus }>(this.path);
    const line = $("room-webhooks");
    const hooks = described.webhooks;
    if (!hooks) return described;
    const full = hooks.lost.outbox_full;
    const gaveUp = hooks.lost.gave_up;
    const lost = [
      full ? `${full.events} dropped (outbox full)` : "",
      gaveUp ? `${gaveUp.events} given up after retries` : "",
    ].filter(Boolean);
    line.textContent = `Webhooks: ${hooks.pending} pending${lost.length ? ` · lost: ${lost.join(", ")}` : ""}`;
    if (lost.length) line.dataset.lost = "";
    else delete line.dataset.lost;
    return described;
  }

  private show(frame: Watched): void {
    if (frame.type === "join" || frame.type === "presence")
      this.peers.set(frame.peer.id, frame.peer);
    if (frame.type === "leave") this.peers.delete(frame.peer.id);
    if (frame.type !== "message" && frame.type !== "occupancy") this.showPeers();
    const events = $("events");
    events.prepend(line(frame, this.nameOf(frame)));
    while (events.childElementCount > SHOWN_EVENTS) events.lastElementChild?.remove();
  }

  private nameOf(frame: Watched): string {
    if (frame.type !== "message") return "";
    const who = (id: string) => (id === "server" ? "server" : label(this.peers.get(id), id));
    return `${who(frame.from)}${frame.to === undefined ? "" : ` → ${who(frame.to)}`}`;
  }

  private showPeers(): void {
    $("peer-count").textContent = String(this.peers.size);
    $("room-peers").replaceChildren(
      ...[...this.peers.values()].map((peer) => {
        const li = document.createElement("li");
        const state =
          peer.state === undefined || peer.state === null ? "" : ` · ${JSON.stringify(peer.state)}`;
        li.textContent = `${label(peer, peer.id)}${state}`;
        return li;
      }),
    );
  }
}

function label(peer: Peer | undefined, id: string): string {
  return peer?.name || peer?.user || id.slice(0, 8);
}

/** One event as a list item: its kind, when, and what it says. */
function line(frame: Watched, sender: string): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.type = frame.type;
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = frame.type;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = describe(frame, sender);
  li.append(kind, text);
  return li;
}

function describe(frame: Watched, sender: string): string {
  if (frame.type === "occupancy") return `${frame.count} in the room`;
  if (frame.type === "message") {
    const seq = frame.seq === undefined ? "direct" : `#${frame.seq}`;
    return `${sender} (${seq}): ${JSON.stringify(frame.data)}`;
  }
  const who = label(frame.peer, frame.peer.id);
  if (frame.type === "presence") return `${who} set ${JSON.stringify(frame.peer.state ?? null)}`;
  return `${who} ${frame.type === "join" ? "joined" : "left"}`;
}

function watchStatus(state: string, text: string): void {
  const status = $("watch-status");
  status.dataset.state = state;
  status.textContent = text;
}

function parsed(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
