import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT } from "./helpers.ts";

/** The layers, lowest first: a module may import from its own folder and from layers below it. */
const LAYERS = [
  ["errors.ts"],
  ["io"],
  // A vendor's wire facts (its error statuses) that both synthai's client (api) and the fakes
  // need: below both, since api and fake may not import each other.
  ["wire"],
  ["api", "fake"],
  ["dataset", "run"],
  ["cache"],
  ["pipeline"],
  ["views"],
  ["commands"],
  ["synthai.ts", "spec.ts", "index.ts"],
];
const SRC = join(ROOT, "src");

function layerOf(path: string): { rank: number; room: string } {
  const room = relative(SRC, path).split(/[\\/]/)[0]!;
  const rank = LAYERS.findIndex((layer) => layer.includes(room));
  if (rank < 0) throw new Error(`${relative(ROOT, path)} is in no layer`);
  return { rank, room };
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("the house", () => {
  test("every module imports only from its own room and from the layers below", () => {
    const upward: string[] = [];
    for (const file of sources(SRC)) {
      const from = layerOf(file);
      for (const [, spec] of readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*["'](\.[^"']+)["']/g)) {
        const to = layerOf(resolve(dirname(file), spec!));
        if (to.room !== from.room && to.rank >= from.rank) upward.push(`${relative(SRC, file)} → ${spec}`);
      }
    }
    expect(upward).toEqual([]);
  });

  test("only src/api/ imports a vendor's SDK (type imports included)", () => {
    const sdk = /(?:from|import\()\s*["'](openai|@anthropic-ai\/sdk|@google\/genai)(?:\/[^"']*)?["']/g;
    const outside: string[] = [];
    for (const file of sources(SRC)) {
      if (layerOf(file).room === "api") continue;
      for (const [, name] of readFileSync(file, "utf8").matchAll(sdk))
        outside.push(`${relative(SRC, file)} → ${name}`);
    }
    expect(outside).toEqual([]);
  });

  test("every folder of src/ is a layer", () => {
    const rooms = readdirSync(SRC);
    for (const room of rooms) expect(LAYERS.flat()).toContain(room);
  });
});
