/**
 * The hooks as a component sees them: peers with their presence state,
 * messages, status, one's own presence, events, and sending through the client.
 */
import { act, cleanup, render, screen } from "@testing-library/react";
import { type ReactNode, useEffect } from "react";
import { afterEach, expect, it } from "vitest";
import {
  type Message,
  RelayProvider,
  useMessages,
  usePeers,
  usePresence,
  useRelayClient,
  useRelayEvent,
  useStatus,
} from "../../react/index";
import { type FakeRelay, fakeConnect } from "./fake-relay";

afterEach(cleanup);

/** Renders `children` under a provider with a fake client, and returns that client. */
function mount(children: ReactNode, messageLimit?: number): FakeRelay {
  const { connect, opened } = fakeConnect();
  render(
    <RelayProvider url="https://relay.test" room="r" connect={connect} messageLimit={messageLimit}>
      {children}
    </RelayProvider>,
  );
  const [relay] = opened;
  if (!relay) throw new Error("the provider opened no connection");
  return relay;
}

const text = (id: string) => screen.getByTestId(id).textContent;

function Peers() {
  const peers = usePeers();
  return (
    <p data-testid="peers">
      {peers
        .map((p) => `${p.name}${p.state === undefined ? "" : JSON.stringify(p.state)}`)
        .join(",")}
    </p>
  );
}

function Messages() {
  return (
    <p data-testid="messages">
      {useMessages()
        .map((m) => String(m.data))
        .join(",")}
    </p>
  );
}

const message = (data: string, seq: number): Message => ({ from: "p1", data, ts: seq, seq });

it("lists peers with their presence state through welcome, join, presence and leave", () => {
  const relay = mount(<Peers />);
  act(() => relay.welcome("me", [{ id: "p1", name: "ada", state: { typing: false } }]));
  expect(text("peers")).toBe('ada{"typing":false}');
  act(() => relay.join({ id: "p2", name: "bob" }));
  expect(text("peers")).toBe('ada{"typing":false},bob');
  act(() => relay.presence({ id: "p2", name: "bob", state: { typing: true } }));
  expect(text("peers")).toBe('ada{"typing":false},bob{"typing":true}');
  act(() => relay.leave({ id: "p1", name: "ada" }));
  expect(text("peers")).toBe('bob{"typing":true}');
});

it("keeps the most recent messages, oldest first, up to messageLimit", () => {
  const relay = mount(<Messages />, 2);
  act(() => relay.message(message("a", 1)));
  act(() => relay.message(message("b", 2)));
  expect(text("messages")).toBe("a,b");
  act(() => relay.message(message("c", 3)));
  expect(text("messages")).toBe("b,c");
});

function Status() {
  const { state, retryInMs } = useStatus();
  return <p data-testid="status">{`${state} ${retryInMs ?? ""}`.trim()}</p>;
}

it("shows the connection status as it changes", () => {
  const relay = mount(<Status />);
  expect(text("status")).toBe("connecting");
  act(() => relay.welcome("me"));
  expect(text("status")).toBe("connected");
  act(() => relay.setStatus({ state: "reconnecting", attempt: 1, retryInMs: 800 }));
  expect(text("status")).toBe("reconnecting 800");
});

function Presence() {
  const [state, setState] = usePresence();
  return (
    <>
      <p data-testid="me">{state === undefined ? "none" : JSON.stringify(state)}</p>
      <button type="button" onClick={() => setState({ typing: true })}>
        type
      </button>
      <button type="button" onClick={() => setState((s) => ({ ...(s as object), away: true }))}>
        away
      </button>
    </>
  );
}

it("sets one's own presence here at once and sends it, with updater functions", () => {
  const relay = mount(<Presence />);
  act(() => relay.welcome("me"));
  expect(text("me")).toBe("none");
  act(() => screen.getByText("type").click());
  expect(text("me")).toBe('{"typing":true}');
  act(() => screen.getByText("away").click());
  expect(text("me")).toBe('{"typing":true,"away":true}');
  expect(relay.presenceSent.map((send) => send.state)).toEqual([
    { typing: true },
    { typing: true, away: true },
  ]);
});

it("sends one's presence again after a reconnect, but not while a send is waiting", async () => {
  const relay = mount(<Presence />);
  act(() => relay.welcome("me-1"));
  act(() => screen.getByText("type").click());
  // Unacknowledged: the client itself resends it after the welcome.
  act(() => relay.welcome("me-2"));
  expect(relay.presenceSent).toHaveLength(1);
  await act(async () => relay.presenceSent[0]?.ack());
  // Acknowledged in an earlier session: the new session starts without it.
  act(() => relay.welcome("me-3"));
  expect(relay.presenceSent.map((send) => send.state)).toEqual([
    { typing: true },
    { typing: true },
  ]);
});

function SetOnMount() {
  const [, setState] = usePresence();
  // A child's effect runs before the provider's, which opens the connection.
  useEffect(() => void setState("here"), [setState]);
  return null;
}

it("sends a presence set before the connection exists once the connection is welcomed", () => {
  const relay = mount(<SetOnMount />);
  expect(relay.presenceSent).toHaveLength(0);
  act(() => relay.welcome("me"));
  expect(relay.presenceSent.map((send) => send.state)).toEqual(["here"]);
});

function Refused({ onDone }: { onDone: (sent: Promise<void>) => void }) {
  const [, setState] = usePresence();
  return (
    <button type="button" onClick={() => onDone(setState("x".repeat(3000)))}>
      set
    </button>
  );
}

it("rejects the setter's promise when the relay refuses the state", async () => {
  let sent: Promise<void> | undefined;
  const relay = mount(<Refused onDone={(promise) => (sent = promise)} />);
  act(() => relay.welcome("me"));
  act(() => screen.getByText("set").click());
  relay.presenceSent[0]?.refuse(new Error("too_large"));
  await expect(sent).rejects.toThrow("too_large");
});

function Listener({ label, seen }: { label: string; seen: string[] }) {
  useRelayEvent("message", (m) => seen.push(`${label}:${String(m.data)}`));
  return null;
}

it("calls the newest event listener, and stops when the component unmounts", () => {
  const seen: string[] = [];
  const { connect, opened } = fakeConnect();
  const tree = (label: string, show: boolean) => (
    <RelayProvider url="https://relay.test" room="r" connect={connect}>
      {show && <Listener label={label} seen={seen} />}
    </RelayProvider>
  );
  const view = render(tree("first", true));
  const relay = opened[0] as FakeRelay;
  act(() => relay.message(message("a", 1)));
  view.rerender(tree("second", true));
  act(() => relay.message(message("b", 2)));
  view.rerender(tree("second", false));
  act(() => relay.message(message("c", 3)));
  expect(seen).toEqual(["first:a", "second:b"]);
});

function Send() {
  const relay = useRelayClient();
  return (
    <button type="button" onClick={() => relay?.broadcast({ text: "hi" })}>
      send
    </button>
  );
}

it("sends through the provider's client", () => {
  const relay = mount(<Send />);
  act(() => screen.getByText("send").click());
  expect(relay.broadcasts).toEqual([{ text: "hi" }]);
});
