// The cache's files: each writer (one process) appends to a log and an index of its own, so no two
// writers ever write the same file. A log record is framed with its length and carries its key and
// its body's checksum: a torn, foreign or misplaced one is found when read, and is a miss. An index
// line names a key, the log and offset of its record, and when it was written or last used.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  writeSync,
} from "node:fs";
import { hash } from "node:crypto";
import { join } from "node:path";
import type { Kept } from "./key.ts";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND, O_NONBLOCK } = constants;
/** Never through a link, never blocked by a FIFO someone put in its place. */
export const READ_SAFE = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const RECORD_VERSION = 2;
/** A record's frame: "E", its payload's length in 8 hex digits, a newline. */
const FRAME = 10;
/** What one read of a log takes in: many records, as a rerun reads them in a row. */
const BLOCK = 256 << 10;
/** A read out of order: most records fit in it whole. */
const SMALL = 4 << 10;
/** The characters of a key an index line and the in-memory index hold (the record holds all 64). */
export const SHORT_KEY = 32;
const FILE_NAME = /^[0-9a-z]+-[0-9a-z]+-[0-9a-z]+\.(log|idx)$/;

/** One kept answer: the service's body (JSON text), why it ended, the limit it was asked with, what it cost. */
export interface Entry extends Kept {
  finish: string;
  promptTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costUsd: number;
  body: string;
}

const sum = (text: string) => hash("sha256", text).slice(0, 32);

/** A record: its frame, then a header line (its key, its body's checksum, the entry's figures), then the body. */
export function encodeRecord(key: string, entry: Entry): Buffer {
  const { body, ...figures } = entry;
  return frameOf(`${JSON.stringify({ v: RECORD_VERSION, key, ...figures, sum: sum(body) })}\n${body}`);
}

/** The entry a record's payload holds for `key`, or undefined: torn, foreign, of another version. */
export function decodeRecord(payload: string, key: string): Entry | undefined {
  const newline = payload.indexOf("\n");
  if (newline < 0) return undefined;
  try {
    const { v, key: its, sum: expected, ...entry } = JSON.parse(payload.slice(0, newline));
    const body = payload.slice(newline + 1);
    const whole = typeof entry.limit === "number" && typeof entry.completionTokens === "number";
    return v === RECORD_VERSION && its === key && whole && expected === sum(body)
      ? ({ ...entry, body } as Entry)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A whole record's own key (checked against its checksum), or undefined. */
export function keyOfRecord(payload: string): string | undefined {
  try {
    const { key } = JSON.parse(payload.slice(0, payload.indexOf("\n")));
    return typeof key === "string" && decodeRecord(payload, key) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** A record's bytes again, from its payload (prune copies the records it keeps). */
export function frameOf(payload: string): Buffer {
  const bytes = Buffer.from(payload);
  return Buffer.concat([Buffer.from(`E${bytes.length.toString(16).padStart(8, "0")}\n`), bytes]);
}

/**
 * Reads records from the logs of a folder, each opened once (never through a link). A record a
 * little after the one read before it in its log is read with those after it, a block at a time,
 * so records read in the order they lie (a rerun's, sorted: store.ts) cost one read a block;
 * others, a small read each.
 */
export class RecordReader {
  readonly #dir: string;
  readonly #fds = new Map<string, number>();
  #block = { fd: -1, start: 0, length: 0, buffer: Buffer.allocUnsafe(BLOCK) };
  /** Where the record read last ends: a read a little after it is likely followed by more. */
  #end = { fd: -1, offset: -1 };

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** The payload of the record at `offset` of `log`, or undefined where no whole frame is. */
  read(log: string, offset: number): string | undefined {
    const fd = this.#fdOf(log);
    if (fd < 0) return undefined;
    let at = this.#at(fd, offset, FRAME);
    const { buffer } = this.#block;
    if (at < 0 || buffer[at] !== 0x45 || buffer[at + FRAME - 1] !== 0x0a) return undefined;
    const length = Number.parseInt(buffer.toString("latin1", at + 1, at + FRAME - 1), 16);
    if (!Number.isSafeInteger(length) || length < 0) return undefined;
    at = this.#at(fd, offset, FRAME + length);
    if (at < 0) return undefined;
    this.#end = { fd, offset: offset + FRAME + length };
    return this.#block.buffer.toString("utf8", at + FRAME, at + FRAME + length);
  }

  /** Whether `log` was found gone (pruned) when its records were read. */
  gone(log: string): boolean {
    return this.#fds.get(log) === -1;
  }

  close(): void {
    for (const fd of this.#fds.values()) if (fd >= 0) closeSync(fd);
    this.#fds.clear();
  }

  /** Where `bytes` bytes from `offset` are in the block, read again from `offset` if they are not; -1: the log ends first. */
  #at(fd: number, offset: number, bytes: number): number {
    const block = this.#block;
    const inBlock = block.fd === fd && offset >= block.start && offset + bytes <= block.start + block.length;
    if (inBlock) return offset - block.start;
    if (block.buffer.length < bytes) block.buffer = Buffer.allocUnsafe(bytes);
    const ahead = offset - this.#end.offset;
    const next = this.#end.fd === fd && ahead >= 0 && ahead < BLOCK;
    const size = Math.min(block.buffer.length, Math.max(bytes, next ? BLOCK : SMALL));
    Object.assign(block, { fd, start: offset, length: readSync(fd, block.buffer, 0, size, offset) });
    return block.length >= bytes ? 0 : -1;
  }

  #fdOf(log: string): number {
    let fd = this.#fds.get(log);
    if (fd === undefined) {
      try {
        fd = openSync(join(this.#dir, log), READ_SAFE);
      } catch {
        fd = -1; // gone (pruned) or a link: its records are misses
      }
      this.#fds.set(log, fd);
    }
    return fd;
  }
}

/** One index line: a key, where its record is, and when it was written or last used (seconds). */
export interface IndexLine {
  key: string;
  log: string;
  offset: number;
  at: number;
}

export function indexLine({ key, log, offset, at }: IndexLine): string {
  return `${key.slice(0, SHORT_KEY)} ${log} ${offset} ${at}\n`;
}

/** Log names an index line may give, checked once each: a run reads an index's thousands of lines, naming a few logs. */
const logNames = new Set<string>();

function isLogName(log: string): boolean {
  if (logNames.has(log)) return true;
  const good = FILE_NAME.test(log) && log.endsWith(".log");
  if (good && logNames.size < 10_000) logNames.add(log);
  return good;
}

export function parseIndexLine(line: string): IndexLine | undefined {
  const [key, log, offset, at] = line.split(" ");
  if (key?.length !== SHORT_KEY || !log || !isLogName(log)) return undefined;
  const [o, a] = [Number(offset), Number(at)];
  return Number.isSafeInteger(o) && o >= 0 && Number.isFinite(a) ? { key, log, offset: o, at: a } : undefined;
}

/** The cache's logs and indexes with their sizes; links, folders and strays are left out. */
export function cacheFiles(dir: string): { name: string; bytes: number }[] {
  let names: string[];
  try {
    if (!lstatSync(dir).isDirectory()) return [];
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const stat = FILE_NAME.test(name) ? lstatSync(join(dir, name), { throwIfNoEntry: false }) : undefined;
    return stat?.isFile() ? [{ name, bytes: stat.size }] : [];
  });
}

/** An index's whole lines from byte `from` on (a line still being written is left for later). */
export function readIndex(dir: string, name: string, from = 0): { lines: IndexLine[]; upTo: number } {
  let fd: number;
  try {
    fd = openSync(join(dir, name), READ_SAFE);
  } catch {
    return { lines: [], upTo: from };
  }
  try {
    const size = fstatSync(fd).isFile() ? fstatSync(fd).size : 0;
    const buffer = Buffer.allocUnsafe(Math.max(0, size - from));
    const got = buffer.length ? readSync(fd, buffer, 0, buffer.length, from) : 0;
    const text = buffer.toString("latin1", 0, got);
    const lines: IndexLine[] = [];
    let start = 0;
    for (let end = text.indexOf("\n"); end >= 0; start = end + 1, end = text.indexOf("\n", start)) {
      const line = parseIndexLine(text.slice(start, end));
      if (line) lines.push(line);
    }
    return { lines, upTo: from + start }; // latin1: one character a byte
  } finally {
    closeSync(fd);
  }
}

/**
 * One writer's log and index, made the first time something is written (names of its own, never
 * an existing file, never through a link). Records and lines are gathered and written in large
 * appends: the index line of a record is written only after the record, so a kill between the two
 * leaves a record no index names (a miss), never an index line without its record whole.
 */
export class LogWriter {
  readonly #dir: string;
  readonly name: string;
  #fds: { log: number; idx: number } | undefined;
  #written = 0;
  #records: Buffer[] = [];
  #pending = 0;
  #lines: string[] = [];

  constructor(dir: string) {
    this.#dir = dir;
    const random = Math.random().toString(36).slice(2, 10);
    this.name = `${Date.now().toString(36)}-${process.pid.toString(36)}-${random}`;
  }

  get log(): string {
    return `${this.name}.log`;
  }

  /** Appends a record; says the offset it will have in the log. */
  append(record: Buffer): number {
    const offset = this.#written + this.#pending;
    this.#records.push(record);
    this.#pending += record.length;
    if (this.#pending > 1 << 20) this.flush();
    return offset;
  }

  /** Whether the record at `offset` of this writer's log is still only in memory. */
  holds(offset: number): boolean {
    return offset >= this.#written;
  }

  note(line: IndexLine): void {
    this.#lines.push(indexLine(line));
  }

  flush(): void {
    if (!this.#records.length && !this.#lines.length) return;
    const fds = this.#open();
    if (this.#records.length) writeAll(fds.log, Buffer.concat(this.#records));
    this.#written += this.#pending;
    this.#records = [];
    this.#pending = 0;
    if (this.#lines.length) writeAll(fds.idx, Buffer.from(this.#lines.join("")));
    this.#lines = [];
  }

  #open(): { log: number; idx: number } {
    const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND;
    this.#fds ??= {
      log: openSync(join(this.#dir, this.log), flags, 0o600),
      idx: openSync(join(this.#dir, `${this.name}.idx`), flags, 0o600),
    };
    return this.#fds;
  }
}

function writeAll(fd: number, buffer: Buffer): void {
  for (let at = 0; at < buffer.length;) at += writeSync(fd, buffer, at);
}
