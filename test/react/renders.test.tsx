/**
 * No re-render storms: each hook re-renders its component only when what it
 * reads changes. A room with many messages must not redraw its peer list or
 * status bar for each one.
 */
import { act, cleanup, render } from "@testing-library/react";
import { afterEach, expect, it } from "vitest";
import { RelayProvider, useMessages, usePeers, usePresence, useStatus } from "../../react/index";
import { fakeConnect } from "./fake-relay";

afterEach(cleanup);

const renders = { peers: 0, messages: 0, status: 0, presence: 0 };

function Peers() {
  renders.peers++;
  return <p>{usePeers().length}</p>;
}

function Messages() {
  renders.messages++;
  return <p>{useMessages().length}</p>;
}

function Status() {
  renders.status++;
  return <p>{useStatus().state}</p>;
}

function Presence() {
  renders.presence++;
  return <p>{String(usePresence()[0])}</p>;
}

it("re-renders only the components that read what changed", () => {
  const { connect, opened } = fakeConnect();
  render(
    <RelayProvider url="https://relay.test" room="r" connect={connect}>
      <Peers />
      <Messages />
      <Status />
      <Presence />
    </RelayProvider>,
  );
  const relay = opened[0];
  if (!relay) throw new Error("no connection");
  act(() => relay.welcome("me", [{ id: "p1", name: "ada" }]));
  const before = { ...renders };

  for (let seq = 1; seq <= 5; seq++) {
    act(() => relay.message({ from: "p1", data: seq, ts: seq, seq }));
  }
  expect(renders).toEqual({ ...before, messages: before.messages + 5 });

  act(() => relay.join({ id: "p2", name: "bob" }));
  act(() => relay.presence({ id: "p2", name: "bob", state: "typing" }));
  expect(renders).toEqual({ ...before, messages: before.messages + 5, peers: before.peers + 2 });
});
