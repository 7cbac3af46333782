/**
 * The demo editor: one shared text per document, CodeMirror 6 bound to Yjs
 * with y-codemirror.next, synced by the stock y-websocket provider through the
 * relay's /docs route. Remote cursors and names come from awareness. Bundled
 * by `npm run build:demo` into public/editor.js.
 */
import { basicSetup, EditorView } from "codemirror";
import { yCollab } from "y-codemirror.next";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { $ } from "./view";

type User = { name: string; color: string; colorLight: string };

const COLORS = ["#f38020", "#2563eb", "#16a34a", "#db2777", "#7c3aed", "#0891b2", "#ca8a04"];

const STATES = {
  connecting: "connecting…",
  connected: "connected",
  disconnected: "reconnecting…",
} as const;

function open(doc: string, name: string): void {
  localStorage.setItem("relay-editor", JSON.stringify({ doc, name }));
  const query = new URLSearchParams(location.search);
  query.set("doc", doc);
  history.replaceState(null, "", `?${query}`);
  $("join").hidden = true;
  $("workspace").hidden = false;
  $("doc-title").textContent = doc;

  const ydoc = new Y.Doc();
  const token = query.get("token");
  const server = `${location.origin.replace(/^http/, "ws")}/docs`;
  const provider = new WebsocketProvider(server, doc, ydoc, {
    params: token ? { token } : {},
  });
  const color = COLORS[Math.floor(Math.random() * COLORS.length)] ?? "#f38020";
  const user: User = { name, color, colorLight: `${color}33` };
  provider.awareness.setLocalStateField("user", user);

  const text = ydoc.getText("text");
  new EditorView({
    doc: text.toString(),
    extensions: [basicSetup, EditorView.lineWrapping, yCollab(text, provider.awareness)],
    parent: $("editor"),
  });

  provider.on("status", ({ status }) =>
    showState(status === "disconnected" ? "reconnecting" : status, STATES[status]),
  );
  // A 44xx close is final (refused, or the document is full): say why.
  provider.on("closed", ({ reason }) => showState("offline", reason || "closed by the server"));
  provider.awareness.on("change", () => showPeople(provider.awareness.getStates(), ydoc.clientID));
  showPeople(provider.awareness.getStates(), ydoc.clientID);
}

function showState(state: string, label: string): void {
  const element = $("status");
  element.dataset.state = state;
  element.textContent = label;
}

function showPeople(states: Map<number, Record<string, unknown>>, me: number): void {
  const items = [...states].map(([client, state]) => {
    const user = state.user as Partial<User> | undefined;
    const li = document.createElement("li");
    li.textContent = `${user?.name || "anonymous"}${client === me ? " (you)" : ""}`;
    if (client === me) li.className = "me";
    li.style.setProperty("--who", user?.color ?? "var(--muted)");
    return li;
  });
  $("people").replaceChildren(...items);
  $("count").textContent = String(items.length);
}

function start(): void {
  const saved = JSON.parse(localStorage.getItem("relay-editor") ?? "{}") as Record<string, string>;
  const fromUrl = new URLSearchParams(location.search).get("doc");
  const docInput = $<HTMLInputElement>("doc");
  const nameInput = $<HTMLInputElement>("name");
  docInput.value = fromUrl ?? saved.doc ?? "notes";
  nameInput.value = saved.name ?? "";
  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    open(docInput.value.trim(), nameInput.value.trim());
  });
}

start();
