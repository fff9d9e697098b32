import { createHash, type Hash } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { pipeline } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { UserError } from "../errors.ts";
import { linkRefused, openFresh, READ_NO_LINK } from "./disk.ts";

/**
 * Streams the objects of a JSONL file that synthai wrote itself. A missing file or a torn line
 * means the run folder was damaged: that is said, with the file and the way out, not thrown as a bug.
 */
export async function* readJsonl<T>(path: string, wayOut = DAMAGED_HINT): AsyncGenerator<T> {
  try {
    const { default: ndjson } = await import("ndjson");
    // pipeline, not pipe: an error of the file (missing, unreadable) reaches the reader.
    const file = await open(path, READ_NO_LINK);
    yield* pipeline(file.createReadStream(), ndjson.parse(), () => {}) as AsyncIterable<T>;
  } catch (error) {
    const row = /^Could not parse row (.*)$/s.exec((error as Error).message)?.[1];
    throw row !== undefined ? tornLine(path, row, wayOut) : damagedFile(error, path, wayOut);
  }
}

export const DAMAGED_HINT = "restore the run folder from a backup";

export function tornLine(path: string, line: string, wayOut: string): UserError {
  return new UserError(
    `${path} holds a line that is not valid JSON, a torn or damaged file: ${JSON.stringify(line.slice(0, 40))}`,
    wayOut,
  );
}

/** A missing file or a link is said so, with the way out; any other error is the disk's, as it is. */
export function damagedFile(error: unknown, path: string, wayOut: string): unknown {
  return (error as NodeJS.ErrnoException).code === "ENOENT"
    ? new UserError(`${path} is missing`, wayOut)
    : linkRefused(error, path, wayOut);
}

/**
 * The objects of a JSONL file synthai wrote, a read's worth at a time, where a run's files are
 * read whole (samples/*.jsonl at export): ndjson's stream of one object per promise took three
 * times as long there, most of it in garbage collection (`npm run bench`, export). Errors as readJsonl's.
 */
export async function* readJsonlBatches<T>(
  path: string,
  wayOut = DAMAGED_HINT,
  parse: (line: string) => T = JSON.parse,
): AsyncGenerator<T[]> {
  try {
    for await (const batch of readLineBatches(path, READ_NO_LINK)) {
      const values: T[] = [];
      for (const line of batch) {
        try {
          values.push(parse(line));
        } catch {
          throw tornLine(path, line, wayOut);
        }
      }
      yield values;
    }
  } catch (error) {
    throw damagedFile(error, path, wayOut);
  }
}

/**
 * Streams the non-blank lines of a file that came from outside, so a bad line can be reported,
 * a read's worth at a time: on files of a million lines, a promise per line costs more than
 * the line. Reads are 64 KB: a bigger string would go straight to V8's old generation, which
 * is collected rarely, and the process would grow. `flags`: READ_NO_LINK for a run folder's own files.
 */
export async function* readLineBatches(path: string, flags: string | number = "r"): AsyncGenerator<string[]> {
  const file = await open(path, flags).catch((error) => {
    throw linkRefused(error, path);
  });
  // Two buffers, reused: one is split into lines while the next read fills the other. A read
  // stream would allocate a new buffer for every read, which V8 frees only later.
  const buffers = [Buffer.allocUnsafeSlow(READ_BYTES), Buffer.allocUnsafeSlow(READ_BYTES)];
  let reading = file.read(buffers[0]!, 0, READ_BYTES, null);
  try {
    const decoder = new StringDecoder("utf8");
    let rest = "";
    for (let turn = 1; ; turn++) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      reading = file.read(buffers[turn % 2]!, 0, READ_BYTES, null);
      const lines = (rest + decoder.write(buffer.subarray(0, bytesRead))).split("\n");
      rest = lines.pop()!;
      yield nonBlank(lines);
    }
    const last = nonBlank([rest + decoder.end()]);
    if (last.length) yield last;
  } finally {
    await reading.catch(() => {}); // a reader that stops early leaves the read ahead behind
    await file.close();
  }
}

const READ_BYTES = 64 * 1024;

/** A file's first line (a header), from its first 64 KB. */
export async function readFirstLine(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8").split(/\r?\n/)[0] ?? "";
  } finally {
    await handle.close();
  }
}

/** The same lines one at a time, where a file is small or each line is slow anyway. */
export async function* readLines(path: string): AsyncGenerator<string> {
  for await (const lines of readLineBatches(path)) yield* lines;
}

function nonBlank(lines: string[]): string[] {
  return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line)).filter((line) => line.trim());
}

/**
 * Text appended to a file, gathered into 64 KB writes: one write per line or row costs more
 * than making it. Text is encoded into one reused buffer as it comes, so it dies young in
 * V8's heap instead of waiting there for a flush, and the buffer is written synchronously:
 * the page cache takes 64 KB in microseconds, where an asynchronous write costs a trip
 * through Node's thread pool and a new buffer. Writing is backpressure enough: nothing piles
 * up in memory, and a disk error is thrown by the write that met it.
 */
export class TextWriter {
  /** Bytes written (or waiting in the buffer), as UTF-8. */
  bytes = 0;
  private readonly fd: number;
  private buffer = Buffer.allocUnsafeSlow(FLUSH_BYTES);
  private used = 0;
  private readonly hash: Hash | undefined;
  private digest: string | undefined;
  private closed = false;

  /**
   * Appends to an output (which may be a link the user made), or writes a run folder's file afresh,
   * never through a link. `hash`: the SHA-256 of what is written is taken as it goes (`sha256`),
   * so the file is never read back for it.
   */
  constructor(path: string, options: { append?: boolean; hash?: boolean } = {}) {
    this.fd = options.append ? openSync(path, "a") : openFresh(path);
    if (options.hash) this.hash = createHash("sha256");
  }

  /** The SHA-256 of everything written, once closed. */
  get sha256(): string {
    if (!this.hash) throw new Error("TextWriter: made without hash");
    return (this.digest ??= this.hash.digest("hex"));
  }

  write(text: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    if (this.used + text.length * 3 > this.buffer.length) {
      this.flush();
      if (text.length * 3 > this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(text.length * 3);
    }
    const bytes = this.buffer.write(text, this.used);
    this.used += bytes;
    this.bytes += bytes;
  }

  private flush(): void {
    this.hash?.update(this.buffer.subarray(0, this.used));
    for (let at = 0; at < this.used;) at += writeSync(this.fd, this.buffer, at, this.used - at);
    this.used = 0;
  }

  /** Closes the file without writing what waits in the buffer (nothing, if a failed close closed it). */
  discard(): void {
    this.used = 0;
    this.closeOnce();
  }

  /** Writes what is left and closes the file, so a rename after it publishes a complete file. */
  close(): void {
    try {
      this.flush();
    } finally {
      this.closeOnce();
    }
  }

  // A close that failed (a full disk) is followed by a discard: closing the descriptor twice
  // would throw, and keep the caller from taking the partial rows away.
  private closeOnce(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

const FLUSH_BYTES = 64 * 1024;

/** Writes JSON lines (a run folder's records); `bytes` and `lines` count what was written, `sha256` hashes it. */
export class JsonlWriter {
  lines = 0;
  private readonly file: TextWriter;

  constructor(path: string) {
    this.file = new TextWriter(path, { hash: true });
  }

  get bytes(): number {
    return this.file.bytes;
  }

  /** The SHA-256 of the lines written, once closed. */
  get sha256(): string {
    return this.file.sha256;
  }

  write(value: unknown): void {
    this.writeLine(JSON.stringify(value));
  }

  writeLine(line: string): void {
    this.lines++;
    this.file.write(`${line}\n`);
  }

  close(): void {
    this.file.close();
  }
}

/**
 * A download comes in one buffer per socket read, and V8 frees them only when it collects
 * garbage, which a download hardly makes: they pile up to 64 MB, V8's limit for memory outside
 * its heap. With `--expose-gc` (bin/runtime.cjs), a young-generation collection every 8 MB keeps
 * them to a few MB, for about a millisecond per MB (BENCHMARKS.md).
 */
export async function* freedAsTheyGo(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const passed = freeingEvery();
  for await (const chunk of chunks) {
    yield chunk;
    passed(chunk.length);
  }
}

/**
 * Counts the bytes of a transfer that synthai does not read chunk by chunk itself (an SDK's
 * stream of results) and frees its buffers every 8 MB, as freedAsTheyGo does.
 */
export function freeingEvery(bytes = 8 * 1024 * 1024): (passed: number) => void {
  let since = 0;
  return (passed) => {
    since += passed;
    if (since < bytes) return;
    since = 0;
    freeBuffers();
  };
}

/** Frees the transfer buffers that died young (an upload's 8 MB chunks, a download's reads); see above. */
export function freeBuffers(): void {
  globalThis.gc?.({ type: "minor" });
}
