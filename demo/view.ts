/** DOM helpers for the demo page. Text always goes in through textContent, never as HTML. */
import type { Peer, Status } from "../client/index";

export function $<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

const LABELS: Record<Status["state"], string> = {
  connecting: "connecting…",
  connected: "connected",
  reconnecting: "reconnecting…",
  offline: "offline",
  closed: "offline",
};

export function showStatus(status: Status): void {
  const element = $("status");
  const shown = status.state === "connecting" ? "reconnecting" : status.state;
  element.dataset.state = shown === "closed" ? "offline" : shown;
  const retry = status.retryInMs;
  element.textContent =
    status.state === "reconnecting" && retry !== undefined && retry >= 1000
      ? `reconnecting in ${Math.round(retry / 1000)} s`
      : LABELS[status.state];
}

export function showPeers(me: string, peers: ReadonlyMap<string, Peer>): void {
  const list = $("peers");
  const others = [...peers.values()].sort((a, b) => a.name.localeCompare(b.name));
  const items = [
    { name: `${me} (you)`, mine: true },
    ...others.map((p) => ({ name: p.name, typing: p.state === "typing", mine: false })),
  ];
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement("li");
      const typing = "typing" in item && item.typing ? " (typing…)" : "";
      li.textContent = `${item.name || "anonymous"}${typing}`;
      if (item.mine) li.className = "me";
      return li;
    }),
  );
  $("count").textContent = `(${items.length})`;
}

/** Keeps the chosen recipient across their reconnects, which give them a new session id. */
export function showRecipients(peers: ReadonlyMap<string, Peer>): void {
  const select = $<HTMLSelectElement>("to");
  const chosen = select.selectedOptions[0];
  const chosenName = chosen?.value ? chosen.textContent : undefined;
  const options = [new Option("Everyone", "")];
  for (const peer of peers.values()) options.push(new Option(peer.name || "anonymous", peer.id));
  select.replaceChildren(...options);
  const again = options.find((o) => o.value && o.textContent === chosenName);
  select.value = again?.value ?? "";
}

export type Line = {
  meta: string;
  text: string;
  kind: "mine" | "theirs" | "system";
  direct?: boolean;
};

/** A message's element, not yet shown, and a setter for its delivery state (for our own messages). */
export function lineElement(
  line: Line,
): [HTMLLIElement, (state: string, failed?: boolean) => void] {
  const li = document.createElement("li");
  li.className = line.kind + (line.direct ? " direct" : "");
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = line.meta;
  const state = document.createElement("span");
  state.className = "state";
  meta.append(state);
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = line.text;
  li.append(meta, body);
  if (line.kind === "system") li.replaceChildren(line.text);
  const setState = (text: string, failed = false) => {
    state.textContent = text;
    li.classList.toggle("failed", failed);
  };
  return [li, setState];
}

/** Appends a message element to the conversation shown. */
export function showLine(li: HTMLLIElement): void {
  const list = $("messages");
  // Stay pinned to the bottom only if the reader already was.
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

export type RoomEntry = { name: string; occupancy: number; unread: number; active: boolean };

/** The room list: each room's head count and unread messages; a click opens a room. */
export function showRooms(rooms: RoomEntry[], open: (name: string) => void): void {
  $("rooms").replaceChildren(
    ...rooms.map((room) => {
      const li = document.createElement("li");
      li.dataset.room = room.name;
      if (room.active) li.className = "active";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "room-link";
      button.textContent = room.name;
      button.addEventListener("click", () => open(room.name));
      const occupancy = document.createElement("span");
      occupancy.className = "occupancy";
      occupancy.title = "people in the room";
      occupancy.textContent = String(room.occupancy);
      const unread = document.createElement("span");
      unread.className = "unread";
      unread.title = "unread messages";
      unread.textContent = String(room.unread);
      unread.hidden = room.unread === 0;
      li.append(button, occupancy, unread);
      return li;
    }),
  );
}

export function time(ts: number): string {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
