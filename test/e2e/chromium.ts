/**
 * A headless Chromium for the browser test that needs no system browser, no
 * root and no apt: `@sparticuz/chromium` carries a Linux x64 Chromium, with the
 * NSS libraries it links and a font, brotli-compressed inside its npm tarball.
 * It is unpacked once into node_modules/.cache, so `npm ci` starts it afresh.
 * CHROMIUM_PATH names another Chromium instead (a system one, or any machine
 * that is not Linux x64, where the packaged binary cannot run).
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import Packaged, { inflate } from "@sparticuz/chromium";

export type Launch = { executablePath: string; args: string[]; env: Record<string, string> };

/**
 * Chromium's background services call Google's hosts; on a closed network
 * those connections are refused or hang, so they stay off.
 */
const CLOSED_NETWORK = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

/** How to launch Chromium: CHROMIUM_PATH if set, else the packaged one, unpacked on first use. */
export async function chromiumLaunch(): Promise<Launch> {
  const env = stringEnv();
  const system = process.env.CHROMIUM_PATH;
  if (system) return { executablePath: system, args: CLOSED_NETWORK, env };
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error("@sparticuz/chromium runs on Linux x64 only: set CHROMIUM_PATH to a Chromium");
  }
  const dir = await unpacked();
  // The packaged binary loads its own NSS libraries, and finds its own font before the system's.
  const libraries = [join(dir, "al2023", "lib"), env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return {
    executablePath: join(dir, "chromium"),
    args: [...Packaged.args, ...CLOSED_NETWORK],
    env: { ...env, LD_LIBRARY_PATH: libraries, FONTCONFIG_PATH: join(dir, "fonts") },
  };
}

/** The folder holding the unpacked browser, made whole or not at all. */
async function unpacked(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve("@sparticuz/chromium");
  const bin = join(dirname(entry), "..", "bin");
  const { version } = createRequire(entry)("../package.json") as { version: string };
  const dir = resolve("node_modules", ".cache", `sparticuz-chromium-${version}`);
  if (existsSync(join(dir, "chromium"))) return dir;

  mkdirSync(dirname(dir), { recursive: true });
  const staging = mkdtempSync(`${dir}.part-`);
  const archives = ["chromium.br", "swiftshader.tar.br", "fonts.tar.br", "al2023.tar.br"].map(
    (name) => join(bin, name),
  );
  try {
    await inflateInto(staging, archives);
    writeFileSync(join(staging, "fonts", "fonts.conf"), fontsConf(join(dir, "fonts")));
    // A rename is atomic: a run that was killed, or races this one, never leaves half a browser.
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, "chromium"))) throw error;
  }
  return dir;
}

/** `inflate` writes into the OS temp folder, so that folder is `dir` while it runs. */
async function inflateInto(dir: string, archives: string[]): Promise<void> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    for (const archive of archives) await inflate(archive);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

/** The packaged font first, then whatever the system has. */
function fontsConf(fonts: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${fonts}/fonts</dir>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <cachedir>${fonts}/cache</cachedir>
</fontconfig>
`;
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined) env[name] = value;
  return env;
}
