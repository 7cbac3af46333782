/**
 * `<RelayRoomsProvider>` and `useRoom`: a component tree using three rooms
 * runs them all over one socket (the real multi-room client on a fake socket).
 */
import { act, cleanup, render, screen } from "@testing-library/react";
import { StrictMode } from "react";
import { afterEach, beforeEach, expect, it } from "vitest";
import { RelayRoomsProvider, useRoom } from "../../react/index";
import type { HubServerFrame } from "../../src/frames";
import { FakeSocket } from "../unit/fake-socket";

function Room({ name }: { name: string }) {
  const { status, messages, peers } = useRoom(name);
  const texts = messages.map((m) => String(m.data)).join(",");
  return (
    <p>
      {name}: {status.state} [{texts}] peers {peers.length}
    </p>
  );
}

/** Lets queued microtasks run: the client's first open, its batch flush, a deferred leave. */
const microtasks = () => act(() => new Promise((resolve) => setTimeout(resolve, 0)));

function deliver(socket: FakeSocket, ...frames: HubServerFrame[]): void {
  act(() => socket.receive(frames.map((frame) => JSON.stringify(frame)).join("\n")));
}

function welcome(socket: FakeSocket, room: string): void {
  const limits = { maxMessageBytes: 65_536, maxBatchFrames: 100 };
  const peers = [{ id: `${room}-peer`, name: "bob" }];
  deliver(socket, {
    type: "welcome",
    id: `${room}-me`,
    room,
    peers,
    seq: 0,
    epoch: "e",
    limits,
    occupancy: 2,
  });
}

const subscribed = (socket: FakeSocket) =>
  socket
    .frames()
    .filter((f) => f.type === "subscribe")
    .map((f) => (f as { room?: string }).room);

beforeEach(() => {
  FakeSocket.made = [];
});
afterEach(cleanup);

it("runs three rooms used by four components over one socket", async () => {
  const view = render(
    <StrictMode>
      <RelayRoomsProvider url="https://relay.test" name="ada" options={{ WebSocket: FakeSocket }}>
        <Room name="a" />
        <Room name="b" />
        <Room name="c" />
        <Room name="a" />
      </RelayRoomsProvider>
    </StrictMode>,
  );
  await microtasks();
  expect(FakeSocket.made).toHaveLength(1);
  const socket = FakeSocket.last;
  expect(new URL(socket.url).pathname).toBe("/ws");
  act(() => socket.open());
  await microtasks();
  expect(subscribed(socket)).toEqual(["a", "b", "c"]);
  for (const room of ["a", "b", "c"]) welcome(socket, room);
  deliver(
    socket,
    { type: "message", room: "a", from: "a-peer", data: "hi a", ts: 1, seq: 1 },
    { type: "message", room: "c", from: "c-peer", data: "hi c", ts: 1, seq: 1 },
  );
  expect(screen.getAllByText("a: connected [hi a] peers 1")).toHaveLength(2);
  expect(screen.getByText("b: connected [] peers 1")).toBeTruthy();
  expect(screen.getByText("c: connected [hi c] peers 1")).toBeTruthy();

  // The last component using room c goes: that room alone is left.
  view.rerender(
    <StrictMode>
      <RelayRoomsProvider url="https://relay.test" name="ada" options={{ WebSocket: FakeSocket }}>
        <Room name="a" />
        <Room name="b" />
      </RelayRoomsProvider>
    </StrictMode>,
  );
  await microtasks();
  const unsubscribes = socket.frames().filter((f) => f.type === "unsubscribe");
  expect(unsubscribes).toEqual([{ type: "unsubscribe", room: "c" }]);
  expect(socket.closedWith).toBeUndefined();
  expect(FakeSocket.made).toHaveLength(1);

  view.unmount();
  await microtasks();
  expect(socket.closedWith?.code).toBe(1000);
});

it("throws a clear error for useRoom outside the provider", () => {
  const quiet = console.error;
  console.error = () => {};
  try {
    expect(() => render(<Room name="a" />)).toThrow(/inside <RelayRoomsProvider>/);
  } finally {
    console.error = quiet;
  }
});
