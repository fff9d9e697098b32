import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type OpenAI from "openai";
import type { Batch } from "openai/resources/batches";
import { buildRequests, buildRetryRequests, chunkSize, estimateBuildBytes } from "./build.ts";
import { call, makeClient, preflight, sleep } from "./client.ts";
import { collectBatch, deleteRemoteFiles, downloadResults, resultsFile, samplesFile } from "./collect.ts";
import { checkRunFiles, exportInputs, noteFiles } from "./run-files.ts";
import { UserError } from "./errors.ts";
import { checkWritable, datasetColumns, exportRun, METRIC_COLUMNS, metricsPathFor, readExistingCsv, type SampleFeed } from "./export.ts";
import { checkPrompts, drawSample, labelsOf, newFaker } from "./draw.ts";
import { checkDiskSpace, checkRunsDir } from "./disk.ts";
import { formatDuration, progress, type Log } from "./log.ts";
import { collectedRecords, crashPoint, ensureDir, lockRun, newRunId, saveManifest, withLockedRun, type BatchRecord, type Chunk, type Manifest, type RunConfig } from "./manifest.ts";
import { costUsd, formatUsd } from "./pricing.ts";
import { loadDataset, loadParams, type Dataset, type Params } from "./spec.ts";
import { createBatch, uploadRequests } from "./submit.ts";
import { runSync } from "./sync.ts";
import { runPilot, type PilotOptions } from "./pilot.ts";
import { checkSampling } from "./sampling.ts";
import { spentUsd, summarize } from "./totals.ts";

const FINAL = new Set(["completed", "failed", "expired", "cancelled"]);
const MAX_POLL_SECONDS = 300;
const MAX_OUTAGE_SECONDS = 6 * 3600;

export interface Connection {
  apiKey: string | undefined;
  baseURL: string | undefined;
}

export interface DriveOptions {
  detach?: boolean;
  /** Told the run's id as soon as there is a run. */
  onRun?: (id: string) => void;
  /** Submit nothing new: wait for what is in flight, collect it, stop. */
  cancelling?: boolean;
  log: Log;
}

/** `synthai generate`: check inputs, build every request file, then drive the run to its end. */
export async function generate(config: RunConfig, runsDir: string, connection: Connection, options: DriveOptions & PilotOptions & { dryRun?: boolean }): Promise<Manifest> {
  const params = await loadParams(config.paramsFile);
  const dataset = await loadDataset(config.specFile);
  await checkInputs(config, params, dataset, runsDir, Boolean(options.yes));
  const client = options.dryRun ? undefined : await makeClient(connection);
  if (client) await preflight(client, config.mode);
  const id = newRunId(new Date());
  options.onRun?.(id);
  const runDir = join(runsDir, id);
  await ensureDir(runDir);
  const manifest: Manifest = { version: 1, id, createdAt: new Date().toISOString(), state: "building", config, chunks: [], batches: [] };
  saveManifest(runDir, manifest);
  const unlock = lockRun(runDir);
  try {
    options.log(`run ${id}: ${config.samples} samples, model ${config.model}, seed ${config.seed} (${runDir})`);
    await build(runDir, manifest, dataset, options.log, params).catch(async (error) => {
      // A spec that fails on a later sample: nothing was sent, so no run is left half-built.
      if (error instanceof UserError) await rm(runDir, { recursive: true, force: true });
      throw error;
    });
    if (options.dryRun) {
      manifest.state = "dry-run";
      saveManifest(runDir, manifest);
      options.log(estimate(manifest));
      options.log(`dry run: nothing was submitted; request files are in ${join(runDir, "requests")}`);
      return manifest;
    }
    if (options.pilot && !(await runPilot(client!, runDir, manifest, dataset, options.pilot, options))) {
      return stop(runDir, manifest, "pilot: waiting for a go; the requests are built", options.log);
    }
    return await driveAndNotify(runDir, manifest, client!, dataset, options);
  } finally {
    unlock();
  }
}

/**
 * Refuses, before anything is written or paid for, what this run could not finish: an output
 * it could not append to, a spec that does not fit the params, a build the disk cannot hold.
 */
async function checkInputs(config: RunConfig, params: Params, dataset: Dataset, runsDir: string, goOn: boolean): Promise<void> {
  checkSampling(config.sampling ?? "random", params, config.samples);
  checkRunsDir(runsDir);
  await checkWritable(config.output);
  const faker = await newFaker(config.locale);
  checkPrompts(faker, params, dataset, config.seed, config.samples, config.paramsFile, config.sampling);
  const first = drawSample(faker, params, dataset, config.seed, 0, config.sampling);
  const existing = await readExistingCsv(config.output, datasetColumns(dataset.fields, Object.keys(labelsOf(first))), config.delimiter);
  if (config.metrics) await readExistingCsv(metricsPathFor(config.output), METRIC_COLUMNS, existing?.delimiter ?? config.delimiter);
  if (!goOn) checkDiskSpace(runsDir, estimateBuildBytes(config, dataset, first));
}

/** `synthai resume`: carry on from whatever step the manifest records. */
export async function resume(runDir: string, connection: Connection, options: DriveOptions & { budgetUsd?: number; pollIntervalSeconds?: number; keepRemote?: boolean; onDone?: string; topUp?: number }): Promise<Manifest> {
  return withLockedRun(runDir, async (manifest) => {
    const config = manifest.config;
    if (options.budgetUsd !== undefined) config.budgetUsd = options.budgetUsd;
    if (options.pollIntervalSeconds !== undefined) config.pollIntervalSeconds = options.pollIntervalSeconds;
    if (options.keepRemote) config.keepRemote = true;
    if (options.onDone) config.onDone = options.onDone;
    if (manifest.state === "done" && !options.topUp) {
      options.log(`run ${manifest.id} is already done`);
      return manifest;
    }
    const dataset = await loadDataset(config.specFile);
    const client = await makeClient({ apiKey: connection.apiKey, baseURL: connection.baseURL ?? config.baseURL });
    options.log(`resuming run ${manifest.id} (${manifest.state})`);
    if (manifest.state === "building") await build(runDir, manifest, dataset, options.log, await loadParams(config.paramsFile));
    if (options.topUp) await topUp(runDir, manifest, dataset, options.topUp, options.log);
    return driveAndNotify(runDir, manifest, client, dataset, options);
  });
}

/**
 * Builds the request files, or the rest of them: chunks a killed build finished (their files
 * as they were written) are kept, and the build goes on from the first unfinished one.
 */
async function build(runDir: string, manifest: Manifest, dataset: Dataset, log: Log, params: Params): Promise<void> {
  const { config } = manifest;
  manifest.state = "building";
  const kept = builtChunks(runDir, manifest);
  manifest.chunks = manifest.chunks.slice(0, kept);
  manifest.batches = manifest.batches.filter((b) => b.chunk < kept);
  saveManifest(runDir, manifest);
  const last = manifest.chunks.at(-1);
  const first = last ? last.firstSample + last.samples : 0;
  if (kept) log(`keeping the ${kept} file(s) already built; building from sample ${first + 1}`);
  await buildRequests(runDir, config, params, dataset, {
    range: { first, count: config.samples - first, firstChunk: kept },
    perChunk: chunkSize(config.samples, config.batches),
    onChunk: (chunk, record) => {
      manifest.chunks.push(chunk);
      manifest.batches.push(record);
      noteBuilt(runDir, manifest, { chunks: [chunk], batches: [record] });
      saveManifest(runDir, manifest);
      crashPoint("after-chunk");
    },
    onProgress: (done) => progress(log, `building requests: ${first + done}/${config.samples}`, "build"),
  });
  crashPoint("during-build");
  manifest.state = "running";
  saveManifest(runDir, manifest);
  log(`built ${config.samples} requests in ${manifest.batches.length} file(s)`);
}

/** How many of the chunks the manifest records still have their files as written. */
function builtChunks(runDir: string, manifest: Manifest): number {
  let kept = 0;
  for (const chunk of manifest.chunks) {
    const record = manifest.batches.find((b) => b.chunk === chunk.index && b.attempt === 1);
    try {
      checkRunFiles(runDir, manifest, [chunk.drawsFile, record!.requestsFile]);
    } catch {
      break;
    }
    kept++;
  }
  return kept;
}

/**
 * --top-up N: adds N samples to a finished run, drawn from where its stream stopped (sample
 * indexes after its last), so no old sample comes again — with --sampling unique, no old
 * combination either. The run's rows in its CSV are then written again with the new ones.
 */
async function topUp(runDir: string, manifest: Manifest, dataset: Dataset, count: number, log: Log): Promise<void> {
  if (manifest.state !== "done") throw new UserError(`run ${manifest.id} is ${manifest.state}; only a finished run can be topped up`, `finish it first with \`synthai resume ${manifest.id}\``);
  const { config } = manifest;
  const params = await loadParams(config.paramsFile);
  checkSampling(config.sampling ?? "random", params, config.samples + count);
  const first = config.samples;
  config.samples += count;
  const built = await buildRequests(runDir, config, params, dataset, { range: { first, count, firstChunk: manifest.chunks.length } });
  manifest.chunks.push(...built.chunks);
  manifest.batches.push(...built.batches);
  noteBuilt(runDir, manifest, built);
  manifest.state = "running";
  saveManifest(runDir, manifest);
  log(`topping up run ${manifest.id}: samples ${first + 1} to ${config.samples} in ${built.batches.length} new file(s)`);
}

function noteBuilt(runDir: string, manifest: Manifest, built: { chunks: Chunk[]; batches: BatchRecord[] }): void {
  noteFiles(runDir, manifest, [...built.chunks.map((c) => c.drawsFile), ...built.batches.map((b) => b.requestsFile)]);
}

/** Worst-case and likely cost of the requests still to be sent, at the run's price. */
export function estimate(manifest: Manifest): string {
  const { config } = manifest;
  const open = manifest.batches.filter((b) => b.step !== "collected");
  const promptTokens = open.reduce((s, b) => s + b.promptTokens, 0);
  const requests = open.reduce((s, b) => s + b.requests, 0);
  const worst = costUsd(config.price, promptTokens, requests * config.maxTokens);
  const promptCost = costUsd(config.price, promptTokens, 0);
  return `estimate: ${requests} requests in ${open.length} batch(es), ${promptTokens} prompt tokens → ${formatUsd(promptCost)} ` +
    `+ at most ${requests * config.maxTokens} completion tokens → at most ${formatUsd(worst)} at ${config.mode ?? "batch"} price` +
    (config.budgetUsd !== undefined ? ` (budget ${formatUsd(config.budgetUsd)})` : "");
}

function worstCase(manifest: Manifest, record: BatchRecord): number {
  return costUsd(manifest.config.price, record.promptTokens, record.requests * manifest.config.maxTokens);
}

/** May this batch be sent without any chance of going over the budget? */
export function fitsBudget(manifest: Manifest, record: BatchRecord): boolean {
  const budget = manifest.config.budgetUsd;
  if (budget === undefined) return true;
  const reserved = manifest.batches.filter((b) => b.step === "submitted" || b.step === "finished").reduce((s, b) => s + worstCase(manifest, b), 0);
  return spentUsd(manifest) + reserved + worstCase(manifest, record) <= budget + 1e-12;
}

/** Drives the run, then runs its --on-done command once it has ended (not when detached). */
async function driveAndNotify(runDir: string, manifest: Manifest, client: OpenAI, dataset: Dataset, options: DriveOptions): Promise<Manifest> {
  try {
    await drive(runDir, manifest, client, dataset, options);
  } finally {
    if (manifest.config.onDone && ["done", "stopped", "failed"].includes(manifest.state)) await runOnDone(manifest, options.log);
  }
  return manifest;
}

/** Runs the user's command with the run's id, state and output in its environment. */
function runOnDone(manifest: Manifest, log: Log): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(manifest.config.onDone!, {
      shell: true,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, SYNTHAI_RUN_ID: manifest.id, SYNTHAI_RUN_STATE: manifest.state, SYNTHAI_OUTPUT: manifest.config.output },
    });
    child.on("error", (error) => {
      log(`warning: --on-done command could not start: ${error.message}`);
      resolve();
    });
    child.on("close", (code) => {
      if (code) log(`warning: --on-done command exited with ${code}`);
      resolve();
    });
  });
}

/** Submits, waits, collects and re-requests until every sample is valid or given up, then exports. */
async function drive(runDir: string, manifest: Manifest, client: OpenAI, dataset: Dataset, options: DriveOptions): Promise<Manifest> {
  const { log } = options;
  const save = () => saveManifest(runDir, manifest);
  if (manifest.state === "done") {
    log(`run ${manifest.id} is already done`);
    return manifest;
  }
  manifest.state = "running";
  delete manifest.reason;
  save();
  let pollSeconds = manifest.config.pollIntervalSeconds;

  let outageSince: number | undefined;
  for (;;) {
    try {
      const step = await advanceRun(runDir, manifest, client, dataset, options);
      if (step.stopped) return step.stopped;
      if (step.done) break;
      await sleep(pollSeconds * 1000);
      const changed = await poll(client, manifest, step.inFlight, save);
      outageSince = undefined;
      const { line, key } = progressLine(manifest, { width: log.width?.() });
      progress(log, line, key);
      // Back off while nothing moves; look again soon once something does.
      pollSeconds = changed ? manifest.config.pollIntervalSeconds : Math.min(MAX_POLL_SECONDS, pollSeconds * 1.5);
    } catch (error) {
      // An overnight run outlasts an outage: wait and look again, for up to MAX_OUTAGE_SECONDS.
      if (!(error instanceof UserError && error.transient)) throw error;
      outageSince ??= Date.now();
      if (Date.now() - outageSince > MAX_OUTAGE_SECONDS * 1000) throw error;
      log(`warning: ${error.message}; trying again in ${formatDuration(pollSeconds)}`);
      await sleep(pollSeconds * 1000);
      pollSeconds = Math.min(MAX_POLL_SECONDS, pollSeconds * 2);
    }
  }

  return finish(runDir, manifest, dataset, log);
}

/** Every sample is valid or given up: write the CSVs and mark the run done. */
export async function finish(runDir: string, manifest: Manifest, dataset: Dataset, log: Log): Promise<Manifest> {
  checkRunFiles(runDir, manifest, exportInputs(manifest, { judgeAgain: false }));
  manifest.state = "exporting";
  saveManifest(runDir, manifest);
  const exported = await exportWithProgress(runDir, manifest, dataset, log);
  manifest.state = "done";
  saveManifest(runDir, manifest);
  log(summary(manifest, exported.rows, exported.csvFile, exported.metricsFile));
  return manifest;
}

/** Writes the CSVs; if that fails halfway, the manifest goes back to what it said before. */
async function exportWithProgress(runDir: string, manifest: Manifest, dataset: Dataset, log: Log, { output, feed }: { output?: string | undefined; feed?: SampleFeed } = {}) {
  const before = JSON.stringify(manifest);
  try {
    return await exportRun(runDir, manifest, {
      fields: dataset.fields,
      save: () => saveManifest(runDir, manifest),
      onProgress: (rows) => progress(log, `exporting: ${rows} rows`, "export"),
      onWait: log,
      ...(output ? { output } : {}),
      ...(feed ? { feed } : {}),
    });
  } catch (error) {
    for (const key of Object.keys(manifest)) delete (manifest as Record<string, unknown>)[key];
    Object.assign(manifest, JSON.parse(before));
    saveManifest(runDir, manifest);
    throw error;
  }
}

/** Collects what finished and submits what may go; says whether to wait, stop, or export. */
async function advanceRun(runDir: string, manifest: Manifest, client: OpenAI, dataset: Dataset, options: DriveOptions): Promise<{ inFlight: BatchRecord[]; done?: boolean; stopped?: Manifest }> {
  const { log } = options;
  for (;;) {
    for (const record of manifest.batches.filter((b) => b.step === "finished")) await collect(runDir, manifest, record, client, dataset, log);

    let blocked: BatchRecord | undefined;
    if (!options.cancelling) {
      for (const record of manifest.batches.filter((b) => b.step === "pending" || b.step === "uploaded")) {
        if (!fitsBudget(manifest, record)) {
          blocked = record;
          continue;
        }
        if (manifest.config.mode === "sync") {
          await sendDirectly(client, runDir, manifest, record, log);
          continue;
        }
        if (!fitsLimits(manifest, record)) continue;
        await submit(client, runDir, manifest, record, log);
      }
    }

    const inFlight = manifest.batches.filter((b) => b.step === "submitted");
    if (options.detach && inFlight.length > 0) {
      log(`detached: ${inFlight.length} batch(es) in flight; continue later with \`synthai resume ${manifest.id}\``);
      return { inFlight, stopped: manifest };
    }
    if (inFlight.length > 0) return { inFlight };
    if (manifest.batches.some((b) => b.step === "finished")) continue;
    if (options.cancelling) return { inFlight, stopped: stop(runDir, manifest, "cancelled", log) };
    if (blocked) return { inFlight, stopped: stopForBudget(runDir, manifest, blocked, log) };
    return { inFlight, done: true };
  }
}

/** Keeps within --max-in-flight batches and --max-enqueued-tokens; one batch always may go. */
export function fitsLimits(manifest: Manifest, record: BatchRecord): boolean {
  const inFlight = manifest.batches.filter((b) => b.step === "submitted");
  if (inFlight.length === 0) return true;
  const { maxInFlight, maxEnqueuedTokens } = manifest.config;
  if (maxInFlight !== undefined && inFlight.length >= maxInFlight) return false;
  const enqueued = inFlight.reduce((s, b) => s + b.promptTokens, 0);
  return maxEnqueuedTokens === undefined || enqueued + record.promptTokens <= maxEnqueuedTokens;
}

/**
 * Looks at every batch in flight once; true if any moved. Many batches are read from one
 * listing (newest first) instead of one request each.
 */
async function poll(client: OpenAI, manifest: Manifest, inFlight: BatchRecord[], save: () => void): Promise<boolean> {
  const seen = new Map<string, Batch>();
  if (inFlight.length > 3) {
    const oldest = Math.min(...inFlight.map((b) => b.createdAt ?? 0));
    await call(client, "listing batches", async () => {
      for await (const batch of client.batches.list({ limit: 100 })) {
        seen.set(batch.id, batch);
        if (batch.created_at < oldest || seen.size >= inFlight.length + 200) break;
      }
    });
  }
  let changed = false;
  for (const record of inFlight) {
    const batch = seen.get(record.batchId!) ?? (await call(client, `checking batch ${record.batchId}`, () => client.batches.retrieve(record.batchId!)));
    const where = (r: BatchRecord) => `${r.status}:${r.requestCounts?.completed}:${r.requestCounts?.failed}`;
    const before = where(record);
    applyBatch(record, batch);
    if (before !== where(record)) changed = true;
    if (FINAL.has(batch.status)) {
      record.step = "finished";
      save();
      crashPoint("after-finished");
    }
  }
  return changed;
}

/** `synthai cancel`: cancels the batches in flight, waits through `cancelling`, keeps what they finished. */
export async function cancel(runDir: string, connection: Connection, options: DriveOptions & { pollIntervalSeconds?: number }): Promise<Manifest> {
  return withLockedRun(runDir, async (manifest) => {
    if (options.pollIntervalSeconds !== undefined) manifest.config.pollIntervalSeconds = options.pollIntervalSeconds;
    const dataset = await loadDataset(manifest.config.specFile);
    const client = await makeClient({ apiKey: connection.apiKey, baseURL: connection.baseURL ?? manifest.config.baseURL });
    for (const record of manifest.batches.filter((b) => b.step === "submitted")) {
      const batch = await call(client, `cancelling batch ${record.batchId}`, () => client.batches.cancel(record.batchId!));
      applyBatch(record, batch);
      options.log(`cancelling ${record.batchId} (${batch.status})`);
    }
    saveManifest(runDir, manifest);
    return drive(runDir, manifest, client, dataset, { ...options, cancelling: true });
  });
}

async function submit(client: OpenAI, runDir: string, manifest: Manifest, record: BatchRecord, log: Log): Promise<void> {
  const save = () => saveManifest(runDir, manifest);
  if (record.step === "pending") {
    record.fileId = await uploadRequests(client, runDir, manifest.id, record, save);
    record.step = "uploaded";
    save();
  }
  const batch = await createBatch(client, manifest.id, record, save);
  applyBatch(record, batch);
  record.step = "submitted";
  save();
  crashPoint("after-submit");
  log(`submitted ${record.requestsFile} (${record.requests} requests) as ${batch.id}`);
}

/** --mode sync: the attempt's requests go out as direct chat completions; the answers land where a batch's would. */
async function sendDirectly(client: OpenAI, runDir: string, manifest: Manifest, record: BatchRecord, log: Log): Promise<void> {
  const { config } = manifest;
  record.createdAt ??= Math.floor(Date.now() / 1000);
  record.batchId = "sync";
  record.status = "in_progress";
  saveManifest(runDir, manifest);
  log(`sending ${record.requestsFile} (${record.requests} requests) directly, ${config.concurrency ?? 8} at a time`);
  const counts = await runSync(client, runDir, record, { concurrency: config.concurrency ?? 8, ...(config.rpm ? { rpm: config.rpm } : {}), ...(config.tpm ? { tpm: config.tpm } : {}) }, (done) =>
    progress(log, `sending: ${done}/${record.requests} requests · spent ${formatUsd(spentUsd(manifest))}`, "sync"),
  );
  Object.assign(record, { status: "completed", step: "finished", finishedAt: Math.floor(Date.now() / 1000), requestCounts: { total: record.requests, ...counts } });
  saveManifest(runDir, manifest);
}

/** Copies what the service says about a batch into its record. */
export function applyBatch(record: BatchRecord, batch: Batch): void {
  record.batchId = batch.id;
  record.status = batch.status;
  record.createdAt = batch.created_at;
  if (batch.request_counts) record.requestCounts = { ...batch.request_counts };
  if (batch.in_progress_at) record.inProgressAt = batch.in_progress_at;
  if (batch.finalizing_at) record.finalizingAt = batch.finalizing_at;
  const finished = batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.failed_at;
  if (finished) record.finishedAt = finished;
  if (batch.expires_at) record.expiresAt = batch.expires_at;
  if (batch.usage) record.usage = { input_tokens: batch.usage.input_tokens, output_tokens: batch.usage.output_tokens };
  if (batch.output_file_id) record.outputFileId = batch.output_file_id;
  if (batch.error_file_id) record.errorFileId = batch.error_file_id;
  if (batch.errors?.data?.length)
    record.errors = batch.errors.data.map((e) => `${e.line ? `line ${e.line}: ` : ""}${e.code ?? "error"}: ${e.message ?? ""}`);
}

/** Collects a finished batch; `client` is needed only for what lives on the service (not for sync or imported answers). */
export async function collect(runDir: string, manifest: Manifest, record: BatchRecord, client: OpenAI | undefined, dataset: Dataset, log: Log): Promise<void> {
  if (record.status === "failed") {
    if (record.errors?.some((e) => e.includes("token_limit_exceeded"))) {
      // Not the user's fault nor an attempt: the same file goes again once others finish.
      log(`${record.batchId}: enqueued-token limit reached; will submit ${record.requestsFile} again`);
      Object.assign(record, { step: "uploaded" });
      for (const key of ["batchId", "status", "createdAt", "errors", "requestCounts", "inProgressAt", "finalizingAt", "finishedAt", "expiresAt"] as const) delete record[key];
      saveManifest(runDir, manifest);
      return;
    }
    manifest.state = "failed";
    manifest.reason = `batch ${record.batchId} failed validation: ${(record.errors ?? ["no details"]).slice(0, 5).join("; ")}`;
    saveManifest(runDir, manifest);
    throw new UserError(manifest.reason, `fix the request file ${record.requestsFile} or the spec, then start a new run`);
  }
  const remote = Boolean(record.outputFileId || record.errorFileId);
  if (remote) await downloadResults(client!, runDir, record, log);
  noteFiles(runDir, manifest, [resultsFile(record, "output"), resultsFile(record, "errors")]);
  const { collected, retryIds, corrupt } = await collectBatch(runDir, manifest, record, dataset, manifest.config.price);
  noteFiles(runDir, manifest, [samplesFile(record)]);
  for (const line of corrupt.slice(0, 5)) log(`warning: corrupt line, sample asked again: ${line}`);
  const retry = retryIds.size > 0 ? await buildRetryRequests(runDir, record, retryIds) : undefined;
  crashPoint("after-collect");
  record.collected = collected;
  record.step = "collected";
  if (retry) {
    manifest.batches.push(retry);
    noteFiles(runDir, manifest, [retry.requestsFile]);
  }
  saveManifest(runDir, manifest);
  if (client && record.fileId && !manifest.config.keepRemote) await deleteRemoteFiles(client, record, log);
  log(`collected ${record.batchId === "sync" ? record.requestsFile : record.batchId} (${record.status}): ${collected.ok} valid, ${collected.malformed} malformed, ${collected.failed + collected.missing} failed, ` +
    `${collected.truncated} cut off; ${collected.retry} to ask again, ${collected.givenUp} given up; ${formatUsd(collected.costUsd)}`);
}

function stopForBudget(runDir: string, manifest: Manifest, blocked: BatchRecord, log: Log): Manifest {
  return stop(runDir, manifest, `budget: spent ${formatUsd(spentUsd(manifest))} for ${validCount(manifest)} valid samples; the next batch (${blocked.requests} requests) could cost up to ${formatUsd(worstCase(manifest, blocked))}, over the ${formatUsd(manifest.config.budgetUsd ?? 0)} limit`, log, " -l <higher limit>");
}

export function stop(runDir: string, manifest: Manifest, reason: string, log: Log, resumeFlags = ""): Manifest {
  manifest.state = "stopped";
  manifest.reason = reason === "cancelled" ? `cancelled with ${validCount(manifest)} valid samples, spent ${formatUsd(spentUsd(manifest))}` : reason;
  saveManifest(runDir, manifest);
  log(`stopped: ${manifest.reason}. Continue with \`synthai resume ${manifest.id}${resumeFlags}\`, or export what there is with \`synthai export ${manifest.id}\``);
  return manifest;
}

function validCount(manifest: Manifest): number {
  return manifest.batches.reduce((s, b) => s + (b.collected?.ok ?? 0), 0);
}

/**
 * One line on the run as a whole: valid samples so far of those asked, the retry round, what
 * was spent, an ETA once there is a rate; then, as far as `width` allows, the batches in
 * flight, their requests, the time elapsed and the next expiry.
 */
export function progressLine(manifest: Manifest, { now = Date.now() / 1000, width = Infinity }: { now?: number; width?: number } = {}): { line: string; key: string } {
  const open = manifest.batches.filter((b) => b.step === "submitted" || b.step === "finished");
  const byStatus = new Map<string, number>();
  for (const b of open) byStatus.set(b.status ?? "?", (byStatus.get(b.status ?? "?") ?? 0) + 1);
  const key = [...byStatus].map(([status, n]) => `${n} ${status}`).join(", ");
  const total = open.reduce((s, b) => s + (b.requestCounts?.total || b.requests), 0);
  const done = open.reduce((s, b) => s + (b.requestCounts ? b.requestCounts.completed + b.requestCounts.failed : 0), 0);
  const failed = open.reduce((s, b) => s + (b.requestCounts?.failed ?? 0), 0);
  const queued = manifest.batches.filter((b) => b.step === "pending" || b.step === "uploaded").reduce((s, b) => s + b.requests, 0);
  const elapsed = now - Math.min(...open.map((b) => b.createdAt ?? now));
  const round = Math.max(1, ...open.map((b) => b.attempt));
  const { valid, asked } = summarize(manifest);
  const expiries = open.filter((b) => b.step === "submitted" && b.expiresAt).map((b) => b.expiresAt!);
  // The run as a whole always shows; the rest goes in, in this order, while the line fits.
  const segments = [
    { text: `${valid}/${asked} valid`, always: true },
    { text: round > 1 ? `round ${round}` : "", always: true },
    { text: `spent ${formatUsd(spentUsd(manifest))}`, always: true },
    { text: done > 0 && done < total ? `ETA ${formatDuration((elapsed * (total - done + queued)) / done)}` : "", always: true },
    { text: `${done}/${total} requests${failed ? ` (${failed} failed)` : ""}`, always: false },
    { text: `${open.length} batch(es): ${key}`, always: false },
    { text: formatDuration(elapsed), always: false },
    { text: expiries.length ? `expires in ${formatDuration(Math.min(...expiries) - now)}` : "", always: false },
  ].filter((segment) => segment.text);
  const line = (shown: typeof segments) => `waiting: ${segments.filter((s) => shown.includes(s)).map((s) => s.text).join(" · ")}`;
  const chosen = segments.filter((segment) => segment.always);
  for (const segment of segments) if (!segment.always && line([...chosen, segment]).length <= width) chosen.push(segment);
  return { line: line(chosen), key };
}

function summary(manifest: Manifest, rows: number, csvFile: string, metricsFile: string | undefined): string {
  const { valid, reRequested, givenUp, costUsd: spent } = summarize(manifest);
  const nothing = valid === 0 ? ` — no answer was valid: \`synthai inspect ${manifest.id} --failed\` shows why` : givenUp ? ` — see \`synthai status ${manifest.id}\`` : "";
  return `done: ${rows} of ${manifest.config.samples} samples → ${csvFile}${metricsFile ? ` (metrics: ${metricsFile})` : ""}; ` +
    `cost ${formatUsd(spent)}${manifest.config.mode === "sync" ? "" : ` at batch price (standard ${formatUsd(spent * 2)})`}; ${reRequested} re-requested, ${givenUp} given up${nothing}`;
}

/** `synthai export`: parse every downloaded answer again with the current spec and rewrite the CSVs; no API call. */
export async function reexport(runDir: string, options: { output?: string; log: Log }): Promise<Manifest> {
  return withLockedRun(runDir, async (manifest) => {
    const dataset = await loadDataset(manifest.config.specFile);
    checkRunFiles(runDir, manifest, exportInputs(manifest, { judgeAgain: true }));
    // One pass: each batch is judged again and its samples go straight on to the CSV.
    const feed: SampleFeed = async (add) => {
      for (const record of collectedRecords(manifest)) {
        record.collected = (await collectBatch(runDir, manifest, record, dataset, manifest.config.price, add)).collected;
        noteFiles(runDir, manifest, [samplesFile(record)]);
      }
    };
    const exported = await exportWithProgress(runDir, manifest, dataset, options.log, { output: options.output, feed });
    options.log(`exported ${exported.rows} samples of run ${manifest.id} → ${exported.csvFile}${exported.metricsFile ? ` (metrics: ${exported.metricsFile})` : ""}`);
    return manifest;
  });
}
