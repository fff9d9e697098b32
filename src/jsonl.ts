import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import ndjson from "ndjson";

/** Streams the objects of a JSONL file that synthai wrote itself (a bad line is a bug). */
export async function* readJsonl<T>(path: string): AsyncGenerator<T> {
  yield* createReadStream(path).pipe(ndjson.parse()) as AsyncIterable<T>;
}

/** Streams the raw lines of a file that came from outside, so a bad line can be reported. */
export async function* readLines(path: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (line.trim()) yield line;
  }
}

/**
 * Writes JSON lines with backpressure; `bytes` and `lines` count what was written. Lines are
 * gathered into 64 KB writes: one stream write per line costs more than the JSON itself.
 */
export class JsonlWriter {
  readonly stream: WriteStream;
  bytes = 0;
  lines = 0;
  private pending = "";

  private failure: Error | undefined; // a disk error, thrown at the next write

  constructor(path: string) {
    this.stream = createWriteStream(path);
    this.stream.on("error", (error) => (this.failure = error));
  }

  async write(value: unknown): Promise<void> {
    await this.writeLine(JSON.stringify(value));
  }

  async writeLine(line: string): Promise<void> {
    this.bytes += Buffer.byteLength(line) + 1;
    this.lines++;
    this.pending += `${line}\n`;
    if (this.pending.length >= 64 * 1024) await this.flush();
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
