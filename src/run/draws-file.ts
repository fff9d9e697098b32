import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { readLineBatches } from "../io/jsonl.ts";
import { linkRefused, READ_NO_LINK } from "../io/disk.ts";
import { UserError } from "../errors.ts";
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

  private readonly path: string;
  private readonly chunk: Chunk;

  private constructor(path: string, chunk: Chunk, wholeBytes: number) {
    [this.path, this.chunk, this.wholeBytes] = [path, chunk, wholeBytes];
    try {
      this.fd = openSync(path, READ_NO_LINK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw linkRefused(error, path);
      throw damaged(path, "is missing");
    }
    this.offsets = new Float64Array(chunk.samples + 1);
  }

  /** Finds where each line starts, reading through the window (a local file: synchronous reads are the fastest). */
  static open(path: string, chunk: Chunk, wholeBytes = WHOLE_DRAWS_BYTES): DrawsFile {
    const draws = new DrawsFile(path, chunk, wholeBytes);
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
      throw damaged(path, `holds ${line} draws, where its chunk has ${chunk.samples} samples`);
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
    const text = this.window.toString("utf8", start - this.windowStart, end - this.windowStart);
    // Each draw is the sample at its place: a changed byte that keeps the size shows here.
    const sample = this.chunk.firstSample + index;
    let draw: DrawsLine | undefined;
    try {
      draw = JSON.parse(text) as DrawsLine;
    } catch {}
    if (!draw || !isDrawOf(sample, draw.custom_id, draw.sample))
      throw damaged(
        this.path,
        `line ${index + 1} is not sample ${sample + 1}'s draw (${JSON.stringify(text.slice(0, 40))})`,
      );
    return draw;
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

/**
 * Every draw of these chunks at its place, read through once before an export writes anything: a
 * same-size change (one digit of an id) would otherwise be found halfway, after rows were replaced.
 */
export async function checkDraws(runDir: string, chunks: Chunk[]): Promise<void> {
  for (const chunk of chunks) {
    const path = join(runDir, chunk.drawsFile);
    let index = 0;
    for await (const lines of readLineBatches(path, READ_NO_LINK))
      for (const line of lines) {
        const found = DRAW_START.exec(line);
        const sample = chunk.firstSample + index++;
        if (!isDrawOf(sample, found?.[1], found?.[2]))
          throw damaged(
            path,
            `line ${index} is not sample ${sample + 1}'s draw (${JSON.stringify(line.slice(0, 40))})`,
          );
      }
  }
}

/** A draw's identity: sample index `sample` has custom_id `sample` and is sample number `sample + 1`. */
function isDrawOf(sample: number, customId: unknown, number: unknown): boolean {
  return customId !== undefined && Number(customId) === sample && Number(number) === sample + 1;
}

const DRAW_START = /^\{"custom_id":"(\d+)","sample":(\d+),/;

function damaged(path: string, what: string): UserError {
  return new UserError(
    `${path} ${what}: the run folder is damaged`,
    "restore it from a backup of the run folder",
  );
}
