/**
 * The demo chat page: every room in the room list over one multi-room
 * connection (`connectRooms`), with each room's head count and unread
 * messages kept live. Bundled by `npm run build:demo` into public/app.js,
 * which Workers static assets serve.
 */
import { connectRooms, RelayError, type RelayRooms, type RoomHandle } from "../client/index";
import {
  $,
  type Line,
  lineElement,
  showLine,
  showPeers,
  showRecipients,
  showRooms,
  showStatus,
  time,
} from "./view";

type ChatData = { name: string; text: string };
type Saved = { room?: string; name?: string };

/** A room in the list: its handle, its conversation so far, what was not read yet. */
type Joined = { handle: RoomHandle; lines: HTMLLIElement[]; unread: number; notice?: string };

let relay: RelayRooms | undefined;
const joined = new Map<string, Joined>();
let active = "";
let me = "";
let typingNow = false;

function isChat(data: unknown): data is ChatData {
  if (typeof data !== "object" || data === null) return false;
  const { name, text } = data as Record<string, unknown>;
  return typeof name === "string" && typeof text === "string";
}

function save(): void {
  const saved: Saved = { room: active, name: me };
  localStorage.setItem("relay-demo", JSON.stringify(saved));
}

function start(room: string, name: string): void {
  me = name;
  $("join").hidden = true;
  $("chat").hidden = false;
  relay = connectRooms(location.origin, { name });
  relay.on("error", (error) => addLine(active, systemLine(`relay error: ${error.code}`)));
  addRoom(room);
  open(room);
}

/** Joins `name` on the shared connection and follows it for the room list. */
function addRoom(name: string): void {
  if (!relay || joined.has(name)) return;
  const handle = relay.room(name);
  joined.set(name, { handle, lines: [], unread: 0 });
  const peersChanged = () => {
    if (name === active) refreshPeers();
    listRooms();
  };
  handle.on("status", (status) => {
    if (name === active) showStatus(status);
  });
  handle.on("welcome", peersChanged);
  handle.on("presence", peersChanged);
  handle.on("occupancy", listRooms);
  handle.on("join", (peer) => {
    peersChanged();
    addLine(name, systemLine(`${peer.name || "anonymous"} joined`));
  });
  handle.on("leave", (peer) => {
    peersChanged();
    addLine(name, systemLine(`${peer.name || "anonymous"} left`));
  });
  handle.on("gap", ({ reason }) => {
    const entry = joined.get(name);
    if (entry)
      entry.notice = `Some messages sent while you were away could not be recovered (${reason.replace("_", " ")}).`;
    if (name === active) showNotice();
  });
  handle.on("message", (message) => {
    if (!isChat(message.data)) return;
    const direct = message.to !== undefined;
    const meta = `${message.data.name || "anonymous"}${direct ? " → you (private)" : ""} · ${time(message.ts)}`;
    addLine(name, { kind: "theirs", meta, text: message.data.text, direct });
    const entry = joined.get(name);
    if (entry && name !== active) entry.unread++;
    listRooms();
  });
  handle.on("error", (error) => addLine(name, systemLine(`relay error: ${error.code}`)));
  handle.on("ended", ({ reason }) =>
    addLine(name, systemLine(`the relay ended this room: ${reason}`)),
  );
}

function systemLine(text: string): Line {
  return { kind: "system", meta: "", text };
}

/** Adds a line to a room's conversation, shown at once if it is the open room. */
function addLine(room: string, line: Line): (state: string, failed?: boolean) => void {
  const [li, setState] = lineElement(line);
  const entry = joined.get(room);
  entry?.lines.push(li);
  if (room === active) showLine(li);
  return setState;
}

/** Shows room `name`: its conversation, people, status and notice; its messages count as read. */
function open(name: string): void {
  const entry = joined.get(name);
  if (!entry) return;
  typing(false);
  active = name;
  entry.unread = 0;
  history.replaceState(null, "", `?room=${encodeURIComponent(name)}`);
  $("room-title").textContent = name;
  $("messages").replaceChildren(...entry.lines);
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
  showNotice();
  refreshPeers();
  showStatus(entry.handle.status);
  listRooms();
  save();
}

function showNotice(): void {
  const notice = $("notice");
  const text = joined.get(active)?.notice;
  notice.hidden = text === undefined;
  notice.textContent = text ?? "";
}

function refreshPeers(): void {
  const handle = joined.get(active)?.handle;
  if (!handle) return;
  showPeers(me, handle.peers);
  showRecipients(handle.peers);
}

function listRooms(): void {
  const rooms = [...joined].map(([name, entry]) => ({
    name,
    occupancy: entry.handle.occupancy,
    unread: entry.unread,
    active: name === active,
  }));
  showRooms(rooms, open);
}

function send(text: string, to: string): void {
  const handle = joined.get(active)?.handle;
  if (!handle) return;
  const data: ChatData = { name: me, text };
  const target = to ? handle.peers.get(to) : undefined;
  const meta = `you${target ? ` → ${target.name || "anonymous"} (private)` : ""} · ${time(Date.now())}`;
  const setState = addLine(active, { kind: "mine", meta, text, direct: target !== undefined });
  setState("sending…");
  const sent = target ? handle.direct(target.id, data) : handle.broadcast(data);
  sent.then(
    () => setState("✓"),
    (error: unknown) =>
      setState(`not sent: ${error instanceof RelayError ? error.code : String(error)}`, true),
  );
}

/** Tells the open room whether we are typing: a presence state, not a message. */
function typing(now: boolean): void {
  const handle = joined.get(active)?.handle;
  if (!handle || typingNow === now) return;
  typingNow = now;
  handle.setPresence(now ? "typing" : null).catch(() => {});
}

/** Leaves the open room; after the last one, the connection closes and the join form is back. */
function leave(): void {
  joined.get(active)?.handle.leave();
  joined.delete(active);
  const next = joined.keys().next();
  if (!next.done) {
    open(next.value);
    return;
  }
  save();
  relay?.close();
  relay = undefined;
  active = "";
  $("chat").hidden = true;
  $("join").hidden = false;
  const offline = $("offline");
  offline.setAttribute("aria-pressed", "false");
  offline.textContent = "Go offline";
  showStatus({ state: "closed", attempt: 0 });
  $("status").textContent = "not connected";
}

function toggleOffline(): void {
  if (!relay) return;
  const button = $("offline");
  const goingOffline = button.getAttribute("aria-pressed") !== "true";
  if (goingOffline) relay.disconnect();
  else relay.reconnect();
  button.setAttribute("aria-pressed", String(goingOffline));
  button.textContent = goingOffline ? "Go online" : "Go offline";
}

function init(): void {
  const saved = JSON.parse(localStorage.getItem("relay-demo") ?? "{}") as Saved;
  const query = new URLSearchParams(location.search);
  $<HTMLInputElement>("room").value = query.get("room") ?? saved.room ?? "lobby";
  $<HTMLInputElement>("name").value = saved.name ?? "";

  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    start($<HTMLInputElement>("room").value.trim(), $<HTMLInputElement>("name").value.trim());
  });
  $("add-room").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>("new-room");
    const name = input.value.trim();
    input.value = "";
    if (!name) return;
    addRoom(name);
    open(name);
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>("text");
    const text = input.value.trim();
    if (text) send(text, $<HTMLSelectElement>("to").value);
    input.value = "";
    typing(false);
  });
  $("text").addEventListener("input", () => typing($<HTMLInputElement>("text").value !== ""));
  $("text").addEventListener("blur", () => typing(false));
  $("leave").addEventListener("click", leave);
  $("offline").addEventListener("click", toggleOffline);
  // The network is back: retry now rather than after the backoff delay (unless the user chose offline).
  window.addEventListener("online", () => {
    if ($("offline").getAttribute("aria-pressed") !== "true") relay?.reconnect();
  });
}

init();
