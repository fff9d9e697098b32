import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { BatchService } from "../api/batch-service.ts";
import type { BatchRequest } from "../run/records.ts";
import type { Endpoint } from "../api/endpoints/index.ts";
import { withTokenCounter, type TokenCounter } from "../api/tokens.ts";
import { sleep } from "../api/client.ts";
import { readJsonl, readLines } from "../io/jsonl.ts";
import { openToAppend, sizeOf } from "../io/disk.ts";
import { crashPoint, ensureDir, sentOf, type BatchRecord } from "../run/manifest.ts";
import { resultsFile } from "../run/files.ts";
import { customIdOf, parseResultLine } from "./verdict.ts";

export interface SyncLimits {
  concurrency: number;
  /** Tokens an answer may take, counted against --tpm with the prompt's. */
  maxTokens: number;
  /** Requests per minute, tokens (prompt + max_tokens) per minute. */
  rpm?: number;
  tpm?: number;
}

/**
 * What went out in the last minute, each amount at the moment it goes: an amount goes at the
 * first moment the minute before it has room for it, so no minute, the first included, ever sees
 * more than `perMinute` (a bucket refilled continuously lets up to twice through). Keeps a run
 * under a provider's per-minute limits instead of learning them from 429s.
 */
export class RateLimiter {
  /** In the order they go out (a later reservation never goes before an earlier one). */
  private readonly sent: { at: number; amount: number }[] = [];
  private readonly perMinute: number;
  private readonly now: () => number;

  constructor(perMinute: number, now = () => Date.now()) {
    this.perMinute = perMinute;
    this.now = now;
  }

  /** Milliseconds to wait before `amount` may be spent (0: spend it now). */
  reserve(amount: number): number {
    const now = this.now();
    const { sent } = this;
    let gone = 0;
    while (gone < sent.length && sent[gone]!.at <= now - MINUTE_MS) gone++;
    sent.splice(0, gone);
    // More than a minute's worth goes alone, once the minute before it is empty.
    const need = Math.min(amount, this.perMinute);
    let at = Math.max(now, sent.at(-1)?.at ?? now);
    let inMinute = sent.reduce((sum, s) => sum + s.amount, 0);
    for (let i = 0; inMinute + need > this.perMinute; i++) {
      at = Math.max(at, sent[i]!.at + MINUTE_MS);
      inMinute -= sent[i]!.amount;
    }
    sent.push({ at, amount: need });
    return at - now;
  }
}

const MINUTE_MS = 60_000;

/**
 * Sends one attempt's requests as direct chat completions and writes the answers as Batch-API
 * output and error lines, so collecting, resuming and exporting work as for a batch. Answers
 * already on disk (from before an interruption) are not asked again.
 */
export async function runSync(
  service: BatchService,
  runDir: string,
  record: BatchRecord,
  endpoint: Endpoint,
  limits: SyncLimits,
  /** Told of each answer as it is written: how many are answered, and what they cost in all. */
  onProgress: (done: number, paidUsd: number) => void,
  /** What an answer's body cost (the service bills an answer, not a refusal). */
  costOf: (body: unknown) => number,
): Promise<{ completed: number; failed: number }> {
  await ensureDir(join(runDir, "results"));
  const outputPath = join(runDir, resultsFile(record, "output"));
  const errorsPath = join(runDir, resultsFile(record, "errors"));
  const { answered, counts, paidUsd: paidBefore } = await readAnswered(outputPath, errorsPath, costOf);
  let paidUsd = paidBefore;
  // Each answer is paid for: it is in the file (write returned) before the next is asked, so a
  // kill at any moment loses none of them.
  const output = await openToAppend(outputPath);
  const errors = await openToAppend(errorsPath);
  const rpm = limits.rpm ? new RateLimiter(limits.rpm) : undefined;
  const tpm = limits.tpm ? new RateLimiter(limits.tpm) : undefined;
  const requests = readJsonl<BatchRequest>(join(runDir, sentOf(record).file))[Symbol.asyncIterator]();
  let fatal: unknown;

  // `countPromptTokens` is there when a tokens-per-minute limit needs each request's count.
  const worker = async (countPromptTokens?: TokenCounter) => {
    for (;;) {
      if (fatal) return;
      const next = await requests.next();
      if (next.done) return;
      const request = next.value;
      if (answered.has(request.custom_id)) continue;
      const wait = Math.max(
        rpm?.reserve(1) ?? 0,
        tpm?.reserve((await countPromptTokens!.count(endpoint.prompt(request.body))) + limits.maxTokens) ?? 0,
      );
      if (wait) await sleep(wait);
      let sent;
      try {
        sent = await service.send(endpoint.url, request.body);
      } catch (error) {
        // Nothing answered, after the service's own retries (honouring retry-after): the run stops.
        fatal = error;
        return;
      }
      if (!sent.ok && sent.status === 401) {
        fatal = sent.failure;
        return;
      }
      // An answer, or the request's own verdict: written where a batch's would be.
      await writeLine(sent.ok ? output : errors, {
        id: `sync_${request.custom_id}`,
        custom_id: request.custom_id,
        response: { status_code: sent.ok ? 200 : sent.status, request_id: sent.requestId, body: sent.body },
        error: null,
      });
      counts[sent.ok ? "completed" : "failed"]++;
      if (sent.ok) paidUsd += costOf(sent.body);
      onProgress(counts.completed + counts.failed, paidUsd);
      if (counts.completed + counts.failed === 5) crashPoint("during-sync");
    }
  };
  try {
    const workers = (count?: TokenCounter) =>
      Promise.all(Array.from({ length: Math.max(1, limits.concurrency) }, () => worker(count)));
    // The tokenizer is loaded only for a tokens-per-minute limit, and lives while requests go out.
    await (tpm ? withTokenCounter(workers) : workers());
  } finally {
    await Promise.all([output.close(), errors.close()]);
  }
  if (fatal) throw fatal;
  return counts;
}

/** The requests of `record` sent directly and answered so far, by its results on disk. */
export async function answeredDirectly(runDir: string, record: BatchRecord): Promise<number> {
  const output = join(runDir, resultsFile(record, "output"));
  return (await readAnswered(output, join(runDir, resultsFile(record, "errors")))).answered.size;
}

/**
 * The requests already answered by an earlier try (its output and error lines), each counted once,
 * so a resumed run neither asks them again nor loses them from its counts; with `costOf`, what its
 * answers cost, so a resumed run's tally starts from them.
 */
async function readAnswered(
  outputPath: string,
  errorsPath: string,
  costOf?: (body: unknown) => number,
): Promise<{ answered: Set<string>; counts: { completed: number; failed: number }; paidUsd: number }> {
  const answered = new Set<string>();
  const counts = { completed: 0, failed: 0 };
  let paidUsd = 0;
  for (const [path, kind] of [
    [outputPath, "completed"],
    [errorsPath, "failed"],
  ] as const) {
    if (sizeOf(path) === undefined) continue;
    for await (const line of readLines(path)) {
      const id = customIdOf(line);
      if (!id || answered.has(id)) continue;
      answered.add(id);
      counts[kind]++;
      if (costOf && kind === "completed") paidUsd += costOf(parseResultLine(line)?.response?.body);
    }
  }
  return { answered, counts, paidUsd };
}

async function writeLine(file: FileHandle, value: unknown): Promise<void> {
  await file.write(`${JSON.stringify(value)}\n`);
}
