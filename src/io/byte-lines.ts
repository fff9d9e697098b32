// A file's lines read as bytes, a block at a time, for the passes that read only what they need
// of each line instead of decoding it all: the export's order by place and a stage's slice of
// samples (pipeline/export-order.ts), and --dedup near's signatures (pipeline/dedup-lines.ts).
// A run folder's file that is missing, a link or unreadable is said as damaged, with the way out.
import { closeSync, readSync } from "node:fs";
import { openToRead } from "./disk.ts";
import { damagedFile } from "./jsonl.ts";

/** Reads `length` bytes into `into` at `at`, from the file's `position`; says how many it read. */
export type ReadAt = (into: Buffer, at: number, length: number, position: number) => number;

/**
 * Each line of a file, without its newline, as `bytes` from `start` to `end`, with its offset in
 * the file; the last line, if it has no newline, alone in its bytes (so nothing after it is read).
 * A line longer than a block is read into a bigger one. Blank lines too: the caller says what is blank.
 */
export function eachLineAt(
  read: ReadAt,
  blockSize: number,
  use: (bytes: Buffer, start: number, end: number, offset: number) => void,
): void {
  let block = Buffer.allocUnsafeSlow(blockSize);
  let filled = 0; // bytes in the block
  let base = 0; // the file offset of block[0]
  for (;;) {
    if (filled === block.length) block = Buffer.concat([block, Buffer.allocUnsafeSlow(block.length)]);
    const got = read(block, filled, block.length - filled, base + filled);
    filled += got;
    let start = 0;
    for (let nl = block.indexOf(10, 0); nl >= 0 && nl < filled; nl = block.indexOf(10, start)) {
      use(block, start, nl, base + start);
      start = nl + 1;
    }
    if (got === 0) {
      if (start < filled) use(block.subarray(0, filled), start, filled, base + start);
      return;
    }
    block.copy(block, 0, start, filled);
    filled -= start;
    base += start;
  }
}

/** Whether `prefix` lies at `at`, within `end`. */
export function startsWith(bytes: Buffer, at: number, end: number, prefix: Buffer): boolean {
  if (at < 0 || at + prefix.length > end) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** A whole number of at most 15 digits from `at`, within `end` (-1: none, or a leading zero), and where it ends. */
export function wholeNumberAt(bytes: Buffer, at: number, end: number): { value: number; end: number } {
  let value = 0;
  let i = at;
  while (i < end && i < at + 15 && bytes[i]! >= 48 && bytes[i]! <= 57) value = value * 10 + bytes[i++]! - 48;
  const leadingZero = bytes[at] === 48 && i > at + 1;
  return { value: i === at || leadingZero ? -1 : value, end: i };
}

/** A run folder's file opened to be read by its lines; a missing file or a link is said with `wayOut`. */
export function openLinesFile(path: string, wayOut: string): number {
  try {
    return openToRead(path);
  } catch (error) {
    throw damagedFile(error, path, wayOut);
  }
}

/** Every non-blank line of the open file `fd` (of `path`), its trailing `\r` left out, with its offset in the file. */
export function eachNonBlankLine(
  fd: number,
  path: string,
  wayOut: string,
  blockSize: number,
  use: (bytes: Buffer, start: number, end: number, offset: number) => void,
): void {
  const read: ReadAt = (into, at, length, position) =>
    readBytesAt(fd, into, at, length, position, path, wayOut);
  eachLineAt(read, blockSize, (bytes, start, end, offset) => {
    if (end > start && bytes[end - 1] === 13) end--;
    for (let i = start; i < end; i++)
      if (bytes[i] !== 32 && bytes[i] !== 9) return use(bytes, start, end, offset);
  });
}

/** The same, the file at `path` opened for it and closed after. */
export function eachNonBlankLineOf(
  path: string,
  wayOut: string,
  blockSize: number,
  use: (bytes: Buffer, start: number, end: number, offset: number) => void,
): void {
  const fd = openLinesFile(path, wayOut);
  try {
    eachNonBlankLine(fd, path, wayOut, blockSize, use);
  } finally {
    closeSync(fd);
  }
}

/** readSync, an error of the disk said as a damaged file of `path` with `wayOut`. */
export function readBytesAt(
  fd: number,
  into: Buffer,
  at: number,
  length: number,
  position: number,
  path: string,
  wayOut: string,
): number {
  try {
    return readSync(fd, into, at, length, position);
  } catch (error) {
    throw damagedFile(error, path, wayOut);
  }
}
