// `npm pack` and `npm publish` run this before and after packing. Node strips types only outside
// node_modules, and the machine's Node (20) not at all, so the package ships JavaScript compiled
// from src/ into dist/ with its declarations; a clone keeps running src/ as it is, with no build.
// The packed package.json points at dist/ while the tarball is made, then the clone's comes back.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const manifest = join(root, "package.json");
const saved = join(root, "package.json.clone");
const dist = join(root, "dist");

if (process.argv[2] === "prepack") prepack();
else if (process.argv[2] === "postpack") postpack();
else throw new Error("usage: node scripts/pack.ts prepack|postpack");

function prepack() {
  if (existsSync(saved)) postpack(); // an earlier pack stopped half-way
  rmSync(dist, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
  // tsc rewrites `.ts` in static imports, but leaves some literal `await import("./x.ts")` as written.
  for (const file of readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) =>
    f.endsWith(".js"),
  )) {
    const path = join(dist, file);
    const text = readFileSync(path, "utf8");
    const fixed = text.replace(/import\((["'])(\.{1,2}\/[^"']+)\.ts\1\)/g, "import($1$2.js$1)");
    if (fixed !== text) writeFileSync(path, fixed);
  }
  // Data a module reads beside itself (the built-in dataset's params.json) ships beside its JavaScript.
  const src = join(root, "src");
  for (const file of readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) =>
    f.endsWith(".json"),
  ))
    cpSync(join(src, file), join(dist, file));
  const text = readFileSync(manifest, "utf8");
  const pkg = JSON.parse(text);
  const entry = (name: string) => ({ types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` });
  pkg.exports = { ".": entry("index"), "./spec": entry("spec") };
  writeFileSync(saved, text);
  writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
}

function postpack() {
  if (existsSync(saved)) renameSync(saved, manifest);
  rmSync(dist, { recursive: true, force: true });
}
