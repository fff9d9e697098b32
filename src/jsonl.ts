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

/** Appends JSON lines with backpressure; `bytes` counts what was written. */
export class JsonlWriter {
  readonly stream: WriteStream;
  bytes = 0;
  lines = 0;

  constructor(path: string) {
    this.stream = createWriteStream(path);
  }

  async write(value: unknown): Promise<void> {
    await this.writeLine(JSON.stringify(value));
  }

  async writeLine(line: string): Promise<void> {
    const text = `${line}\n`;
    this.bytes += Buffer.byteLength(text);
    this.lines++;
    if (!this.stream.write(text)) await once(this.stream, "drain");
  }

  /** Flushes to disk before resolving, so a rename after it publishes a complete file. */
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
  }
}
