/**
 * The demo chat page: one RelayClient per joined room. Bundled by
 * `npm run build:demo` into public/app.js, which Workers static assets serve.
 */
import { connect, type RelayClient, RelayError } from "../client/index";
import { $, addLine, showPeers, showRecipients, showStatus, time } from "./view";

type ChatData = { name: string; text: string };

let client: RelayClient | undefined;
let me = "";
let typingNow = false;

function isChat(data: unknown): data is ChatData {
  if (typeof data !== "object" || data === null) return false;
  const { name, text } = data as Record<string, unknown>;
  return typeof name === "string" && typeof text === "string";
}

function join(room: string, name: string): void {
  me = name;
  typingNow = false;
  localStorage.setItem("relay-demo", JSON.stringify({ room, name }));
  history.replaceState(null, "", `?room=${encodeURIComponent(room)}`);
  $("join").hidden = true;
  $("chat").hidden = false;
  $("room-title").textContent = room;
  $("messages").replaceChildren();
  $("notice").hidden = true;

  const relay = connect(location.origin, { room, name });
  client = relay;
  const refresh = () => {
    showPeers(me, relay.peers);
    showRecipients(relay.peers);
  };
  relay.on("status", showStatus);
  relay.on("welcome", refresh);
  relay.on("presence", refresh);
  relay.on("join", (peer) => {
    refresh();
    addLine({ kind: "system", meta: "", text: `${peer.name || "anonymous"} joined` });
  });
  relay.on("leave", (peer) => {
    refresh();
    addLine({ kind: "system", meta: "", text: `${peer.name || "anonymous"} left` });
  });
  relay.on("gap", ({ reason }) => {
    const notice = $("notice");
    notice.hidden = false;
    notice.textContent = `Some messages sent while you were away could not be recovered (${reason.replace("_", " ")}).`;
  });
  relay.on("message", (message) => {
    if (!isChat(message.data)) return;
    const direct = message.to !== undefined;
    const meta = `${message.data.name || "anonymous"}${direct ? " → you (private)" : ""} · ${time(message.ts)}`;
    addLine({ kind: "theirs", meta, text: message.data.text, direct });
  });
  relay.on("error", (error) => {
    addLine({ kind: "system", meta: "", text: `relay error: ${error.code}` });
  });
}

function send(text: string, to: string): void {
  if (!client) return;
  const data: ChatData = { name: me, text };
  const target = to ? client.peers.get(to) : undefined;
  const meta = `you${target ? ` → ${target.name || "anonymous"} (private)` : ""} · ${time(Date.now())}`;
  const setState = addLine({ kind: "mine", meta, text, direct: target !== undefined });
  setState("sending…");
  const sent = target ? client.direct(target.id, data) : client.broadcast(data);
  sent.then(
    () => setState("✓"),
    (error: unknown) =>
      setState(`not sent: ${error instanceof RelayError ? error.code : String(error)}`, true),
  );
}

/** Tells the room whether we are typing: a presence state, not a message. */
function typing(now: boolean): void {
  if (!client || typingNow === now) return;
  typingNow = now;
  client.setPresence(now ? "typing" : null).catch(() => {});
}
function leave(): void {
  client?.close();
  client = undefined;
  $("chat").hidden = true;
  $("join").hidden = false;
  const offline = $("offline");
  offline.setAttribute("aria-pressed", "false");
  offline.textContent = "Go offline";
  showStatus({ state: "closed", attempt: 0 });
  $("status").textContent = "not connected";
}

function toggleOffline(): void {
  if (!client) return;
  const button = $("offline");
  const goingOffline = button.getAttribute("aria-pressed") !== "true";
  if (goingOffline) client.disconnect();
  else client.reconnect();
  button.setAttribute("aria-pressed", String(goingOffline));
  button.textContent = goingOffline ? "Go online" : "Go offline";
}

function start(): void {
  const saved = JSON.parse(localStorage.getItem("relay-demo") ?? "{}") as Partial<ChatData> & {
    room?: string;
  };
  const query = new URLSearchParams(location.search);
  $<HTMLInputElement>("room").value = query.get("room") ?? saved.room ?? "lobby";
  $<HTMLInputElement>("name").value = saved.name ?? "";

  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    join($<HTMLInputElement>("room").value.trim(), $<HTMLInputElement>("name").value.trim());
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
    if ($("offline").getAttribute("aria-pressed") !== "true") client?.reconnect();
  });
}

start();
