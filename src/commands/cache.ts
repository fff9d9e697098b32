import { resolve } from "node:path";
import { UserError } from "../errors.ts";
import { windowHours } from "../api/providers/index.ts";
import { cacheStats, defaultCacheDir, foundCacheDir } from "../cache/store.ts";
import { pruneCache } from "../cache/prune.ts";
import { formatCacheStats, formatPruned } from "../views/cache.ts";
import { metaOf } from "./index.ts";
import { command } from "./shared.ts";

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
  TB: 1e12,
};

/** `--max-size 1GB` (B, KB, MB, GB, TB: powers of 1000, as the size is shown). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toUpperCase()] : undefined;
  if (!match || unit === undefined)
    throw new UserError(`--max-size "${text}" is not a size`, "give one like 500MB or 1GB");
  return Number(match[1]) * unit;
}

/** `--older-than 30d` (or hours: 12h), in milliseconds. */
export function parseAge(text: string): number {
  const hours = windowHours(text);
  if (hours === undefined)
    throw new UserError(`--older-than "${text}" is not an age`, "give one like 30d or 12h");
  return hours * 3_600_000;
}

export default command({
  meta: metaOf("cache"),
  args: {
    action: {
      type: "positional",
      required: false,
      description:
        "prune: delete entries (by --older-than, --max-size); left out: show size, entries, hits, saved",
      valueHint: "prune",
    },
    "cache-dir": {
      type: "string",
      description:
        "The cache's folder (Default: $XDG_CACHE_HOME/synthai/answers, else ~/.cache/synthai/answers)",
      valueHint: "dir",
    },
    "older-than": {
      type: "string",
      description: "prune: entries last used (or written) this long ago or more (30d, 12h)",
    },
    "max-size": {
      type: "string",
      description: "prune: then the least recently used, until the rest fit (500MB, 1GB)",
    },
  },
  async run({ args }) {
    const dir = args["cache-dir"] ? resolve(args["cache-dir"]) : defaultCacheDir();
    foundCacheDir(dir, "pass --cache-dir <folder>"); // a link or a file is no cache to show or prune
    if (args.action === undefined) return console.log(formatCacheStats(cacheStats(dir)));
    if (args.action !== "prune")
      throw new UserError(
        `synthai cache has no action "${args.action}"`,
        "give prune, or nothing to see the cache",
      );
    if (args["older-than"] === undefined && args["max-size"] === undefined)
      throw new UserError("cache prune needs --older-than or --max-size", "for example --older-than 30d");
    const removed = pruneCache(dir, {
      ...(args["older-than"] !== undefined ? { olderThanMs: parseAge(args["older-than"]) } : {}),
      ...(args["max-size"] !== undefined ? { maxBytes: parseSize(args["max-size"]) } : {}),
    });
    console.log(formatPruned(removed, cacheStats(dir)));
  },
});
