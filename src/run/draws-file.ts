import { closeSync, openSync, readSync } from "node:fs";
import type { Chunk } from "./manifest.ts";

/** A line of a draws file: what a sample was drawn with. */
export interface DrawsLine {
  custom_id: string;
  sample: number;
  labels: Record<string, string>;
  /** With --input: the sample's row in it, 1-based. */
  row?: number;
}

/**
 * A chunk's draws file, read a sample at a time; it keeps where each line starts (8 bytes a
 * sample). While answers come in the order asked, it reads ahead a window of lines. Once they
 * do not (the service need not keep the order), a file of up to 16 MB (50,000 samples of
 * labels up to 300 bytes) is read whole and kept while the batch is collected; a bigger one is
 * read a line at a time.
 */
export class DrawsFile {
  private readonly fd: number;
  private readonly offsets: Float64Array;
  private readonly wholeBytes: number;
  private window = Buffer.allocUnsafeSlow(256 * 1024);
  private windowStart = 0;
  private windowEnd = 0;
  private last = -1;

  private constructor(fd: number, offsets: Float64Array, wholeBytes: number) {
    [this.fd, this.offsets, this.wholeBytes] = [fd, offsets, wholeBytes];
  }

  /** Finds where each line starts, reading through the window (a local file: synchronous reads are the fastest). */
  static open(path: string, chunk: Chunk, wholeBytes = WHOLE_DRAWS_BYTES): DrawsFile {
    const draws = new DrawsFile(openSync(path, "r"), new Float64Array(chunk.samples + 1), wholeBytes);
    let line = 0;
    for (
      let position = 0;
      line < chunk.samples && draws.fill(position, draws.window.length) > 0;
      position = draws.windowEnd
    ) {
      const data = draws.window.subarray(0, draws.windowEnd - position);
      for (let at = data.indexOf(10); at !== -1 && line < chunk.samples; at = data.indexOf(10, at + 1))
        draws.offsets[++line] = position + at + 1;
    }
    if (line < chunk.samples) {
      draws.close();
      throw new Error(`${path} has ${line} draws, its chunk ${chunk.samples}`);
    }
    return draws;
  }

  read(index: number): DrawsLine {
    const [start, end] = [this.offsets[index]!, this.offsets[index + 1]!];
    if (start < this.windowStart || end > this.windowEnd) {
      const fileEnd = this.offsets[this.offsets.length - 1]!;
      if (index === this.last + 1) this.fill(start, Math.max(this.window.length, end - start));
      else if (fileEnd <= this.wholeBytes) this.fill(0, fileEnd);
      else this.fill(start, end - start);
    }
    this.last = index;
    return JSON.parse(this.window.toString("utf8", start - this.windowStart, end - this.windowStart));
  }

  /** Reads `bytes` from `position` into the window (grown if need be); returns how many it read. */
  private fill(position: number, bytes: number): number {
    if (this.window.length < bytes) this.window = Buffer.allocUnsafeSlow(bytes);
    const read = readSync(this.fd, this.window, 0, bytes, position);
    [this.windowStart, this.windowEnd] = [position, position + read];
    return read;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const WHOLE_DRAWS_BYTES = 16 << 20;
