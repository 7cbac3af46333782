// @vitest-environment jsdom
/**
 * The React hooks over the real client and relay under `wrangler dev`: two
 * people in one room, each rendered by its own <RelayProvider>, see each other,
 * a message, a presence state, and the other leaving when it unmounts.
 */
import { act, cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { RelayClient } from "edge-relay/client";
import { createElement as h } from "react";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import {
  RelayProvider,
  useMessages,
  usePeers,
  usePresence,
  useRelayClient,
  useStatus,
} from "../../react/index";
import { type DevServer, startWranglerDev } from "./wrangler";

/** Presence needs the client's `setPresence`, which comes with issue 12's client part. */
const clientHasPresence = typeof Reflect.get(RelayClient.prototype, "setPresence") === "function";

let dev: DevServer;

beforeAll(async () => {
  dev = await startWranglerDev();
});

afterEach(cleanup);

afterAll(async () => {
  await dev?.stop();
});

/** One person's view of the room: status, peers with their state, messages, two buttons. */
function Person({ name }: { name: string }) {
  const { state } = useStatus();
  const peers = usePeers();
  const messages = useMessages();
  const relay = useRelayClient();
  const [, setPresence] = usePresence();
  const peerText = (p: (typeof peers)[number]) =>
    p.state === undefined ? p.name : `${p.name} ${JSON.stringify(p.state)}`;
  return h(
    "section",
    { "aria-label": name },
    h("p", null, `status: ${state}`),
    h("ul", { "aria-label": "peers" }, ...peers.map((p) => h("li", { key: p.id }, peerText(p)))),
    h(
      "ol",
      { "aria-label": "messages" },
      ...messages.map((m) => h("li", { key: m.seq }, String(m.data))),
    ),
    h("button", { type: "button", onClick: () => relay?.broadcast(`hi from ${name}`) }, "say hi"),
    h("button", { type: "button", onClick: () => setPresence({ typing: true }) }, "type"),
  );
}

function mount(room: string, name: string) {
  // jsdom's own WebSocket cannot dispatch its events under vitest; `ws` is Node's.
  const options = { WebSocket };
  return render(h(RelayProvider, { url: dev.url, room, name, options }, h(Person, { name })));
}

const view = (name: string) => within(screen.getByRole("region", { name }));
const list = (name: string, label: string) => view(name).getByRole("list", { name: label });
const soon = { timeout: 10_000 };

async function bothHere(room: string) {
  mount(room, "ada");
  const bob = mount(room, "bob");
  await waitFor(() => expect(list("ada", "peers").textContent).toBe("bob"), soon);
  await waitFor(() => expect(list("bob", "peers").textContent).toBe("ada"), soon);
  return bob;
}

it("shows each person the other, a message, and the other leaving on unmount", async () => {
  const bob = await bothHere("react-e2e");
  expect(view("ada").getByText("status: connected")).toBeTruthy();

  act(() => view("ada").getByText("say hi").click());
  await waitFor(() => expect(list("bob", "messages").textContent).toBe("hi from ada"), soon);
  expect(list("ada", "messages").textContent).toBe("");

  bob.unmount();
  await waitFor(() => expect(list("ada", "peers").textContent).toBe(""), soon);
});

it.skipIf(!clientHasPresence)("shows a presence state to the other person", async () => {
  await bothHere("react-e2e-presence");
  act(() => view("ada").getByText("type").click());
  await waitFor(() => expect(list("bob", "peers").textContent).toBe('ada {"typing":true}'), soon);
});
