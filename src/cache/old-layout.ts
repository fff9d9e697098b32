// Entries an earlier synthai left: one file per answer (`<key>.json`, or a `.tmp` one a kill left
// half written) in a folder named by the key's first two hex digits. The log never reads them, so
// `synthai cache` shows them and any prune removes them; nothing else there is touched.
import { lstatSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const SHARD = /^[0-9a-f]{2}$/;
const FILE = /^([0-9a-f]{64})\.json(\.\d+\.[0-9a-z]*\.tmp)?$/;

/** Names in `dir` (a real folder, never a link), or none. */
function namesIn(dir: string): string[] {
  try {
    return lstatSync(dir).isDirectory() ? readdirSync(dir) : [];
  } catch {
    return [];
  }
}

/** The old layout's files by folder: only plain files named as it named them, in folders (not links) named as it did. */
export function oldLayout(
  dir: string,
): { folder: string; files: { name: string; bytes: number; entry: boolean }[] }[] {
  return namesIn(dir).flatMap((shard) => {
    if (!SHARD.test(shard)) return [];
    const folder = join(dir, shard);
    const files = namesIn(folder).flatMap((name) => {
      const match = FILE.exec(name);
      if (!match?.[1]!.startsWith(shard)) return [];
      const stat = lstatSync(join(folder, name), { throwIfNoEntry: false });
      return stat?.isFile() ? [{ name, bytes: stat.size, entry: !match[2] }] : [];
    });
    return files.length ? [{ folder, files }] : [];
  });
}

/** How many entries (and bytes) the old layout holds in `dir`. */
export function oldLayoutSize(dir: string): { entries: number; bytes: number } {
  const files = oldLayout(dir).flatMap((f) => f.files);
  return { entries: files.filter((f) => f.entry).length, bytes: files.reduce((s, f) => s + f.bytes, 0) };
}

/** Removes the old layout's files, then each of its folders left empty; says how many entries and bytes went. */
export function removeOldLayout(dir: string): { entries: number; bytes: number } {
  const removed = { entries: 0, bytes: 0 };
  for (const { folder, files } of oldLayout(dir)) {
    for (const file of files) {
      rmSync(join(folder, file.name), { force: true });
      removed.entries += Number(file.entry);
      removed.bytes += file.bytes;
    }
    try {
      rmdirSync(folder);
    } catch {
      // Something else is in it: left as it is.
    }
  }
  return removed;
}
