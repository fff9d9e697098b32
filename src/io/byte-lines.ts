// A file's lines read as bytes, a block at a time, for the passes that read only what they need
// of each line instead of decoding it all: the export's order by place (pipeline/export-order.ts)
// and --dedup near's signatures (pipeline/dedup-lines.ts).

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
