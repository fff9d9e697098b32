import { DIRECT } from "./transport.ts";
import { EMBEDDINGS_URL } from "../api/embeddings.ts";
import { basename, join } from "node:path";
import type { BatchAsk, BatchService, RemoteBatch } from "../api/batch-service.ts";
import { completionWindow, providerFor, type OptionalField } from "../api/providers/index.ts";
import { UserError } from "../errors.ts";
import { crashPoint, type BatchRecord, sentOf, stageOf } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";
import { directAnswerUsd } from "./collect.ts";
import { progress } from "../io/log.ts";
import { formatUsd } from "../api/pricing.ts";
import { runSync } from "./sync.ts";
import { spentUsd } from "../run/totals.ts";
import { endpointOf, stageSettings } from "../run/config.ts";
import { applyRemote } from "./wait.ts";
import { unstoppable } from "../io/safe-stop.ts";
import { holdPoint, type ManifestStore } from "../run/store.ts";

/** `synthai-<run>-c0000-a1.jsonl`: the request file's own name (`s2-c0000-a1` in stage 2), after the run. */
function remoteFileName(runId: string, record: BatchRecord): string {
  return `synthai-${runId}-${basename(record.requestsFile)}`;
}

function batchMetadata(runId: string, record: BatchRecord): Record<string, string> {
  return {
    synthai_run: runId,
    synthai_chunk: String(record.chunk),
    synthai_attempt: String(record.attempt),
    ...(record.stage ? { synthai_stage: String(record.stage) } : {}),
    ...(record.purpose ? { synthai_purpose: record.purpose } : {}),
  };
}

/**
 * What the service is asked for one attempt: its file, name and tags, the run's window, and the
 * optional fields the service refused before (a refusal is recorded for the run, never sent again).
 */
function askOf(store: ManifestStore, record: BatchRecord): BatchAsk {
  const { manifest } = store;
  const { config } = manifest;
  const refused: string[] = [...(manifest.refusedFields ?? [])];
  return {
    // The whole file, or what the cache of answers did not answer.
    path: join(store.dir, sentOf(record).file),
    file: sentOf(record).file,
    name: remoteFileName(manifest.id, record),
    url: record.purpose === "embeddings" ? EMBEDDINGS_URL : endpointOf(config, stageOf(record)).url,
    model:
      record.purpose === "embeddings"
        ? (manifest.embeddings?.model ?? "")
        : stageSettings(config, stageOf(record)).model,
    requests: sentOf(record).requests,
    metadata: batchMetadata(manifest.id, record),
    ...(record.fileId ? { fileId: record.fileId } : {}),
    window: completionWindow(providerFor(config.provider), config.completionWindow),
    refused,
    onRefused: (field) => {
      refused.push(field);
      store.update((manifest) => {
        manifest.refusedFields = [...new Set([...(manifest.refusedFields ?? []), field as OptionalField])];
      });
    },
  };
}

/**
 * Uploads a request file. If an earlier process may have uploaded it already (it recorded
 * the start but not the id), the file is looked up by name first, so nothing is sent twice.
 */
async function uploadRequests(run: RunContext, record: BatchRecord, ask: BatchAsk): Promise<string> {
  const service = run.serviceFor(record);
  if (record.uploadedAt !== undefined) {
    const found = await service.findUpload(ask, record.uploadedAt);
    if (found) return found;
  }
  const uploadedAt = run.store.update(() => (record.uploadedAt = Math.floor(Date.now() / 1000)));
  const fileId = await service.upload(ask, uploadedAt);
  crashPoint("after-upload", stageOf(record));
  return fileId;
}

/**
 * Creates the batch for an uploaded file, exactly once: the moment is recorded first, and a
 * create an earlier process cut short is found (by metadata or by its file), never made again.
 */
async function createBatch(run: RunContext, record: BatchRecord, ask: BatchAsk): Promise<RemoteBatch> {
  const service = run.serviceFor(record);
  if (record.createdAt !== undefined) {
    const found = await service.find(ask, record.createdAt);
    if (found) return found;
  }
  const createdAt = run.store.update(() => (record.createdAt = Math.floor(Date.now() / 1000)));
  crashPoint("before-create", stageOf(record));
  const batch = await service.create(ask, createdAt);
  crashPoint("after-create", stageOf(record));
  await holdPoint("after-create");
  return batch;
}

/**
 * Writes down what a process stopped or killed between asking and recording may have made for
 * each attempt: its request file, then its batch, found as `submit` would find them (by name;
 * by metadata or input file). `cancel` and `abandon` call it first, so that what they must stop
 * or delete includes every batch the service made, named in the run or not.
 */
export async function recordUnrecorded(
  store: ManifestStore,
  serviceFor: (record: BatchRecord) => BatchService,
): Promise<void> {
  for (const record of store.manifest.batches) {
    if (record.batchId) continue;
    if (record.fileId === undefined && record.uploadedAt === undefined && record.createdAt === undefined)
      continue;
    const service = serviceFor(record);
    const ask = askOf(store, record);
    if (service.traits.carries === "file") {
      const fileId =
        record.fileId ??
        (record.uploadedAt !== undefined ? await service.findUpload(ask, record.uploadedAt) : undefined);
      if (!fileId) continue;
      if (!record.fileId) store.update(() => Object.assign(record, { fileId, step: "uploaded" }));
      ask.fileId = fileId;
    }
    if (record.createdAt === undefined) continue;
    const batch = await service.find(ask, record.createdAt);
    if (!batch) continue;
    store.update(() => {
      applyRemote(record, batch);
      record.step = "submitted";
    });
  }
}

/**
 * Uploads a batch's request file (unless an earlier try did) and creates its batch, each step
 * recorded; a Ctrl-C (or `cancel`) waits until both are, so no batch is made and left unnamed.
 */
export async function submit(run: RunContext, record: BatchRecord): Promise<void> {
  const { runsOffline } = providerFor(run.config.provider);
  if (runsOffline)
    throw new UserError(
      runsOffline,
      `run ${join(run.dir, sentOf(record).file)} through it, then ` +
        `\`synthai import ${run.manifest.id} <its output file>\``,
    );
  const ask = askOf(run.store, record);
  // A service that takes requests inline has nothing to upload: its create carries them.
  const uploads = run.serviceFor(record).traits.carries === "file";
  const batch = await unstoppable(async () => {
    if (record.step === "pending") {
      const fileId = uploads ? await uploadRequests(run, record, ask) : undefined;
      run.store.update(() => Object.assign(record, { ...(fileId ? { fileId } : {}), step: "uploaded" }));
      if (fileId) ask.fileId = fileId;
    }
    const batch = await createBatch(run, record, ask);
    run.store.update(() => {
      applyRemote(record, batch);
      record.step = "submitted";
    });
    return batch;
  });
  crashPoint("after-submit", stageOf(record));
  // What went, not what the request file holds: the cache answered the rest.
  const sent = sentOf(record);
  run.log(`submitted ${sent.file} (${sent.requests} requests) as ${batch.id}`);
}

/** --mode sync: the attempt's requests go out as direct chat completions; the answers land where a batch's would. */
export async function sendDirectly(run: RunContext, record: BatchRecord): Promise<void> {
  const { config, manifest, log } = run;
  run.store.update(() => {
    record.createdAt ??= Math.floor(Date.now() / 1000);
    record.batchId = DIRECT;
    record.status = "in_progress";
  });
  log(
    `sending ${record.requestsFile} (${record.requests} requests) directly, ${config.concurrency} at a time`,
  );
  const counts = await runSync(
    run.serviceFor(record),
    run.dir,
    record,
    endpointOf(config, stageOf(record)),
    {
      concurrency: config.concurrency,
      maxTokens: config.maxTokens,
      ...(config.rpm ? { rpm: config.rpm } : {}),
      ...(config.tpm ? { tpm: config.tpm } : {}),
    },
    // What this file's answers cost is counted when it is collected; until then the line adds it.
    (done, paidUsd) =>
      progress(
        log,
        `sending: ${done}/${record.requests} requests · spent ${formatUsd(spentUsd(manifest) + paidUsd)}`,
        "sync",
      ),
    (body) => directAnswerUsd(run, record, body),
  );
  run.store.update(() =>
    Object.assign(record, {
      status: "completed",
      step: "finished",
      finishedAt: Math.floor(Date.now() / 1000),
      requestCounts: { total: record.requests, ...counts },
    }),
  );
}
