/**
 * Gives the relative imports in emitted declarations their `.js` extension.
 * tsc keeps our extensionless specifiers as they are, which `moduleResolution:
 * "bundler"` accepts but `node16`/`nodenext` refuse (TS2834), so a Node user's
 * types would silently turn into `any` under `skipLibCheck`.
 *
 * Usage: node scripts/dts-extensions.mjs <dir>...
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const RELATIVE = /(\bfrom\s+|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*)\2/g;

/**
 * The specifier with the extension Node resolves. Throws for one that leads
 * nowhere inside the emitted tree, e.g. a path tsc wrote relative to the source.
 */
function withExtension(file, specifier) {
  const bare = specifier.replace(/\.js$/, "");
  const base = join(dirname(file), bare);
  if (existsSync(`${base}.d.ts`)) return `${bare}.js`;
  if (existsSync(join(base, "index.d.ts"))) return `${bare}/index.js`;
  throw new Error(`${file}: ${specifier} leads to no declaration file`);
}

for (const dir of process.argv.slice(2)) {
  for (const entry of readdirSync(dir, { recursive: true })) {
    if (!entry.endsWith(".d.ts")) continue;
    const file = join(dir, entry);
    const text = readFileSync(file, "utf8");
    const fixed = text.replace(
      RELATIVE,
      (_, lead, quote, specifier) => `${lead}${quote}${withExtension(file, specifier)}${quote}`,
    );
    if (fixed !== text) writeFileSync(file, fixed);
  }
}
