/**
 * <RelayProvider>'s ownership of its client: one connection per mounted room,
 * closed on unmount, kept through StrictMode, replaced when the room changes.
 */
import { act, cleanup, render, screen } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, expect, it } from "vitest";
import { RelayProvider, useMessages, usePeers, useStatus } from "../../react/index";
import { fakeConnect } from "./fake-relay";

function Status() {
  return <p>status: {useStatus().state}</p>;
}

function MessageCount() {
  return <p>messages: {useMessages().length}</p>;
}

/** Lets queued microtasks run, as the provider's deferred close waits for one. */
const microtasks = () => act(() => Promise.resolve());

afterEach(cleanup);

it("connects on mount with url, room and name, and closes on unmount", async () => {
  const { connect, opened } = fakeConnect();
  const view = render(
    <RelayProvider url="https://relay.test" room="lobby" name="ada" connect={connect}>
      <Status />
    </RelayProvider>,
  );
  expect(opened).toHaveLength(1);
  const [relay] = opened;
  expect(relay?.url).toBe("https://relay.test");
  expect(relay?.options).toEqual({ room: "lobby", name: "ada" });
  act(() => relay?.welcome("me"));
  expect(screen.getByText("status: connected")).toBeTruthy();
  view.unmount();
  await microtasks();
  expect(relay?.closed).toBe(true);
  expect(relay?.listenerCount()).toBe(0);
});

it("keeps a single live connection through StrictMode's extra unmount and mount", async () => {
  const { connect, opened } = fakeConnect();
  const view = render(
    <StrictMode>
      <RelayProvider url="https://relay.test" room="lobby" connect={connect}>
        <Status />
      </RelayProvider>
    </StrictMode>,
  );
  await microtasks();
  expect(opened).toHaveLength(1);
  expect(opened[0]?.closed).toBe(false);
  act(() => opened[0]?.welcome("me"));
  expect(screen.getByText("status: connected")).toBeTruthy();
  view.unmount();
  await microtasks();
  expect(opened[0]?.closed).toBe(true);
});

it("closes the old room's connection and starts the new room empty", async () => {
  const { connect, opened } = fakeConnect();
  const tree = (room: string) => (
    <RelayProvider url="https://relay.test" room={room} connect={connect}>
      <MessageCount />
    </RelayProvider>
  );
  const view = render(tree("one"));
  act(() => opened[0]?.message({ from: "p", data: "hi", ts: 1, seq: 1 }));
  expect(screen.getByText("messages: 1")).toBeTruthy();
  view.rerender(tree("two"));
  await microtasks();
  expect(opened.map((relay) => [relay.options.room, relay.closed])).toEqual([
    ["one", true],
    ["two", false],
  ]);
  expect(screen.getByText("messages: 0")).toBeTruthy();
});

it("reads a changed token at the next connection without reconnecting now", async () => {
  const { connect, opened } = fakeConnect();
  const tree = (token: string) => (
    <RelayProvider url="https://relay.test" room="r" token={() => token} connect={connect}>
      <Status />
    </RelayProvider>
  );
  const view = render(tree("first"));
  view.rerender(tree("second"));
  await microtasks();
  expect(opened).toHaveLength(1);
  const token = opened[0]?.options.token;
  expect(typeof token === "function" ? await token() : token).toBe("second");
});

it("passes other options through and leaves the name out when none is given", () => {
  const { connect, opened } = fakeConnect();
  render(
    <RelayProvider
      url="https://relay.test"
      room="r"
      options={{ ackTimeoutMs: 5 }}
      connect={connect}
    >
      <Status />
    </RelayProvider>,
  );
  expect(opened[0]?.options).toEqual({ room: "r", ackTimeoutMs: 5 });
});

function Orphan() {
  usePeers();
  return null;
}

it("refuses hooks used outside a provider", () => {
  // React reports the thrown error on the console as well; the throw is what matters.
  const error = console.error;
  console.error = () => {};
  try {
    expect(() => render(<Orphan />)).toThrow("usePeers must be used inside <RelayProvider>");
  } finally {
    console.error = error;
  }
});
