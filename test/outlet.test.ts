/**
 * The outlet, alone: what a socket is sent, in which frames, with a fake
 * socket that records sends and can be made to throw like a closing one.
 */
import { describe, expect, it } from "vitest";
import { MAX_BATCH_BYTES, Outlet, Turn } from "../src/outlet";
import { MAX_BATCH_FRAMES } from "../src/protocol";

class FakeSocket {
  readonly sent: (string | ArrayBuffer | ArrayBufferView)[] = [];
  closedWith: [number, string] | undefined;
  gone = false;
  send(data: string | ArrayBuffer | ArrayBufferView): void {
    if (this.gone) throw new TypeError("WebSocket is closing");
    this.sent.push(data);
  }
  close(code: number, reason: string): void {
    if (this.gone) throw new TypeError("WebSocket is closed");
    this.closedWith = [code, reason];
  }
}

function outlet(batched: boolean) {
  const socket = new FakeSocket();
  const turn = new Turn();
  return { socket, turn, outlet: new Outlet(socket as unknown as WebSocket, batched, turn) };
}

describe("an outlet", () => {
  it("sends a plain socket each frame at once, as it is", () => {
    const { socket, outlet: out } = outlet(false);
    out.send('{"n":1}');
    out.send('{"n":2}');
    expect(socket.sent).toEqual(['{"n":1}', '{"n":2}']);
  });

  it("coalesces a batching socket's frames until the turn ends", () => {
    const { socket, turn, outlet: out } = outlet(true);
    out.send('{"n":1}');
    out.send('{"n":2}');
    expect(socket.sent).toEqual([]);
    turn.end();
    expect(socket.sent).toEqual(['{"n":1}\n{"n":2}']);
  });

  it("splits at 100 frames", () => {
    const { socket, turn, outlet: out } = outlet(true);
    for (let n = 0; n < 2 * MAX_BATCH_FRAMES + 1; n++) out.send(String(n));
    turn.end();
    expect(socket.sent.map((text) => String(text).split("\n").length)).toEqual([100, 100, 1]);
    expect(socket.sent.join("\n")).toBe(
      Array.from({ length: 201 }, (_, n) => String(n)).join("\n"),
    );
  });

  it("splits before 65536 bytes, newlines counted, and sends a larger frame alone", () => {
    const { socket, turn, outlet: out } = outlet(true);
    const third = "é".repeat(MAX_BATCH_BYTES / 6 + 1); // over a third of the cap in UTF-8 bytes
    out.send(third);
    out.send(third);
    out.send(third); // the third does not fit beside the first two
    const huge = "x".repeat(MAX_BATCH_BYTES + 1);
    out.send(huge);
    out.send("after");
    turn.end();
    expect(socket.sent).toEqual([`${third}\n${third}`, third, huge, "after"]);
  });

  it("holds live frames behind a replay and lets them out after it", () => {
    const { socket, turn, outlet: out } = outlet(true);
    out.hold();
    out.send("live");
    out.replayed("old-1");
    out.replayed("old-2");
    turn.end();
    expect(socket.sent).toEqual(["old-1\nold-2"]);
    out.release();
    out.send("later");
    turn.end();
    expect(socket.sent).toEqual(["old-1\nold-2", "live\nlater"]);
  });

  it("sends binary frames alone, after what was pending", () => {
    const { socket, outlet: out } = outlet(true);
    out.send("text");
    const bytes = new Uint8Array([1, 2]);
    out.sendBinary(bytes);
    expect(socket.sent).toEqual(["text", bytes]);
  });

  it("swallows the throw of a closing socket, on send and on close", () => {
    const { socket, turn, outlet: out } = outlet(true);
    socket.gone = true;
    out.send("lost");
    expect(() => turn.end()).not.toThrow();
    expect(() => out.close(1000, "bye")).not.toThrow();
    const plain = outlet(false);
    plain.socket.gone = true;
    expect(() => plain.outlet.send("lost")).not.toThrow();
  });

  it("flushes what is pending before it closes", () => {
    const { socket, outlet: out } = outlet(true);
    out.send("last words");
    out.close(4000, "bye");
    expect(socket.sent).toEqual(["last words"]);
    expect(socket.closedWith).toEqual([4000, "bye"]);
  });
});
