import { createHash } from "node:crypto";
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { JsonlWriter, readLineBatches, readLines } from "../io/jsonl.ts";
import { READ_NO_LINK } from "../io/disk.ts";
import {
  ensureDir,
  type BatchRecord,
  type Chunk,
  type Collected,
  type Manifest,
  type RunConfig,
  crashPoint,
  emptyCollected,
  sentOf,
  stageOf,
} from "../run/manifest.ts";
import { costUsd, flexPrice, formatUsd, type Price } from "../api/pricing.ts";
import type { DrawsLine } from "../run/draws-file.ts";
import { noteFiles, sumsOf } from "../run/files.ts";
import { buildRetryRequests } from "./build.ts";
import { deleteRemoteFiles, downloadResults } from "./download.ts";
import { EXIT, UserError, redact } from "../errors.ts";
import type { RunContext, RunView } from "./context.ts";
import { resultsFile, samplesFile } from "../run/files.ts";
import { DrawsFile } from "../run/draws-file.ts";
import { priceOf, sentDirectly, usesBatches } from "./transport.ts";
import { datasetOfStage } from "./stages.ts";
import { endpointOf, stageSettings } from "../run/config.ts";
import { customIdOf, refusedWhole, verdictOf } from "./verdict.ts";
import type { LineVerdict, SampleResult, SampleStatus } from "../run/records.ts";
import { VERSION } from "../run/version.ts";
import { keepAnswers } from "./cached.ts";

/**
 * What judging a batch's answers depends on besides the answers: synthai (its parser), the
 * spec or prompt files, the endpoint, the attempts allowed and the price. A batch judged with
 * the same key is not judged again by an export.
 */
export function judgeKey(run: RunView, record: BatchRecord): string {
  const { config } = run;
  const specs = [config.datasetSha256, ...(config.stages ?? []).map((s) => s.datasetSha256)];
  const settings = stageSettings(config, record.stage);
  const inputs = [
    VERSION,
    specs,
    config.endpoint,
    config.maxAttempts,
    settings.model,
    priceOf(config, record),
  ];
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 16);
}

/** How many of the attempts before `record`'s (its chunk's, in its stage) were cancelled batches. */
function cancelledBefore(manifest: Manifest, record: BatchRecord): number {
  return manifest.batches.filter(
    (b) =>
      b.chunk === record.chunk &&
      stageOf(b) === stageOf(record) &&
      b.attempt < record.attempt &&
      b.status === "cancelled" &&
      !b.purpose,
  ).length;
}

/**
 * Judges every answer of one batch against the spec and writes samples/<chunk>-<attempt>.jsonl.
 * Works from local files only, so `synthai export` can re-run it after the parser changed.
 * Returns the counts and the ids to ask again.
 */
export async function collectBatch(
  run: RunView,
  record: BatchRecord,
  /** Also hands each sample here as it is judged (`synthai export` writes the CSV in the same pass). */
  onSample?: (sample: SampleResult) => void,
): Promise<{
  collected: Collected;
  retryIds: Set<string>;
  corrupt: string[];
  judgedBy: string;
  sha256: string;
  /** Why the service refused every request, when it did so for a cause waiting will not fix. */
  refusal?: string | undefined;
}> {
  const { config, manifest, dir: runDir } = run;
  const price = priceOf(config, record);
  const model = stageSettings(config, record.stage).model;
  const dataset = datasetOfStage(run.dataset, record.stage);
  const endpoint = endpointOf(config, stageOf(record));
  const chunk = manifest.chunks[record.chunk]!;
  const draws = DrawsFile.open(join(runDir, chunk.drawsFile), chunk);
  const asked = await askedOf(join(runDir, record.requestsFile), chunk, record.requests);
  const turnaround = record.finishedAt && record.createdAt ? record.finishedAt - record.createdAt : 0;
  await ensureDir(join(runDir, "samples"));
  const target = join(runDir, samplesFile(record));
  const writer = new JsonlWriter(`${target}.tmp`);
  const collected: Collected = emptyCollected();
  const retryIds = new Set<string>();
  const corrupt: string[] = [];
  // A cancel is the user's doing, not the model's: what it cut off is asked again, and the
  // attempts a cancel cut short count toward no sample's --max-attempts.
  const cancelled = record.status === "cancelled";
  const canRetry = record.attempt - cancelledBefore(manifest, record) < config.maxAttempts;
  const refusals = { count: 0, first: undefined as LineVerdict | undefined };

  const emit = (draw: DrawsLine, verdict: Judged, fromCache = false) => {
    const cost = fromCache ? 0 : costOfAnswer(verdict, config, price);
    const notRun = cancelled && verdict.cancelled === true;
    const retry = verdict.status !== "ok" && verdict.retryable && (canRetry || notRun);
    tally(collected, verdict, cost, fromCache);
    if (retry) {
      collected.retry++;
      retryIds.add(draw.custom_id);
    } else if (verdict.status !== "ok") collected.givenUp++;
    const result = sampleOf(record, draw, verdict, { cost, model, time: turnaround, retry });
    writer.write(result);
    onSample?.(result);
  };

  try {
    await judgeLines(runDir, record, dataset, endpoint, { chunk, asked, draws, corrupt, refusals }, emit);
    // Whatever has no line at all (expired, cancelled, a corrupt line) is asked again.
    const missing: Judged = {
      status: "missing",
      reason: missingReason(record),
      prompt_tokens: 0,
      completion_tokens: 0,
      retryable: true,
      ...(cancelled ? { cancelled: true } : {}),
    };
    for (let index = 0; index < asked.length; index++) if (asked[index]) emit(draws.read(index), missing);
  } finally {
    draws.close();
  }
  // What the service billed for the batch is its cost, even for answers that could not be read.
  const { usage } = record;
  if (usage) collected.costUsd = costUsd(price, usage.input_tokens, usage.output_tokens, usage.cached_tokens);
  writer.close();
  await rename(`${target}.tmp`, target);
  const refusal = refusedWhole(refusals.count, sentOf(record).requests, refusals.first);
  return { collected, retryIds, corrupt, judgedBy: judgeKey(run, record), sha256: writer.sha256, refusal };
}

/** One answer's verdict, as collectBatch judges it. */
type Judged = Omit<LineVerdict, "status" | "custom_id"> & { status: SampleStatus };

/**
 * What one answer cost: at the tier that served it (flex is billed at batch price). An answer
 * from the cache of answers was not bought again: collectBatch counts it at nothing.
 */
function costOfAnswer(
  verdict: Pick<
    Judged,
    "service_tier" | "prompt_tokens" | "completion_tokens" | "cached_tokens" | "cache_write_tokens"
  >,
  config: RunConfig,
  price: Price,
): number {
  return costUsd(
    verdict.service_tier === "flex" && !usesBatches(config) ? flexPrice({ ...config, price }) : price,
    verdict.prompt_tokens,
    verdict.completion_tokens,
    verdict.cached_tokens ?? 0,
    verdict.cache_write_tokens ?? 0,
  );
}

/**
 * What an answer sent directly cost, as its collect will count it: the sync tally's (`sending: …
 * spent $…`), which would otherwise show nothing paid until the file is collected.
 */
export function directAnswerUsd(run: RunView, record: BatchRecord, body: unknown): number {
  const read = endpointOf(run.config, stageOf(record)).read(body);
  const verdict = {
    prompt_tokens: read.promptTokens,
    completion_tokens: read.completionTokens,
    cached_tokens: read.cachedTokens,
    ...(read.cacheWriteTokens ? { cache_write_tokens: read.cacheWriteTokens } : {}),
    ...(read.serviceTier ? { service_tier: read.serviceTier } : {}),
  };
  return costOfAnswer(verdict, run.config, priceOf(run.config, record));
}

/** Adds one answer's status, tokens and cost to the batch's counts. */
function tally(collected: Collected, verdict: Judged, cost: number, fromCache: boolean): void {
  collected[verdict.status]++;
  collected.costUsd += cost;
  // The cache's answers were not billed: their tokens are not the run's.
  if (fromCache) return;
  collected.promptTokens += verdict.prompt_tokens;
  collected.completionTokens += verdict.completion_tokens;
  collected.cachedTokens += verdict.cached_tokens ?? 0;
  collected.reasoningTokens += verdict.reasoning_tokens ?? 0;
}

/** The samples record of one drawn sample and its answer's verdict. */
function sampleOf(
  record: BatchRecord,
  draw: DrawsLine,
  verdict: Judged,
  answer: { cost: number; model: string; time: number; retry: boolean },
): SampleResult {
  return {
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
    cached_tokens: verdict.cached_tokens ?? 0,
    reasoning_tokens: verdict.reasoning_tokens ?? 0,
    ...(draw.row !== undefined ? { input_row: draw.row } : {}),
    cost_usd: answer.cost,
    model: verdict.model ?? answer.model,
    time: answer.time,
    retry: answer.retry,
  };
}

/** Reads a batch's output and error lines, and hands each first answer to a request it asked to `emit`. */
async function judgeLines(
  runDir: string,
  record: BatchRecord,
  dataset: Parameters<typeof verdictOf>[1],
  endpoint: Parameters<typeof verdictOf>[2],
  batch: {
    chunk: Chunk;
    asked: Uint8Array;
    draws: DrawsFile;
    corrupt: string[];
    refusals: { count: number; first: LineVerdict | undefined };
  },
  emit: (draw: DrawsLine, verdict: Judged, fromCache: boolean) => void,
): Promise<void> {
  const { chunk, asked, draws, corrupt, refusals } = batch;
  for (const kind of ["output", "errors", "cached"] as const) {
    const path = join(runDir, resultsFile(record, kind));
    // The cache's answers count only where the lookup was recorded (a file of an unrecorded one is stale).
    if ((kind === "cached" && !record.cached?.hits) || !(await exists(path))) continue;
    for await (const lines of readLineBatches(path, READ_NO_LINK)) {
      for (const line of lines) {
        const verdict = verdictOf(line, dataset, endpoint);
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
        emit(drawn, verdict, kind === "cached");
        if (verdict.refusedWith) {
          refusals.count++;
          refusals.first ??= verdict;
        }
      }
    }
  }
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

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Collects a finished batch; the service is needed only for what lives there (not for sync or imported answers). */
export async function collect(run: RunContext, record: BatchRecord): Promise<void> {
  const { manifest, dir: runDir, log } = run;
  if (record.status === "failed") {
    if (record.errors?.some((e) => e.includes("token_limit_exceeded"))) {
      // Not the user's fault nor an attempt: the same file goes again once others finish.
      log(`${record.batchId}: enqueued-token limit reached; will submit ${record.requestsFile} again`);
      run.store.update(() => asBefore(record, "uploaded"));
      return;
    }
    const reason = run.store.update((manifest) => {
      manifest.state = "failed";
      return (manifest.reason =
        `batch ${record.batchId} failed ` +
        `validation: ${(record.errors ?? ["no details"]).slice(0, 5).join("; ")}`);
    });
    throw new UserError(
      reason,
      `fix the request file ${record.requestsFile} or the spec, then start a new run`,
    );
  }
  const remote = Boolean(record.outputFileId || record.errorFileId);
  const downloaded = remote ? await downloadResults(run.serviceFor(record), runDir, record) : {};
  const { collected, retryIds, corrupt, judgedBy, sha256, refusal } = await collectBatch(run, record);
  if (refusal) await stopRefused(run, record, refusal);
  await keepAnswers(run, record);
  for (const line of corrupt.slice(0, 5)) log(`warning: corrupt line, sample asked again: ${line}`);
  const retry =
    retryIds.size > 0
      ? await buildRetryRequests(runDir, record, retryIds, endpointOf(manifest.config, stageOf(record)))
      : undefined;
  const written = [
    resultsFile(record, "output"),
    resultsFile(record, "errors"),
    samplesFile(record),
    ...(retry ? [retry.record.requestsFile] : []),
  ];
  // Answers written here by sync mode or `import` (not downloaded) are read once for their sums.
  const sums = await sumsOf(runDir, written, {
    ...downloaded,
    [samplesFile(record)]: sha256,
    ...(retry ? { [retry.record.requestsFile]: retry.sha256 } : {}),
  });
  crashPoint("after-collect", stageOf(record));
  run.store.update((manifest) => {
    Object.assign(record, { collected, judgedBy, step: "collected" });
    if (retry) manifest.batches.push(retry.record);
    noteFiles(runDir, manifest, written, sums);
  });
  // What the service holds of it: its request file, its answers' files (inline services: the batch).
  const held = record.fileId || record.outputFileId || record.errorFileId;
  if (run.sends && held && !manifest.config.keepRemote)
    await deleteRemoteFiles(run.serviceFor(record), record, log);
  const c = collected;
  log(
    `collected ${sentDirectly(record) ? record.requestsFile : record.batchId} (${record.status}): ` +
      `${c.ok} valid, ${c.malformed} malformed, ${c.failed + c.missing} failed, ${c.truncated} cut off` +
      `${c.reasoning ? `, ${c.reasoning} left empty by reasoning` : ""}; ` +
      `${c.retry} to ask again, ${c.givenUp} given up; ${formatUsd(c.costUsd)}`,
  );
}

/**
 * Every request of a batch refused for a cause waiting will not fix (a model withdrawn, a deployment
 * misnamed): the run stops here, rather than give each sample up and, with --fill, draw and pay for
 * more. The batch is left as before it was sent, so `resume` sends it again once the cause is fixed.
 */
async function stopRefused(run: RunContext, record: BatchRecord, refusal: string): Promise<never> {
  const { manifest, dir: runDir } = run;
  const stage = stageOf(record);
  const model = stageSettings(manifest.config, stage).model;
  const sent = { ...record };
  // Its answers on disk go first: a crash before the manifest is written only collects them again.
  for (const path of [resultsFile(record, "output"), resultsFile(record, "errors"), samplesFile(record)])
    await rm(join(runDir, path), { force: true });
  crashPoint("refused", stage);
  const service = run.sends ? run.serviceFor(record) : undefined;
  // What the service said goes into the manifest and the error line: never a key it echoed.
  const said = redact(service ? service.redact(refusal.split("\n")[0]!) : refusal.split("\n")[0]!, []);
  const reason = `stage ${stage} (${model}): the service refused every request of ${record.requestsFile} (${said})`;
  run.store.update((manifest) => {
    asBefore(record, "pending");
    manifest.state = "failed";
    manifest.reason = reason;
  });
  if (service && !manifest.config.keepRemote) await deleteRemoteFiles(service, sent, run.log);
  throw new UserError(
    reason,
    `nothing more was sent; once the cause is fixed (the model, its deployment, the key's access), ` +
      `\`synthai resume ${manifest.id}\` sends them again; requests it will never take need a new run`,
    EXIT.SERVICE,
  );
}

/**
 * A batch's record as at `step`: what it asks (and, uploaded, its file), nothing of what the
 * service did with it since.
 */
function asBefore(record: BatchRecord, step: "pending" | "uploaded"): void {
  const {
    stage,
    purpose,
    vendor,
    chunk,
    attempt,
    requestsFile,
    requests,
    promptTokens,
    fileId,
    uploadedAt,
    cached,
  } = record;
  for (const key of Object.keys(record)) delete record[key as keyof BatchRecord];
  Object.assign(record, {
    ...(stage ? { stage } : {}),
    ...(purpose ? { purpose } : {}),
    ...(vendor ? { vendor } : {}),
    chunk,
    attempt,
    requestsFile,
    requests,
    promptTokens,
    // What the cache answered stays answered: the same misses go again (a lookup that found none is made again).
    ...(cached?.hits ? { cached } : {}),
    ...(step === "uploaded" && fileId ? { fileId } : {}),
    ...(step === "uploaded" && uploadedAt !== undefined ? { uploadedAt } : {}),
    step,
  });
}
