// `synthai cache prune`: keeps the entries used last (a hit is a use), newest first, while they are
// young enough and fit, copied into one new log; then the old logs and indexes go. A run writing
// to the cache while it is pruned loses what it writes after (a miss later, never a wrong answer).
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  cacheFiles,
  frameOf,
  indexLine,
  keyOfRecord,
  LogWriter,
  readIndex,
  RecordReader,
  type IndexLine,
} from "./log.ts";
import { removeOldLayout } from "./old-layout.ts";

/** Each key's latest index line (where its record is, and when it was written or last used). */
function latestLines(dir: string, names: string[]): IndexLine[] {
  const latest = new Map<string, IndexLine>();
  for (const name of names.filter((n) => n.endsWith(".idx")))
    for (const line of readIndex(dir, name).lines) {
      const known = latest.get(line.key);
      if (!known || known.at <= line.at) latest.set(line.key, line);
    }
  return [...latest.values()].sort((a, b) => b.at - a.at);
}

/**
 * The entries kept, newest first: young enough (last used at `since` or later, in seconds) and
 * whole, while they fit in `maxBytes` as `writer` would write them; with `copy`, copied into it.
 */
function keep(
  dir: string,
  lines: IndexLine[],
  writer: LogWriter,
  copy: boolean,
  since: number,
  maxBytes?: number,
) {
  const reader = new RecordReader(dir);
  let kept = 0;
  let bytes = 0;
  let logBytes = 0;
  try {
    for (const line of lines) {
      if (line.at < since) break; // newest first: the rest are older still
      const payload = reader.read(line.log, line.offset);
      const key = payload === undefined ? undefined : keyOfRecord(payload);
      if (!key?.startsWith(line.key)) continue; // torn or foreign: it goes
      const record = frameOf(payload!);
      const place = { key, log: writer.log, offset: logBytes, at: line.at };
      const size = record.length + indexLine(place).length;
      if (maxBytes !== undefined && bytes + size > maxBytes) break;
      if (copy) {
        writer.append(record);
        writer.note(place);
      }
      logBytes += record.length;
      bytes += size;
      kept++;
    }
    if (copy) writer.flush();
  } finally {
    reader.close();
  }
  return kept;
}

/**
 * Deletes the entries an earlier version left (old-layout.ts), then those last used (or written)
 * before `olderThanMs` ago, then the least recently used until the rest take at most `maxBytes`.
 * Says how many entries and bytes went.
 */
export function pruneCache(
  dir: string,
  options: { olderThanMs?: number; maxBytes?: number; now?: number },
): { entries: number; bytes: number } {
  const old = removeOldLayout(dir);
  const pruned = pruneLogs(dir, options);
  return { entries: old.entries + pruned.entries, bytes: old.bytes + pruned.bytes };
}

/**
 * What is kept is copied into one new log, then the old files go (nothing is rewritten where
 * nothing goes).
 */
function pruneLogs(
  dir: string,
  { olderThanMs, maxBytes, now = Date.now() }: { olderThanMs?: number; maxBytes?: number; now?: number },
): { entries: number; bytes: number } {
  const files = cacheFiles(dir);
  const before = files.reduce((s, f) => s + f.bytes, 0);
  const lines = latestLines(
    dir,
    files.map((f) => f.name),
  );
  const since = olderThanMs === undefined ? -Infinity : (now - olderThanMs) / 1000;
  const writer = new LogWriter(dir);
  if (keep(dir, lines, writer, false, since, maxBytes) === lines.length) return { entries: 0, bytes: 0 };
  const kept = keep(dir, lines, writer, true, since, maxBytes);
  // The new log is whole: the old indexes go first, so no index names a log that is gone.
  const old = files
    .map((f) => f.name)
    .sort((a, b) => Number(b.endsWith(".idx")) - Number(a.endsWith(".idx")));
  for (const name of old) rmSync(join(dir, name), { force: true });
  const after = cacheFiles(dir).reduce((s, f) => s + f.bytes, 0);
  return { entries: lines.length - kept, bytes: Math.max(0, before - after) };
}
