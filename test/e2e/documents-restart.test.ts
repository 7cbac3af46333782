/**
 * A document outlives `wrangler dev`: stopped and started again on the same
 * state directory, the relay serves what the providers wrote before.
 */
import { mkdtempSync, rmSync } from "node:fs";
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
  // A second provider hearing it means the relay stored it: relays wait for the commit.
  const bob = editor(`${dev.ws}/docs`, "restart-doc");
  await until(() => bob.text() === "written before the restart", "bob's copy");
  ada.destroy();
  bob.destroy();
  await dev.stop();

  dev = await startWranglerDev({}, { state });
  const cy = editor(`${dev.ws}/docs`, "restart-doc");
  await until(() => cy.text() === "written before the restart", "the document after restart");
  expect(cy.provider.wsconnected).toBe(true);
  cy.destroy();
});
