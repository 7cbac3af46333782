import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { freshDoc, Peer } from "./peer";

describe("a document speaks the y-websocket protocol", () => {
  it("relays updates between peers, who converge", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    const bob = await Peer.open(name);
    ada.insert("hello ");
    bob.insert("world");
    await ada.until(() => ada.text.length === 11 && ada.text === bob.text, "convergence");
    expect(ada.text).toContain("hello ");
    expect(ada.text).toContain("world");
  });

  it("sends a joiner its sync step 1, so edits made offline reach the others", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    const offline = new Y.Doc();
    offline.getText("t").insert(0, "typed offline");
    await Peer.open(name, { doc: offline, quiet: true });
    await ada.until(() => ada.text === "typed offline", "the offline edit");
  });

  it("answers a joiner with the whole document", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    ada.insert("already here");
    const bob = await Peer.open(name);
    await bob.until(() => bob.text === "already here", "the existing document");
  });

  it("sends a joiner every awareness state at once, and each state to everyone", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    ada.announce({ user: "ada" });
    // The sender hears its own state: a lone provider's watchdog depends on it.
    await ada.until(() => ada.states.has(ada.doc.clientID), "ada's own state echoed");
    const bob = await Peer.open(name);
    await bob.until(() => bob.states.has(ada.doc.clientID), "ada's state on join");
    expect(bob.states.get(ada.doc.clientID)).toEqual({ user: "ada" });
    bob.announce({ user: "bob" });
    await ada.until(() => ada.states.has(bob.doc.clientID), "bob's state");
  });

  it("removes a socket's awareness for everyone when it closes or vanishes", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    const bob = await Peer.open(name);
    bob.announce({ user: "bob" });
    await ada.until(() => ada.states.has(bob.doc.clientID), "bob's state");
    bob.ws.close(1000);
    await ada.until(() => !ada.states.has(bob.doc.clientID), "bob's removal");
    const cy = await Peer.open(name);
    cy.announce({ user: "cy" });
    await cy.until(() => cy.states.has(cy.doc.clientID), "cy's state");
    expect(cy.states.has(bob.doc.clientID)).toBe(false);
  });

  it("ignores a stale awareness state and a removal of an id it does not know", async () => {
    const name = freshDoc();
    const ada = await Peer.open(name);
    ada.announce({ at: 1 });
    await ada.until(() => ada.states.has(ada.doc.clientID), "ada's state");
    const frames = ada.frames.length;
    const bob = await Peer.open(name);
    // bob replays ada's state with the same clock: not news, not relayed.
    bob.raw(ada.frames.at(-1) as Uint8Array);
    bob.announceAs(424242, 9, null);
    bob.announce({ at: 2 });
    await ada.until(() => ada.states.has(bob.doc.clientID), "bob's state");
    expect(ada.frames.length).toBe(frames + 1);
  });
});
