import * as encoding from "lib0/encoding";
import { describe, expect, it } from "vitest";
import { freshDoc, Peer } from "./peer";

/** Frames a provider would never send; each must change nothing for anyone. */
const GARBAGE: Record<string, Uint8Array> = {
  "an unknown message type": Uint8Array.of(7, 0),
  "an unknown sync step": Uint8Array.of(0, 9, 0),
  "a truncated update": Uint8Array.of(0, 2, 10, 1, 2),
  "an absurd length": Uint8Array.of(0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f, 1),
  "trailing bytes": Uint8Array.of(3, 0),
  "an empty frame": new Uint8Array(),
  "an update that fails to apply": frame(0, 2, Uint8Array.of(1, 1, 0xff, 0xff, 0xff, 3, 0x7f)),
  "a bad state vector": frame(0, 0, Uint8Array.of(5, 1)),
  "awareness whose state is not JSON": awareness("{not json"),
};

describe("bad input to a document", () => {
  it("is dropped: never relayed, never stored, and the sender can go on", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    const bob = await Peer.open(name);
    await bob.until(() => bob.step2Bytes > 0, "bob's sync");
    ada.insert("before");
    await bob.until(() => bob.text === "before", "the document");
    const heard = bob.frames.length;

    ada.raw("a text frame");
    for (const bytes of Object.values(GARBAGE)) ada.raw(bytes);
    ada.insert(" after");

    await bob.until(() => bob.text === "before after", "the next good update");
    // Exactly one frame reached bob: the good update.
    expect(bob.frames.length).toBe(heard + 1);
    expect(ada.closed).toBeUndefined();
    const cy = await Peer.open(name);
    await cy.until(() => cy.text === "before after", "the stored document");
  });
});

function frame(type: number, step: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

function awareness(state: string): Uint8Array {
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, 77);
  encoding.writeVarUint(inner, 1);
  encoding.writeVarString(inner, state);
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint8Array(encoder, encoding.toUint8Array(inner));
  return encoding.toUint8Array(encoder);
}
