// Each distinct Node on the PATH (the machine's own, npm's 24), for the package test and the
// bench's start-up table. Plain code without vitest, so that the bench can load it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Each distinct Node on the PATH by its version (`v20.20.2`), this one included. */
export function nodesOnPath(): Map<string, string> {
  const nodes = new Map<string, string>();
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const node = join(dir, "node");
    if (!existsSync(node)) continue;
    try {
      const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
      if (!nodes.has(version)) nodes.set(version, node);
    } catch {} // a shim that is no Node
  }
  nodes.set(process.version, process.execPath);
  return nodes;
}
