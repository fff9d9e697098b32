// The answers kept on disk across runs: each process appends the answers it keeps to a log of its
// own (log.ts), and finds every process's answers through their indexes, read once and then only
// where they grew. A lookup is a map's, then one read of the record, checked against its key and
// checksum: a torn, foreign or missing record is a miss. Runs sharing the cache at once never write
// the same file, so each reads whole records of the others', or none.
import {
  accessSync,
  chmodSync,
  closeSync,
  mkdirSync,
  lstatSync,
  openSync,
  readFileSync,
  writeSync,
  constants,
  type Stats,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import {
  cacheFiles,
  decodeRecord,
  encodeRecord,
  LogWriter,
  READ_SAFE,
  readIndex,
  RecordReader,
  type Entry,
} from "./log.ts";
import { oldLayoutSize } from "./old-layout.ts";
import { PlaceTable } from "./tables.ts";

export type { Entry } from "./log.ts";

const { O_WRONLY, O_CREAT, O_NOFOLLOW, O_APPEND } = constants;
const LEDGER = "ledger.jsonl";
/** A hit is noted as a use at most once an hour per entry: prune goes by hours and days. */
const USE_EVERY_S = 3600;

/** The user's cache folder: `$XDG_CACHE_HOME/synthai/answers`, else `~/.cache/synthai/answers`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "synthai", "answers");
}

export class AnswerCache {
  readonly dir: string;
  readonly #now: () => number;
  readonly #index = new PlaceTable();
  readonly #logs: string[] = [];
  readonly #logNumbers = new Map<string, number>();
  /** How far each index has been read. */
  readonly #read = new Map<string, number>();
  /** The logs found gone, whose places were read again (`#movedOn`), and the one being replaced. */
  readonly #gone = new Set<number>();
  #replacing = -1;
  readonly #reader: RecordReader;
  #writer: LogWriter | undefined;
  #loaded = false;
  #ready = false;

  /** `now`: the clock (ms) that dates what is written and used. */
  constructor(dir: string, { now = Date.now }: { now?: () => number } = {}) {
    this.dir = dir;
    this.#now = now;
    this.#reader = new RecordReader(dir);
  }

  /** Reads what every other writer's index gained since it was last read. */
  refresh(): void {
    this.#loaded = true;
    const own = this.#writer && `${this.#writer.name}.idx`;
    for (const { name } of cacheFiles(this.dir)) {
      if (!name.endsWith(".idx") || name === own) continue;
      const { lines, upTo } = readIndex(this.dir, name, this.#read.get(name) ?? 0);
      this.#read.set(name, upTo);
      for (const line of lines) this.#place(line.key, line.log, line.offset, line.at);
    }
  }

  /** The kept answer of `key`, or undefined: none, torn, foreign (another key's, another version's). */
  get(key: string): Entry | undefined {
    if (!this.#loaded) this.refresh();
    const place = this.#index.get(key);
    if (!place) return undefined;
    const writer = this.#writer;
    if (writer && this.#logs[place.log] === writer.log && writer.holds(place.offset)) writer.flush();
    try {
      const log = this.#logs[place.log]!;
      const payload = this.#reader.read(log, place.offset);
      if (payload === undefined && this.#reader.gone(log) && this.#movedOn(place.log)) return this.get(key);
      return payload === undefined ? undefined : decodeRecord(payload, key);
    } catch {
      return undefined;
    }
  }

  /**
   * A log gone since the indexes were read: a prune kept some of its records in a new log, under
   * a new index. Every index is read again (once a log), its lines taking the places in the gone
   * log whatever their time; true when done.
   */
  #movedOn(log: number): boolean {
    if (this.#gone.has(log)) return false;
    this.#gone.add(log);
    this.#read.clear();
    this.#replacing = log;
    try {
      this.refresh();
    } finally {
      this.#replacing = -1;
    }
    return true;
  }

  /** Whether the index names `key`: its record may still be torn or foreign (`get` says). */
  has(key: string): boolean {
    if (!this.#loaded) this.refresh();
    return this.#index.get(key) !== undefined;
  }

  /**
   * `items` in the order their keys' records lie in the logs: got in that order, each log is read
   * forward, a block at a time, not a small read a record (a rerun's answers lie in the order they
   * came, which is not the order they are asked in).
   */
  inLogOrder<T>(items: T[], keyOf: (item: T) => string): T[] {
    const places = items.map((item) => this.#index.get(keyOf(item)));
    const order = items.map((_, i) => i);
    const at = (i: number) => places[i] ?? { log: Number.MAX_SAFE_INTEGER, offset: 0 };
    order.sort((a, b) => at(a).log - at(b).log || at(a).offset - at(b).offset);
    return order.map((i) => items[i]!);
  }

  /**
   * Keeps an answer: appended to this writer's log (written by `flush`, or once a megabyte waits).
   * `findable`: whether this cache may be asked for it again. A batch's answers are not: their keys
   * hold their sample and attempt, so the run that keeps them never asks again, and a million of
   * them in memory would cost a run tens of MB; later runs find them through the index file.
   */
  put(key: string, entry: Entry, { findable = true }: { findable?: boolean } = {}): void {
    const writer = this.#writerOf();
    const offset = writer.append(encodeRecord(key, entry));
    const at = this.#seconds();
    writer.note({ key, log: writer.log, offset, at });
    if (findable) this.#place(key, writer.log, offset, at);
  }

  /** A hit counts as a use of its entry (what `prune --older-than` goes by). */
  used(key: string): void {
    if (!this.#loaded) this.refresh();
    const place = this.#index.get(key);
    const at = this.#seconds();
    if (!place || at - place.at < USE_EVERY_S) return;
    this.#index.set(key, { ...place, at });
    this.#writerOf().note({ key, log: this.#logs[place.log]!, offset: place.offset, at });
  }

  /** Writes what waits in memory: records first, then the index lines that name them. */
  flush(): void {
    this.#writer?.flush();
  }

  /** Adds a run's hits and what they saved to the cache's own ledger (one line, appended whole). */
  noteHits(run: string, hits: number, savedUsd: number): void {
    if (!hits) return;
    this.#open();
    const line = `${JSON.stringify({ at: new Date(this.#now()).toISOString(), run, hits, savedUsd })}\n`;
    const fd = openSync(join(this.dir, LEDGER), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, line); // one write of one line: appends of runs sharing the cache never interleave
    } finally {
      closeSync(fd);
    }
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Indexes a record's place; of two places of one key, the one written or used last. */
  #place(key: string, log: string, offset: number, at: number): void {
    const known = this.#index.get(key);
    if (known && known.at > at && known.log !== this.#replacing) return;
    let number = this.#logNumbers.get(log);
    if (number === undefined) {
      number = this.#logs.push(log) - 1;
      this.#logNumbers.set(log, number);
    }
    this.#index.set(key, { log: number, offset, at });
  }

  #writerOf(): LogWriter {
    this.#open();
    this.#writer ??= new LogWriter(this.dir);
    return this.#writer;
  }

  #open(): void {
    if (this.#ready) return;
    openCacheDir(this.dir);
    this.#ready = true;
  }
}

/**
 * Makes the cache folder, private to the user (0700), or refuses it in one line: a link (even
 * one to nowhere), a file, a folder that cannot be made or written. A run checks it before
 * anything is paid for.
 */
export function openCacheDir(dir: string): void {
  const found = foundCacheDir(dir);
  if (!found) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTDIR") throw refusedCacheDir(dir, BLOCKED);
      if (code === "EACCES" || code === "EPERM" || code === "EROFS")
        throw refusedCacheDir(dir, "cannot be made here");
      throw error;
    }
  }
  if (((found ?? lstatSync(dir)).mode & 0o777) !== 0o700) {
    try {
      chmodSync(dir, 0o700);
    } catch {
      throw refusedCacheDir(dir, "is not the user's own");
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw refusedCacheDir(dir, "cannot be written");
  }
}

const BLOCKED = "cannot be made: a file stands in its path";
const RUN_HINT = "pass --cache-dir <folder>, or --no-cache";

/**
 * The cache folder as it is, if it is there (`synthai cache` reads it, a run makes it); a link,
 * even one to nowhere, a file, or a path through a file is refused, never read or followed.
 */
export function foundCacheDir(dir: string, hint = RUN_HINT): Stats | undefined {
  let found: Stats | undefined;
  try {
    found = lstatSync(dir, { throwIfNoEntry: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") throw refusedCacheDir(dir, BLOCKED, hint);
    throw error;
  }
  if (found?.isSymbolicLink()) throw refusedCacheDir(dir, "is a link", hint);
  if (found && !found.isDirectory()) throw refusedCacheDir(dir, "is not a folder", hint);
  return found;
}

function refusedCacheDir(dir: string, why: string, hint = RUN_HINT): UserError {
  return new UserError(
    `the cache folder ${dir} ${why}, and synthai keeps answers only in a folder of its own`,
    hint,
  );
}

/** What `synthai cache` shows: the entries, their bytes, and the hits and savings of every run so far. */
export interface CacheStats {
  dir: string;
  entries: number;
  bytes: number;
  hits: number;
  savedUsd: number;
  /** Entries an earlier version left (one file each), never read; any prune removes them. */
  old: { entries: number; bytes: number };
}

export function cacheStats(dir: string): CacheStats {
  const files = cacheFiles(dir);
  const keys = new Set<string>();
  for (const { name } of files)
    if (name.endsWith(".idx")) for (const line of readIndex(dir, name).lines) keys.add(line.key);
  const stats = { dir, entries: keys.size, bytes: 0, hits: 0, savedUsd: 0, old: oldLayoutSize(dir) };
  for (const file of files) stats.bytes += file.bytes;
  let ledger = "";
  try {
    const fd = openSync(join(dir, LEDGER), READ_SAFE);
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
