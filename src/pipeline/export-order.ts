// The export's valid samples in sample order, read back from the samples files by place. The
// service writes answers in any order and retries come later, so a chunk's samples can only be
// handed on once all its lines are read: what waits is each valid sample's place (file, offset,
// length: 16 bytes), not the sample, so the memory does not grow with the chunk or the texts.
import { closeSync } from "node:fs";
import {
  eachNonBlankLine,
  eachNonBlankLineOf,
  openLinesFile,
  readBytesAt,
  startsWith,
  wholeNumberAt,
} from "../io/byte-lines.ts";
import { tornLine } from "../io/jsonl.ts";
import type { SampleResult } from "../run/records.ts";
import type { ChunkPlace } from "./dedup-lines.ts";

/** What a line says before its fields: enough to know which sample it is and whether it is valid. */
interface Head {
  sample: number;
  chunk: number;
  ok: boolean;
}

/** Sizes: a file is scanned a block at a time; a chunk's samples are read back a window at a time. */
export interface OrderSizes {
  block: number;
  window: number;
}

const SIZES: OrderSizes = { block: 256 * 1024, window: 4 * 1024 * 1024 };

/**
 * Hands on the valid samples of the samples files at `paths` as export.ts's eachValidSample does:
 * within each run of lines of one chunk, the first "ok" line of each sample, by sample number.
 * `wayOut` is the hint of a torn or missing file.
 */
export function eachValidByPlace(
  paths: readonly string[],
  chunks: readonly ChunkPlace[],
  wayOut: string,
  use: (sample: SampleResult) => void,
  sizes = SIZES,
): void {
  const fds: number[] = [];
  let places: Places | undefined;
  let chunk: number | undefined;
  try {
    for (const [index, path] of paths.entries()) {
      fds.push(openLinesFile(path, wayOut));
      eachNonBlankLine(fds[index]!, path, wayOut, sizes.block, (bytes, start, end, offset) => {
        const head = headOf(bytes, start, end, path, wayOut);
        if (head.chunk !== chunk) {
          if (places) readBack(places, fds, paths, wayOut, sizes, use);
          chunk = head.chunk;
          places = newPlaces(chunks[chunk]?.samples ?? 0);
        }
        const at = head.sample - 1 - (chunks[chunk]?.firstSample ?? 0);
        if (!head.ok || !(at >= 0 && at < places!.file.length) || places!.file[at]! >= 0) return;
        places!.file[at] = index;
        places!.offset[at] = offset;
        places!.length[at] = end - start;
      });
    }
    if (places) readBack(places, fds, paths, wayOut, sizes, use);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * Each line of the samples file at `path` whose sample number is from `first` to `first + count - 1`,
 * parsed, in the file's order; every other line is passed over by its head, undecoded.
 */
export function eachSampleIn(
  path: string,
  first: number,
  count: number,
  wayOut: string,
  use: (sample: SampleResult) => void,
): void {
  eachNonBlankLineOf(path, wayOut, SIZES.block, (bytes, start, end) => {
    const at = headOf(bytes, start, end, path, wayOut).sample - first;
    if (at >= 0 && at < count) use(JSON.parse(bytes.toString("utf8", start, end)) as SampleResult);
  });
}

interface Places {
  /** Index of the file, -1 where the sample has no valid line. */
  file: Int32Array;
  offset: Float64Array;
  length: Uint32Array;
}

function newPlaces(samples: number): Places {
  return {
    file: new Int32Array(samples).fill(-1),
    offset: new Float64Array(samples),
    length: new Uint32Array(samples),
  };
}

const ID = Buffer.from('{"custom_id":"');
const AFTER_ID = [Buffer.from(',"sample":'), Buffer.from(',"chunk":'), Buffer.from(',"attempt":')];
const BATCH = Buffer.from(',"batch_id":"');
const STATUS_OK = Buffer.from(',"status":"ok"');
const STATUS = Buffer.from(',"status":"');

/**
 * The head of a line as synthai writes it (`{"custom_id":"…","sample":1,"chunk":0,"attempt":1,
 * "batch_id":"…","status":"ok"`), read without parsing: any other line (an escape in an id, keys
 * in another order) is parsed whole, and a line that is not JSON is told as a torn file.
 */
function headOf(bytes: Buffer, start: number, end: number, path: string, wayOut: string): Head {
  let at = startsWith(bytes, start, end, ID) ? plainString(bytes, start + ID.length, end) : -1;
  const numbers: number[] = [];
  for (const key of AFTER_ID) {
    if (at < 0 || !startsWith(bytes, at, end, key)) break;
    const digits = wholeNumberAt(bytes, at + key.length, end);
    numbers.push(digits.value);
    at = digits.end;
  }
  if (numbers.length === 3 && startsWith(bytes, at, end, BATCH)) {
    at = plainString(bytes, at + BATCH.length, end);
    if (at >= 0 && startsWith(bytes, at, end, STATUS)) {
      const ok = startsWith(bytes, at, end, STATUS_OK);
      if (numbers[0]! >= 0 && numbers[1]! >= 0) return { sample: numbers[0]!, chunk: numbers[1]!, ok };
    }
  }
  const line = bytes.toString("utf8", start, end);
  try {
    const sample = JSON.parse(line) as SampleResult;
    return { sample: sample.sample, chunk: sample.chunk, ok: sample.status === "ok" };
  } catch {
    throw tornLine(path, line, wayOut);
  }
}

/** After a string's opening quote: just past its closing quote, or -1 where it holds an escape. */
function plainString(bytes: Buffer, at: number, end: number): number {
  for (let i = at; i < end; i++) {
    if (bytes[i] === 34) return i + 1;
    if (bytes[i] === 92) return -1;
  }
  return -1;
}

/**
 * A chunk's valid samples, read back and handed on by sample number, a window of about
 * `sizes.window` bytes at a time: within a window, the lines are read in file order, so a file
 * written in sample order is read straight through, and one in any order a block at a time.
 */
function readBack(
  places: Places,
  fds: readonly number[],
  paths: readonly string[],
  wayOut: string,
  sizes: OrderSizes,
  use: (sample: SampleResult) => void,
): void {
  const { file, offset, length } = places;
  const block: Block = { bytes: Buffer.allocUnsafeSlow(sizes.block), file: -1, from: 0, to: 0 };
  for (let first = 0; first < file.length;) {
    const window: number[] = [];
    let bytes = 0;
    let next = first;
    for (; next < file.length && (bytes < sizes.window || !window.length); next++)
      if (file[next]! >= 0) {
        window.push(next);
        bytes += length[next]!;
      }
    const byPlace = window.map((_, i) => i);
    byPlace.sort(
      (a, b) => file[window[a]!]! - file[window[b]!]! || offset[window[a]!]! - offset[window[b]!]!,
    );
    const lines: string[] = new Array(window.length);
    for (const i of byPlace) {
      const at = window[i]!;
      lines[i] = lineAt(block, fds, paths, wayOut, file[at]!, offset[at]!, length[at]!);
    }
    for (const [i, line] of lines.entries()) {
      let sample: SampleResult;
      try {
        sample = JSON.parse(line);
      } catch {
        throw tornLine(paths[file[window[i]!]!]!, line, wayOut);
      }
      use(sample);
    }
    first = next;
  }
}

/** The last block read: which file, and which of its bytes. */
interface Block {
  bytes: Buffer;
  file: number;
  from: number;
  to: number;
}

/** One line's text, from the block when it holds the line, else from a new block read from where it starts. */
function lineAt(
  block: Block,
  fds: readonly number[],
  paths: readonly string[],
  wayOut: string,
  file: number,
  offset: number,
  length: number,
): string {
  if (block.file !== file || offset < block.from || offset + length > block.to) {
    if (length > block.bytes.length) block.bytes = Buffer.allocUnsafeSlow(length);
    const read = readBytesAt(fds[file]!, block.bytes, 0, block.bytes.length, offset, paths[file]!, wayOut);
    Object.assign(block, { file, from: offset, to: offset + read });
    if (read < length) throw tornLine(paths[file]!, "", wayOut);
  }
  return block.bytes.toString("utf8", offset - block.from, offset - block.from + length);
}

/**
 * A sample that waits keeps one copy of each value that many samples repeat (a label's values
 * from params.json, the batch, the model): 50,000 samples held 40 MB instead of 47 (heap after
 * a GC). Past 1,000 values a label (a name, a phone number) is left as it is.
 */
export function sharedValues(): (sample: SampleResult) => SampleResult {
  const repeats = new Map<string, Map<string, string>>();
  const shared = (name: string, value: string) => {
    let values = repeats.get(name);
    if (!values) repeats.set(name, (values = new Map()));
    const kept = values.get(value);
    if (kept === undefined && values.size < 1_000) values.set(value, value);
    return kept ?? value;
  };
  return (s) => {
    for (const name in s.labels) s.labels[name] = shared(name, s.labels[name]!);
    s.batch_id = shared("\0batch", s.batch_id);
    s.model = shared("\0model", s.model);
    return s;
  };
}
