/**
 * A document outlives `wrangler dev`: stopped and started again on the same
 * state directory, the relay serves what the providers wrote before. And what
 * the relay relayed but lost before storing it (it relays an update before the
 * turn's commit) comes back from a provider that holds it when that provider
 * reconnects.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type DevServer, startWranglerDev } from "./wrangler";
import { until } from "./ws-client";
import { editor, synced } from "./yjs-provider";

const state = mkdtempSync(join(tmpdir(), "relay-docs-state-"));
let dev: DevServer | undefined;

afterAll(async () => {
  await dev?.stop();
  rmSync(state, { recursive: true, force: true });
});

it("keeps a document through a restart of wrangler dev", { timeout: 240_000 }, async () => {
  dev = await startWranglerDev({}, { state });
  const ada = editor(`${dev.ws}/docs`, "restart-doc");
  await synced(ada);
  ada.doc.getText("t").insert(0, "written before the restart");
  const bob = editor(`${dev.ws}/docs`, "restart-doc");
  await until(() => bob.text() === "written before the restart", "bob's copy");
  ada.destroy();
  bob.destroy();
  // Stopping waits for the process to end, after the turn's commit.
  await dev.stop();

  dev = await startWranglerDev({}, { state });
  const cy = editor(`${dev.ws}/docs`, "restart-doc");
  await until(() => cy.text() === "written before the restart", "the document after restart");
  expect(cy.provider.wsconnected).toBe(true);
  cy.destroy();
});

it("gets back from a receiver an update it relayed and then lost", {
  timeout: 240_000,
}, async () => {
  await dev?.stop();
  const lost = mkdtempSync(join(tmpdir(), "relay-docs-lost-"));
  try {
    dev = await startWranglerDev({}, { state: lost });
    const ada = editor(`${dev.ws}/docs`, "lost-doc");
    const bob = editor(`${dev.ws}/docs`, "lost-doc");
    await Promise.all([synced(ada), synced(bob)]);
    ada.doc.getText("t").insert(0, "held by bob");
    await until(() => bob.text() === "held by bob", "bob's copy");
    // The sender is gone: only Bob holds the edit now.
    ada.destroy();
    await dev.stop();
    // The relay comes back as if its last commit never happened: no storage at all.
    rmSync(lost, { recursive: true, force: true });
    mkdirSync(lost);
    dev = await startWranglerDev({}, { state: lost });
    // Bob's provider has been retrying since the socket closed; the app's URL is the same in
    // production, here the new port.
    bob.provider.serverUrl = `${dev.ws}/docs`;
    const cy = editor(`${dev.ws}/docs`, "lost-doc");
    await until(() => cy.text() === "held by bob", "the edit, back from bob", 30_000);
    bob.destroy();
    cy.destroy();
  } finally {
    rmSync(lost, { recursive: true, force: true });
  }
});
