/**
 * The package as a user installs it: packed, installed into a fresh copy of
 * examples/chat-rules (test/e2e/consumer.ts), type-checked there under strict
 * options, bundled by wrangler, its client, hooks and server API client
 * imported by name, and the example Worker run under `wrangler dev` against
 * that install.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Consumer, exportTargets, installConsumer, run } from "./consumer";
import { type DevServer, startWranglerDev } from "./wrangler";
import { refusedUpgrade, until, WsClient } from "./ws-client";

let consumer: Consumer;

beforeAll(async () => {
  consumer = await installConsumer();
}, 180_000);

afterAll(() => consumer?.remove());

/** The README's own import line, so the test follows the README. */
function readmeImport(): string {
  const line = readFileSync("README.md", "utf8").match(/^import .* from "edge-relay\/client";$/m);
  if (!line) throw new Error('README.md shows no import from "edge-relay/client"');
  return line[0];
}

describe("the tarball", () => {
  it("holds every file package.json's exports point at", () => {
    const { packed } = consumer;
    // Printed, not asserted line by line: the list a reviewer reads before a release.
    const list = packed.files.map((file) => `  ${String(file.size).padStart(7)}  ${file.path}`);
    process.stdout.write(
      `${packed.filename}: ${packed.files.length} files, ${packed.size} bytes packed, ` +
        `${packed.unpackedSize} unpacked\n${list.join("\n")}\n`,
    );
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { exports: unknown };
    const paths = packed.files.map((file) => file.path);
    const targets = exportTargets(pkg.exports);
    expect(targets.length).toBeGreaterThanOrEqual(8);
    expect(targets.filter((target) => !paths.includes(target))).toEqual([]);
  });

  it("holds only the built library, its docs, license and manifest", () => {
    const needed =
      /^(dist-(api|client|react|server)\/.+\.(js|d\.ts)|docs\/[\w-]+\.md|README\.md|LICENSE|package\.json)$/;
    expect(
      consumer.packed.files.map((file) => file.path).filter((path) => !needed.test(path)),
    ).toEqual([]);
  });
});

describe("a fresh Worker project that installed the tarball", () => {
  it("type-checks strictly with a module-local Env, the package's declarations included", async () => {
    // The example's tsconfig: strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, no skipLibCheck.
    const { stdout } = await run("npm", ["run", "--silent", "check"], { cwd: consumer.dir });
    expect(stdout).toBe("");
  }, 120_000);

  // A Hono module-local Bindings type, a hand-written global Env, and the current
  // `wrangler types` output: each passes plain Room, Document and Shard namespaces.
  for (const style of readdirSync("examples/env-styles", { withFileTypes: true })) {
    if (!style.isDirectory()) continue;
    it(`type-checks relay() given each namespace, with bindings typed as in ${style.name}`, async () => {
      const dir = join(consumer.dir, "env-styles", style.name);
      cpSync(join("examples/env-styles", style.name), dir, { recursive: true });
      const tsc = join(consumer.dir, "node_modules/.bin/tsc");
      const { stdout } = await run(tsc, ["--noEmit", "-p", dir], { cwd: consumer.dir });
      expect(stdout).toBe("");
    }, 120_000);
  }

  it("bundles with wrangler deploy --dry-run", async () => {
    const wrangler = join(consumer.dir, "node_modules/.bin/wrangler");
    const outdir = join(consumer.dir, "..", "bundle");
    const { stdout } = await run(wrangler, ["deploy", "--dry-run", "--outdir", outdir], {
      cwd: consumer.dir,
    });
    expect(stdout).toContain("env.CHAT (ChatRoom)");
  }, 120_000);

  it("imports edge-relay/client and edge-relay/react in Node as the README shows", async () => {
    const line = readmeImport();
    expect(line).toBe('import { connect } from "edge-relay/client";');
    const script = `${line}\nimport { RelayProvider } from "edge-relay/react";\nconsole.log(typeof connect, typeof RelayProvider);`;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: consumer.dir,
    });
    expect(stdout.trim()).toBe("function function");
  });

  it("types edge-relay/client and edge-relay/react for a TypeScript user on nodenext", async () => {
    const file = join(consumer.dir, "uses-client.ts");
    writeFileSync(
      file,
      `${readmeImport()}\nimport { createElement } from "react";\n` +
        'import { RelayProvider, usePeers } from "edge-relay/react";\n' +
        'export const relay = connect("http://127.0.0.1:1", { room: "r", name: "n" });\n' +
        "export const state: string = relay.status.state;\n" +
        'export const tree = createElement(RelayProvider, { url: "http://127.0.0.1:1", room: "r" });\n' +
        "export const names = (): string[] => usePeers().map((peer) => peer.name);\n" +
        // Fails as unused if the declarations resolved to `any`.
        '// @ts-expect-error a room name is a string\nconnect("http://127.0.0.1:1", { room: 1 });\n',
    );
    const strict = ["--strict", "--exactOptionalPropertyTypes", "--noUncheckedIndexedAccess"];
    const node = ["--module", "nodenext", "--target", "es2022", "--lib", "es2022,dom"];
    const tsc = join(consumer.dir, "node_modules/.bin/tsc");
    const { stdout } = await run(tsc, ["--noEmit", ...strict, ...node, file]);
    expect(stdout).toBe("");
  }, 120_000);
});

describe("edge-relay/api from that install", () => {
  const strict = ["--strict", "--exactOptionalPropertyTypes", "--noUncheckedIndexedAccess"];
  const tsc = () => join(consumer.dir, "node_modules/.bin/tsc");

  it("imports in Node and answers a typed error, not a throw, when nothing listens", async () => {
    const script =
      'import { RelayApi } from "edge-relay/api";\n' +
      'const api = new RelayApi({ url: "http://127.0.0.1:1", token: "t", retries: 0 });\n' +
      "const result = await api.health();\n" +
      "console.log(result.ok, result.error.kind);";
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: consumer.dir,
    });
    expect(stdout.trim()).toBe("false network");
  });

  it("types a Node backend on nodenext and a Worker with a service binding", async () => {
    const node = join(consumer.dir, "uses-api-node.ts");
    writeFileSync(
      node,
      'import { RelayApi } from "edge-relay/api";\n' +
        'const api = new RelayApi({ url: "https://relay.example", token: "t" });\n' +
        "export async function seq(): Promise<number | string> {\n" +
        '  const sent = await api.room("lobby").publish({ text: "hi" }, { id: "m1" });\n' +
        "  if (sent.ok) return sent.value.seq;\n" +
        '  return sent.error.kind === "relay" ? sent.error.code : sent.error.message;\n' +
        "}\n" +
        // Fails as unused if the declarations resolved to `any`.
        '// @ts-expect-error a kick names a session or a user\napi.room("lobby").kick({ name: "x" });\n',
    );
    const nodeOptions = ["--module", "nodenext", "--target", "es2022", "--lib", "es2022,dom"];
    expect((await run(tsc(), ["--noEmit", ...strict, ...nodeOptions, node])).stdout).toBe("");

    const worker = join(consumer.dir, "uses-api-worker.ts");
    writeFileSync(
      worker,
      'import { RelayApi } from "edge-relay/api";\n' +
        "type Bindings = { RELAY: Fetcher; ADMIN_TOKEN: string };\n" +
        "export default {\n" +
        "  async fetch(_request: Request, env: Bindings): Promise<Response> {\n" +
        "    const api = new RelayApi({ service: env.RELAY, token: env.ADMIN_TOKEN });\n" +
        '    const room = await api.room("lobby").describe();\n' +
        "    return Response.json(room.ok ? room.value.peers : room.error);\n" +
        "  },\n" +
        "};\n" +
        '// @ts-expect-error a service answers fetch; a string does not\nnew RelayApi({ service: "x", token: "t" });\n',
    );
    const workerOptions = ["--module", "es2022", "--moduleResolution", "bundler"];
    const types = ["--target", "es2024", "--lib", "es2024", "--types", "@cloudflare/workers-types"];
    const { stdout } = await run(
      tsc(),
      ["--noEmit", ...strict, ...workerOptions, ...types, worker],
      {
        cwd: consumer.dir,
      },
    );
    expect(stdout).toBe("");
  }, 120_000);
});

describe("the example Worker, under wrangler dev against that install", () => {
  let dev: DevServer;

  beforeAll(async () => {
    const config = join(consumer.dir, "wrangler.toml");
    dev = await startWranglerDev({}, { config, health: "/realtime/health" });
  });

  afterAll(async () => {
    await dev?.stop();
  });

  const socket = (room: string, name: string, invite = "let-me-in") =>
    `${dev.ws}/realtime/rooms/${room}/ws?name=${name}&invite=${invite}`;
  it("keeps its own routes and mounts the relay under /realtime", async () => {
    expect(await (await fetch(`${dev.url}/`)).text()).toContain("my app");
    expect(await (await fetch(`${dev.url}/realtime/health`)).json()).toEqual({ ok: true });
  });

  it("refuses a socket without the invite through its authorize hook", async () => {
    const refused = await refusedUpgrade(socket("lobby", "eve", "wrong"));
    expect(refused.status).toBe(401);
  });

  it("stamps a broadcast with its sender, stored and replayed so", async () => {
    const ada = await WsClient.open(socket("lobby", "ada"));
    const bob = await WsClient.open(socket("lobby", "bob"));
    ada.send({ type: "broadcast", data: "hi", id: "m1" });
    expect((await bob.next("message")).data).toEqual({ by: "ada", said: "hi" });
    const welcome = ada.all("welcome")[0];
    const late = await WsClient.open(`${socket("lobby", "cy")}&since=0&epoch=${welcome?.epoch}`);
    expect((await late.next("message")).data).toEqual({ by: "ada", said: "hi" });
    for (const client of [ada, bob, late]) client.ws.close();
  });

  it("refuses a non-moderator in announcements: the sender gets forbidden, nobody gets it", async () => {
    const eve = await WsClient.open(socket("announcements", "eve"));
    const grace = await WsClient.open(socket("announcements", "grace"));
    const bob = await WsClient.open(socket("announcements", "bob"));
    eve.send({ type: "broadcast", data: "buy now", id: "spam" });
    expect(await eve.next("error")).toMatchObject({ code: "forbidden", id: "spam" });
    grace.send({ type: "broadcast", data: "release at noon", id: "news" });
    await bob.next("message");
    // The moderator's message arrived; the refused one never reached anyone.
    expect(bob.all("message").map((m) => m.data)).toEqual([
      { by: "grace", said: "release at noon" },
    ]);
    await until(() => grace.all("ack").length === 1, "grace's ack");
    expect(grace.all("message")).toEqual([]);
    for (const client of [eve, grace, bob]) client.ws.close();
  });
});
