/**
 * The debug console (public/console.html), for the holder of the admin
 * token: the live rooms and documents from the directory and the hubs'
 * connections, polled so counts move without a reload; a room to watch and
 * publish into (./console-room); a document's connections and stored size. Bundled by `npm run build:demo`.
 */
import { call, json, segment, signedIn, signIn, signOut, Unauthorized } from "./console-api";
import { RoomWatch } from "./console-room";
import { $ } from "./view";

type Listed = {
  entries: { name: string; count: number }[];
  total: { entries: number; members: number };
};

const POLL_MS = 2000;

let poll: ReturnType<typeof setInterval> | undefined;
let watching: RoomWatch | undefined;
let snapshotUrl: string | undefined;

function enter(): void {
  $("login").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  void refresh();
  poll ??= setInterval(refresh, POLL_MS);
}

function leave(reason = ""): void {
  signOut();
  clearInterval(poll);
  poll = undefined;
  closePanels();
  $("console").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = reason;
}

function failed(error: unknown): void {
  if (error instanceof Unauthorized) leave(error.message);
  else $("notice").textContent = error instanceof Error ? error.message : String(error);
}

async function refresh(): Promise<void> {
  try {
    const [rooms, docs] = await Promise.all([
      json<Listed>("/rooms?sort=occupancy"),
      json<Listed>("/docs?sort=occupancy"),
    ]);
    showList("rooms", rooms, openRoom);
    showList("docs", docs, (name) => openDoc(name).catch(failed));
    await showHubs();
    $("notice").textContent = "";
  } catch (error) {
    failed(error);
  }
}

type Hub = { index: number; connections: number; rooms: number; perConnection: number[] };

/** Connection counts shown per hub before the rest is summed up as "+N". */
const SHOWN_CONNECTIONS = 12;

/**
 * Connections for many rooms (`GET /hubs`): a row per hub that holds any,
 * with its connections, the rooms it holds and how many rooms each
 * connection is in, most first.
 */
async function showHubs(): Promise<void> {
  const { hubs } = await json<{ hubs: Hub[] }>("/hubs").catch(() => ({ hubs: [] as Hub[] }));
  const connections = hubs.reduce((sum, hub) => sum + hub.connections, 0);
  const most = Math.max(0, ...hubs.flatMap((hub) => hub.perConnection));
  $("hubs-total").textContent = hubs.length
    ? `${connections} connections on ${hubs.length} hubs, at most ${most} rooms each`
    : "";
  const busy = hubs.filter((hub) => hub.connections > 0 || hub.rooms > 0);
  $("hubs-list").replaceChildren(...(busy.length ? busy.map(hubRow) : [idleRow()]));
}

function hubRow(hub: Hub): HTMLTableRowElement {
  const row = document.createElement("tr");
  row.dataset.hub = String(hub.index);
  const perConnection = [...hub.perConnection].sort((a, b) => b - a);
  const rest = perConnection.length - SHOWN_CONNECTIONS;
  const spread = perConnection.slice(0, SHOWN_CONNECTIONS).join(" · ");
  const cells = [
    `#${hub.index}`,
    hub.connections,
    hub.rooms,
    rest > 0 ? `${spread} +${rest}` : spread,
  ];
  row.append(...cells.map((text) => cell(String(text))));
  return row;
}

function idleRow(): HTMLTableRowElement {
  const row = document.createElement("tr");
  const only = cell("no multiplexed connections");
  only.colSpan = 4;
  only.className = "hint";
  row.append(only);
  return row;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function showList(id: "rooms" | "docs", listed: Listed, open: (name: string) => void): void {
  $(`${id}-total`).textContent = `${listed.total.entries} live, ${listed.total.members} in them`;
  $(`${id}-list`).replaceChildren(
    ...listed.entries.map(({ name, count }) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "entry";
      button.dataset.name = name;
      const label = document.createElement("span");
      label.textContent = name;
      const number = document.createElement("span");
      number.className = "count";
      number.textContent = String(count);
      button.append(label, number);
      button.addEventListener("click", () => open(name));
      li.append(button);
      return li;
    }),
  );
}

function closePanels(): void {
  watching?.stop();
  watching = undefined;
  $("room-panel").hidden = true;
  $("doc-panel").hidden = true;
}

function openRoom(name: string): void {
  closePanels();
  $("room-panel").hidden = false;
  // On a phone the room is below the lists: bring it into view.
  $("room-panel").scrollIntoView({ block: "start" });
  watching = new RoomWatch(name, failed);
  watching.start().catch(failed);
}

async function openDoc(name: string): Promise<void> {
  closePanels();
  $("doc-panel").hidden = false;
  $("doc-title").textContent = name;
  const path = `/docs/${segment(name)}`;
  const { sessions } = await json<{ sessions: { id: string; user?: string }[] }>(
    `${path}/sessions`,
  );
  $("doc-connections").textContent = String(sessions.length);
  $("doc-sessions").replaceChildren(
    ...sessions.map(({ id, user }) => {
      const li = document.createElement("li");
      li.textContent = user ? `${user} (${id.slice(0, 8)})` : id.slice(0, 8);
      return li;
    }),
  );
  const snapshot = await call(`${path}/snapshot`).catch(() => undefined);
  const link = $<HTMLAnchorElement>("doc-download");
  if (snapshotUrl) URL.revokeObjectURL(snapshotUrl);
  snapshotUrl = undefined;
  link.hidden = !snapshot;
  if (!snapshot) {
    $("doc-size").textContent = "nothing stored yet";
    return;
  }
  const blob = await snapshot.blob();
  $("doc-size").textContent = `${blob.size.toLocaleString()} bytes`;
  snapshotUrl = URL.createObjectURL(blob);
  link.href = snapshotUrl;
  link.download = `${name}.yjs`;
}

function start(): void {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $<HTMLInputElement>("token");
    signIn(input.value);
    input.value = "";
    enter();
  });
  $("logout").addEventListener("click", () => leave());
  $("watch").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $<HTMLInputElement>("watch-room").value.trim();
    if (name) openRoom(name);
  });
  $("publish").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $<HTMLTextAreaElement>("publish-data");
    watching?.publish(input.value).then(() => {
      input.value = "";
    }, failed);
  });
  $("history-load").addEventListener("click", () => watching?.history().catch(failed));
  if (signedIn()) enter();
}

start();
