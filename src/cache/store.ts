// The answers kept on disk across runs: one small file per answer, named by its key, in a folder
// of 256 shards (the key's first two hex digits), so a lookup is one open and one read. Entries
// are written whole under a temporary name and renamed into place, so two runs sharing the cache
// at once each read an old entry or a new one, never half of one; a torn or foreign file is a miss.
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import type { Kept } from "./key.ts";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND } = constants;
const ENTRY_VERSION = 1;
const LEDGER = "ledger.jsonl";

/** One kept answer: the service's body (JSON text), why it ended, the limit it was asked with, what it cost. */
export interface Entry extends Kept {
  finish: string;
  promptTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costUsd: number;
  body: string;
}

const bodySum = (body: string) => createHash("sha256").update(body).digest("hex").slice(0, 32);

/** The user's cache folder: `$XDG_CACHE_HOME/synthai/answers`, else `~/.cache/synthai/answers`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "synthai", "answers");
}

export class AnswerCache {
  readonly dir: string;
  readonly #shards = new Set<string>();
  #ready = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The kept answer of `key`, or undefined: none, torn, foreign (another key's, another version's) or a link. */
  get(key: string): Entry | undefined {
    let text: string;
    const path = this.#path(key);
    // A miss is most lookups of a first run: asked first, it costs no thrown error.
    if (!existsSync(path)) return undefined;
    try {
      const fd = openSync(path, O_RDONLY | O_NOFOLLOW);
      try {
        text = readFileSync(fd, "utf8");
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
    // A header line, then the body as the service sent it: a hit is copied into the results as text,
    // never parsed and written again; its checksum in the header finds a torn or foreign one.
    const newline = text.indexOf("\n");
    try {
      const { v, key: its, sum, ...entry } = JSON.parse(text.slice(0, newline));
      const body = text.slice(newline + 1);
      const whole =
        newline > 0 && typeof entry.limit === "number" && typeof entry.completionTokens === "number";
      return v === ENTRY_VERSION && its === key && whole && sum === bodySum(body)
        ? ({ ...entry, body } as Entry)
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps an answer: written whole under a name of this process's own, then renamed over the entry. */
  put(key: string, entry: Entry): void {
    this.#open();
    const shard = join(this.dir, key.slice(0, 2));
    if (!this.#shards.has(shard)) {
      mkdirSync(shard, { recursive: true, mode: 0o700 });
      this.#shards.add(shard);
    }
    const path = this.#path(key);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      const { body, ...header } = entry;
      writeSync(fd, `${JSON.stringify({ v: ENTRY_VERSION, key, ...header, sum: bodySum(body) })}\n${body}`);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  /** Adds a run's hits and what they saved to the cache's own ledger (one line, appended whole). */
  noteHits(run: string, hits: number, savedUsd: number): void {
    if (!hits) return;
    this.#open();
    const line = `${JSON.stringify({ at: new Date().toISOString(), run, hits, savedUsd })}\n`;
    const fd = openSync(join(this.dir, LEDGER), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, line); // one write of one line: appends of runs sharing the cache never interleave
    } finally {
      closeSync(fd);
    }
  }

  #path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** Made private to the user (0700) the first time something is written; a link there is refused. */
  #open(): void {
    if (this.#ready) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(this.dir);
    if (stat.isSymbolicLink() || !stat.isDirectory())
      throw new UserError(
        `the cache folder ${this.dir} is a link or not a folder, and synthai keeps answers only in a folder of its own`,
        "pass --cache-dir <folder>, or --no-cache",
      );
    if ((stat.mode & 0o777) !== 0o700) chmodSync(this.dir, 0o700);
    this.#ready = true;
  }
}

/** What `synthai cache` shows: the entries, their bytes, and the hits and savings of every run so far. */
export interface CacheStats {
  dir: string;
  entries: number;
  bytes: number;
  hits: number;
  savedUsd: number;
}

/** Every entry file of the cache with its size and time, oldest first; links and strays are left out. */
function entriesOf(dir: string): { path: string; bytes: number; mtimeMs: number }[] {
  const found: { path: string; bytes: number; mtimeMs: number }[] = [];
  for (const shard of safeList(dir)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of safeList(join(dir, shard))) {
      const path = join(dir, shard, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (stat?.isFile()) found.push({ path, bytes: stat.size, mtimeMs: stat.mtimeMs });
    }
  }
  return found.sort((a, b) => a.mtimeMs - b.mtimeMs);
}

function safeList(dir: string): string[] {
  try {
    return lstatSync(dir).isDirectory() ? readdirSync(dir) : [];
  } catch {
    return [];
  }
}

export function cacheStats(dir: string): CacheStats {
  const entries = entriesOf(dir).filter((e) => e.path.endsWith(".json"));
  const stats = { dir, entries: entries.length, bytes: 0, hits: 0, savedUsd: 0 };
  for (const entry of entries) stats.bytes += entry.bytes;
  let ledger = "";
  try {
    const fd = openSync(join(dir, LEDGER), O_RDONLY | O_NOFOLLOW);
    try {
      ledger = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    // No run has hit the cache yet.
  }
  for (const line of ledger.split("\n")) {
    try {
      const { hits, savedUsd } = JSON.parse(line);
      stats.hits += Number(hits) || 0;
      stats.savedUsd += Number(savedUsd) || 0;
    } catch {
      // A line torn by a full disk counts for nothing.
    }
  }
  return stats;
}

/**
 * Deletes the entries written before `olderThanMs` ago, then the oldest until the rest take at most
 * `maxBytes`; temporary files of writers long gone go too. Says how many entries and bytes went.
 */
export function pruneCache(
  dir: string,
  { olderThanMs, maxBytes, now = Date.now() }: { olderThanMs?: number; maxBytes?: number; now?: number },
): { entries: number; bytes: number } {
  const all = entriesOf(dir);
  let total = all.reduce((s, e) => s + e.bytes, 0);
  const removed = { entries: 0, bytes: 0 };
  for (const entry of all) {
    const old = olderThanMs !== undefined && now - entry.mtimeMs > olderThanMs;
    const over = maxBytes !== undefined && total > maxBytes;
    const staleTmp = entry.path.endsWith(".tmp") && now - entry.mtimeMs > 3_600_000;
    if (!old && !over && !staleTmp) continue;
    rmSync(entry.path, { force: true });
    total -= entry.bytes;
    if (entry.path.endsWith(".json")) removed.entries++;
    removed.bytes += entry.bytes;
  }
  return removed;
}
