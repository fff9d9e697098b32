import { existsSync, realpathSync } from "node:fs";
import { delimiter, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { command } from "./shared.ts";
import { metaOf } from "./index.ts";
import { scaffold } from "../dataset/scaffold.ts";

export default command({
  meta: metaOf("init"),
  args: {
    dir: { type: "positional", description: "Folder to create them in", required: true },
    prompt: {
      type: "boolean",
      description: "A prompt file (prompt.md) over the rows of rows.csv instead of a spec module",
    },
  },
  async run({ args }) {
    // The spec runs where it was made: TypeScript only where this Node strips types (the
    // installed package on Node 20 does not), JavaScript with JSDoc types otherwise.
    const typescript = Boolean(process.features.typescript);
    const files = await scaffold(args.dir, { prompt: Boolean(args.prompt), typescript });
    const [spec, params, rows] = files.map(shellPath);
    const next = args.prompt
      ? `${invocation()} preview --input ${rows} --prompt ${spec} -j ${params}`
      : `${invocation()} preview --spec ${spec} -j ${params}`;
    console.log(`wrote ${files.join(", ")}\nnext: ${next}`);
  },
});

/**
 * synthai as the user can type it here: as npm started it (npx, `npm run`: npm's PATH is not
 * the user's), else `synthai` where the PATH finds this one, `npx synthai` in a project that
 * installed it, else the launcher's path in this clone.
 */
function invocation(): string {
  if (process.env.npm_command === "exec") return "npx synthai";
  if (process.env.npm_command === "run-script") return "npm run synthai --";
  const launcher = realpathSync(fileURLToPath(new URL("../../bin/synthai", import.meta.url)));
  const onPath = (process.env.PATH ?? "").split(delimiter).some((dir) => {
    const found = join(dir, "synthai");
    return existsSync(found) && realpathSync(found) === launcher;
  });
  if (onPath) return "synthai";
  if (import.meta.url.endsWith(".js")) return "npx synthai";
  return shellPath(launcher);
}

/** A path as the user would type it from here (relative below here), quoted for a shell where it needs it. */
function shellPath(path: string | undefined): string {
  const near = relative(process.cwd(), path ?? "");
  const shown = near.startsWith("..") ? path! : near;
  return /^[\w@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
}
