// bin/synthai runs this on Node 24 when a clone's src/ changed and the launcher's own Node
// cannot strip types (the machine's Node 20): it writes src/ as JavaScript into the folder
// named on the command line, one level below the clone as src/ is, so that `--help` and
// `status` run on the launcher's Node without starting a second one. Deno keeps such a cache
// too; nothing is built by hand, and a clone still runs src/ as it is.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { basename, dirname, join } from "node:path";

const root = join(import.meta.dirname, "..");
const src = join(root, "src");
const target = process.argv[2];
if (!target || dirname(target) !== root || !basename(target).startsWith(".synthai-js-"))
  throw new Error("usage: node scripts/strip-types.ts <clone>/.synthai-js-<key>");

// Relative imports name their `.ts` file; the stripped modules are `.js` files.
const TS_IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)(["'`])(\.{1,2}\/[^"'`\n]*)\.ts\2/g;

const building = `${target}.${process.pid}.tmp`;
for (const file of readdirSync(src, { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".ts")) continue;
  const code = stripTypeScriptTypes(readFileSync(join(src, file), "utf8")).replace(TS_IMPORT, "$1$2$3.js$2");
  const out = join(building, file.replace(/\.ts$/, ".js"));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
}
try {
  renameSync(building, target); // whole, or not at all: a launcher never reads half a folder
} catch {
  rmSync(building, { recursive: true, force: true }); // another launcher wrote it first
}
// Older versions go, and folders left by a builder that was killed; not one still being written.
for (const name of readdirSync(root)) {
  const pid = /\.(\d+)\.tmp$/.exec(name)?.[1];
  if (name.startsWith(".synthai-js-") && join(root, name) !== target && !(pid && alive(Number(pid))))
    rmSync(join(root, name), { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
