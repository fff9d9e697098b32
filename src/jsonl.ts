import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { StringDecoder } from "node:string_decoder";
import ndjson from "ndjson";

/** Streams the objects of a JSONL file that synthai wrote itself (a bad line is a bug). */
export async function* readJsonl<T>(path: string): AsyncGenerator<T> {
  yield* createReadStream(path).pipe(ndjson.parse()) as AsyncIterable<T>;
}

/**
 * Streams the non-blank lines of a file that came from outside, so a bad line can be reported,
 * a read's worth at a time: on files of a million lines, a promise per line costs more than
 * the line. Reads are 64 KB: a bigger string would go straight to V8's old generation, which
 * is collected rarely, and the process would grow.
 */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  for await (const data of createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    const lines = (rest + decoder.write(data)).split("\n");
    rest = lines.pop()!;
    yield nonBlank(lines);
  }
  const last = nonBlank([rest + decoder.end()]);
  if (last.length) yield last;
}

/** The same lines one at a time, where a file is small or each line is slow anyway. */
export async function* readLines(path: string): AsyncGenerator<string> {
  for await (const lines of readLineBatches(path)) yield* lines;
}

function nonBlank(lines: string[]): string[] {
  return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line)).filter((line) => line.trim());
}

/**
 * Text appended to a file with backpressure, gathered into 64 KB writes: one stream write per
 * line or row costs more than making it. A disk error is thrown at the next write or at close.
 */
export class TextWriter {
  private readonly stream: WriteStream;
  private pending = "";
  private failure: Error | undefined;

  constructor(path: string, options: { append?: boolean } = {}) {
    this.stream = createWriteStream(path, { flags: options.append ? "a" : "w" });
    this.stream.on("error", (error) => (this.failure = error));
  }

  /** A promise only when the file is behind and the caller must wait (`if (wait) await wait`). */
  write(text: string): Promise<void> | undefined {
    this.pending += text;
    return this.pending.length >= 64 * 1024 ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const text = this.pending;
    this.pending = "";
    if (text && !this.stream.write(text)) await once(this.stream, "drain");
  }

  /** Flushes to disk before resolving, so a rename after it publishes a complete file. */
  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
  }
}

/** Writes JSON lines; `bytes` and `lines` count what was written. */
export class JsonlWriter {
  bytes = 0;
  lines = 0;
  private readonly file: TextWriter;

  constructor(path: string) {
    this.file = new TextWriter(path);
  }

  /** A promise only when the file is behind and the caller must wait (`if (wait) await wait`). */
  write(value: unknown): Promise<void> | undefined {
    return this.writeLine(JSON.stringify(value));
  }

  writeLine(line: string): Promise<void> | undefined {
    this.bytes += Buffer.byteLength(line) + 1;
    this.lines++;
    return this.file.write(`${line}\n`);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
