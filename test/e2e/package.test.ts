/**
 * The client library (and its React hooks) as a user gets it: by its package name, right after
 * `npm install` (whose `prepare` script builds it), with the import line the
 * README shows, in plain Node and in TypeScript.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

/** The README's own import line, so the test follows the README. */
function readmeImport(): string {
  const line = readFileSync("README.md", "utf8").match(/^import .* from "edge-relay\/client";$/m);
  if (!line) throw new Error('README.md shows no import from "edge-relay/client"');
  return line[0];
}

it("imports edge-relay/client in Node as the README shows", async () => {
  const line = readmeImport();
  expect(line).toBe('import { connect } from "edge-relay/client";');
  const script = `${line}\nconsole.log(typeof connect);`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  expect(stdout.trim()).toBe("function");
});

it("types edge-relay/client for a TypeScript user", { timeout: 60_000 }, async () => {
  // Inside the package, so the name resolves through package.json's exports.
  mkdirSync("test-results", { recursive: true });
  const file = "test-results/uses-client.ts";
  writeFileSync(
    file,
    `${readmeImport()}\nexport const relay = connect("http://127.0.0.1:1", { room: "r", name: "n" });\n` +
      "export const state: string = relay.status.state;\n",
  );
  const tsc = ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext"];
  const { stdout } = await run("node_modules/.bin/tsc", [...tsc, "--lib", "es2022,dom", file]);
  expect(stdout).toBe("");
});

it("imports and types edge-relay/react in Node and TypeScript", {
  timeout: 60_000,
}, async () => {
  const script =
    'import { RelayProvider } from "edge-relay/react";\nconsole.log(typeof RelayProvider);';
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  expect(stdout.trim()).toBe("function");
  mkdirSync("test-results", { recursive: true });
  const file = "test-results/uses-react.ts";
  writeFileSync(
    file,
    'import { createElement } from "react";\n' +
      'import { RelayProvider, usePeers } from "edge-relay/react";\n' +
      'export const tree = createElement(RelayProvider, { url: "http://127.0.0.1:1", room: "r" });\n' +
      "export const names = (): string[] => usePeers().map((peer) => peer.name + JSON.stringify(peer.state));\n",
  );
  const tsc = ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext"];
  const { stdout: errors } = await run("node_modules/.bin/tsc", [
    ...tsc,
    "--lib",
    "es2022,dom",
    file,
  ]);
  expect(errors).toBe("");
});
