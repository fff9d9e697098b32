import { closeSync, createWriteStream, openSync, readSync } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import type OpenAI from "openai";
import { call } from "./client.ts";
import { JsonlWriter, readLineBatches, readLines } from "./jsonl.ts";
import { releasingChunks } from "./memory.ts";
import { crashPoint, ensureDir, type BatchRecord, type Chunk, type Collected, type Manifest } from "./manifest.ts";
import { costUsd, type Price } from "./pricing.ts";
import { parseAnswer, type Dataset } from "./spec.ts";

export type SampleStatus = "ok" | "malformed" | "truncated" | "failed" | "missing";

/** One answer (or its absence) for one sample at one attempt: a line of samples/*.jsonl. */
export interface SampleResult {
  custom_id: string;
  sample: number;
  chunk: number;
  attempt: number;
  batch_id: string;
  status: SampleStatus;
  reason?: string;
  fields?: Record<string, string>;
  labels: Record<string, string>;
  /** The answer as written, when it is not valid; a valid one's is in its fields, and in results/. */
  answer?: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  model: string;
  time: number;
  retry: boolean;
}

/** What one line of an output or error file says about its sample. */
export interface LineVerdict {
  custom_id: string;
  status: Exclude<SampleStatus, "missing">;
  reason?: string;
  fields?: Record<string, string>;
  answer?: string;
  model?: string;
  prompt_tokens: number;
  completion_tokens: number;
  /** Worth asking again: a malformed answer or a transient failure, not a cut-off answer. */
  retryable: boolean;
}

/** The custom_id of a raw result line, without parsing all of it (it may be corrupt). */
export function customIdOf(line: string): string | undefined {
  return /"custom_id"\s*:\s*"([^"]+)"/.exec(line)?.[1];
}

/** A line of a Batch-API output or error file as JSON, or undefined if it is not JSON (a corrupt download). */
export function parseResultLine(line: string): any {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The text a result's completion holds (its first choice's message). */
export function completionText(result: any): string | undefined {
  return result?.response?.body?.choices?.[0]?.message?.content;
}

/** Reads one line of a Batch-API output or error file. Pure. */
export function judgeLine(line: string, dataset: Dataset): LineVerdict | { corrupt: string } {
  const data = parseResultLine(line);
  if (data === undefined) return { corrupt: `not JSON: ${line.slice(0, 80)}` };
  const custom_id = data?.custom_id;
  if (typeof custom_id !== "string") return { corrupt: `no custom_id: ${line.slice(0, 80)}` };
  const response = data.response;
  if (!response || response.status_code !== 200) {
    const error = data.error ?? response?.body?.error ?? {};
    const status = response?.status_code as number | undefined;
    const code = error.code ?? error.type ?? (status ? `http_${status}` : "error");
    // A 4xx other than 408/409/429 is the request's own fault: asking again changes nothing.
    const retryable = !status || status === 408 || status === 409 || status === 429 || status >= 500;
    return { custom_id, status: "failed", reason: `${code}: ${error.message ?? "no message"}`, prompt_tokens: 0, completion_tokens: 0, retryable };
  }
  const body = response.body ?? {};
  const usage = body.usage ?? {};
  const tokens = { prompt_tokens: usage.prompt_tokens ?? 0, completion_tokens: usage.completion_tokens ?? 0 };
  const choice = body.choices?.[0];
  const answer = completionText(data) ?? "";
  if (choice?.finish_reason === "length")
    return { custom_id, status: "truncated", reason: "answer cut at max_tokens (raise --max-tokens)", answer, model: body.model, ...tokens, retryable: false };
  if (choice?.finish_reason === "content_filter")
    return { custom_id, status: "failed", reason: "content_filter: the answer was filtered", answer, model: body.model, ...tokens, retryable: false };
  const parsed = parseAnswer(dataset, answer);
  if (!parsed.ok) return { custom_id, status: "malformed", reason: parsed.reason, answer, model: body.model, ...tokens, retryable: true };
  return { custom_id, status: "ok", fields: parsed.fields, answer, model: body.model, ...tokens, retryable: false };
}

export function resultsFile(record: BatchRecord, kind: "output" | "errors"): string {
  return `results/c${String(record.chunk).padStart(4, "0")}-a${record.attempt}.${kind}.jsonl`;
}

export function samplesFile(record: BatchRecord): string {
  return `samples/c${String(record.chunk).padStart(4, "0")}-a${record.attempt}.jsonl`;
}

/**
 * Downloads a batch's output and error files (either may be absent) to a temp name, checks
 * their line counts against the batch's request_counts, then renames them into place.
 */
export async function downloadResults(client: OpenAI, runDir: string, record: BatchRecord, log: (line: string) => void): Promise<void> {
  await ensureDir(join(runDir, "results"));
  const expected = { output: record.requestCounts?.completed, errors: record.requestCounts?.failed };
  for (const [kind, fileId] of [["output", record.outputFileId], ["errors", record.errorFileId]] as const) {
    const target = join(runDir, resultsFile(record, kind));
    if (!fileId) {
      await rm(target, { force: true });
      continue;
    }
    const tmp = `${target}.tmp`;
    for (let tries = 1; ; tries++) {
      const response = await call(client, `downloading ${fileId}`, () => client.files.content(fileId));
      await pipeline(Readable.fromWeb(response.body as any), releasingChunks, createWriteStream(tmp));
      crashPoint("during-download");
      const lines = await countLines(tmp);
      const want = expected[kind];
      if (want === undefined || lines >= want) break;
      if (tries >= 2) {
        log(`warning: ${fileId} has ${lines} lines, the batch reported ${want}; the missing samples will be asked again`);
        break;
      }
    }
    await rename(tmp, target);
  }
}

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const _ of readLines(path)) lines++;
  return lines;
}

/** Deletes a collected batch's input, output and error files from the account; their content is on disk. */
export async function deleteRemoteFiles(client: OpenAI, record: BatchRecord, log: (line: string) => void): Promise<void> {
  for (const fileId of [record.fileId, record.outputFileId, record.errorFileId]) {
    if (!fileId) continue;
    try {
      await client.files.delete(fileId);
    } catch (error) {
      if ((error as { status?: number }).status !== 404) log(`warning: could not delete remote file ${fileId} (${(error as Error).message.split("\n")[0]}); \`synthai gc\` can remove it later`);
    }
  }
}

/**
 * Judges every answer of one batch against the spec and writes samples/<chunk>-<attempt>.jsonl.
 * Works from local files only, so `synthai export` can re-run it after the parser changed.
 * Returns the counts and the ids to ask again.
 */
export async function collectBatch(
  runDir: string,
  manifest: Manifest,
  record: BatchRecord,
  dataset: Dataset,
  price: Price,
  /** Also hands each sample here as it is judged (`synthai export` writes the CSV in the same pass). */
  onSample?: (sample: SampleResult) => void,
): Promise<{ collected: Collected; retryIds: Set<string>; corrupt: string[] }> {
  const { config } = manifest;
  const chunk = manifest.chunks[record.chunk]!;
  const draws = DrawsFile.open(join(runDir, chunk.drawsFile), chunk);
  const asked = await askedOf(join(runDir, record.requestsFile), chunk, record.requests);
  const turnaround = record.finishedAt && record.createdAt ? record.finishedAt - record.createdAt : 0;
  await ensureDir(join(runDir, "samples"));
  const target = join(runDir, samplesFile(record));
  const writer = new JsonlWriter(`${target}.tmp`);
  const collected: Collected = { ok: 0, malformed: 0, failed: 0, truncated: 0, missing: 0, retry: 0, givenUp: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  const retryIds = new Set<string>();
  const corrupt: string[] = [];
  const canRetry = record.attempt < config.maxAttempts;

  const emit = (draw: DrawsLine, verdict: Omit<LineVerdict, "status" | "custom_id"> & { status: SampleStatus }) => {
    const cost = costUsd(price, verdict.prompt_tokens, verdict.completion_tokens);
    const retry = verdict.status !== "ok" && verdict.retryable && canRetry;
    collected[verdict.status]++;
    collected.promptTokens += verdict.prompt_tokens;
    collected.completionTokens += verdict.completion_tokens;
    collected.costUsd += cost;
    if (retry) {
      collected.retry++;
      retryIds.add(draw.custom_id);
    } else if (verdict.status !== "ok") collected.givenUp++;
    const result: SampleResult = {
      custom_id: draw.custom_id,
      sample: draw.sample,
      chunk: record.chunk,
      attempt: record.attempt,
      batch_id: record.batchId ?? "",
      status: verdict.status,
      // Left undefined, they are left out of the samples record (JSON.stringify skips them).
      reason: verdict.reason || undefined,
      fields: verdict.fields,
      labels: draw.labels,
      // A valid answer's text is in its fields, and as it came in results/: kept here only
      // when it is not valid (inspect joins the others back from the results file).
      answer: verdict.status === "ok" ? undefined : verdict.answer,
      prompt_tokens: verdict.prompt_tokens,
      completion_tokens: verdict.completion_tokens,
      total_tokens: verdict.prompt_tokens + verdict.completion_tokens,
      cost_usd: cost,
      model: verdict.model ?? config.model,
      time: turnaround,
      retry,
    };
    writer.write(result);
    onSample?.(result);
  };

  try {
    for (const kind of ["output", "errors"] as const) {
      const path = join(runDir, resultsFile(record, kind));
      if (!(await exists(path))) continue;
      for await (const lines of readLineBatches(path)) {
        for (const line of lines) {
          const verdict = judgeLine(line, dataset);
          if ("corrupt" in verdict) {
            corrupt.push(`${resultsFile(record, kind)}: ${verdict.corrupt}`);
            continue;
          }
          // Only the first line for an id this batch asked counts; a stray or repeated id is ignored.
          const index = indexInChunk(chunk, verdict.custom_id);
          if (index === undefined || !asked[index]) continue;
          const drawn = draws.read(index);
          if (drawn.custom_id !== verdict.custom_id) continue;
          asked[index] = 0;
          emit(drawn, verdict);
        }
      }
    }
    // Whatever has no line at all (expired, cancelled, a corrupt line) is asked again.
    for (let index = 0; index < asked.length; index++)
      if (asked[index]) emit(draws.read(index), { status: "missing", reason: missingReason(record), prompt_tokens: 0, completion_tokens: 0, retryable: true });
  } finally {
    draws.close();
  }
  // What the service billed for the batch is its cost, even for answers that could not be read.
  if (record.usage) collected.costUsd = costUsd(price, record.usage.input_tokens, record.usage.output_tokens);
  writer.close();
  await rename(`${target}.tmp`, target);
  return { collected, retryIds, corrupt };
}

function missingReason(record: BatchRecord): string {
  if (record.status === "expired") return "batch_expired: not done within the 24h window";
  if (record.status === "cancelled") return "batch_cancelled: the batch was cancelled";
  return "missing: no line for this request in the output or error file";
}

/** Which of a chunk's samples a request file asks, by position in the chunk: a bit each, whatever the chunk's size. */
async function askedOf(requestsFile: string, chunk: Chunk, requests: number): Promise<Uint8Array> {
  const asked = new Uint8Array(chunk.samples);
  // A file of as many requests as its chunk has samples asks them all (a first attempt):
  // no need to read its hundreds of MB.
  if (requests === chunk.samples) return asked.fill(1);
  for await (const line of readLines(requestsFile)) {
    const index = indexInChunk(chunk, customIdOf(line));
    if (index !== undefined) asked[index] = 1;
  }
  return asked;
}

/** A custom_id's position in its chunk (ids are sample numbers), if it is one of the chunk's. */
function indexInChunk(chunk: Chunk, customId: string | undefined): number | undefined {
  const index = Number(customId) - chunk.firstSample;
  return index >= 0 && index < chunk.samples ? index : undefined;
}

/** A line of a draws file: what a sample was drawn with. */
interface DrawsLine {
  custom_id: string;
  sample: number;
  labels: Record<string, string>;
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
    for (let position = 0; line < chunk.samples && draws.fill(position, draws.window.length) > 0; position = draws.windowEnd) {
      const data = draws.window.subarray(0, draws.windowEnd - position);
      for (let at = data.indexOf(10); at !== -1 && line < chunk.samples; at = data.indexOf(10, at + 1)) draws.offsets[++line] = position + at + 1;
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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
