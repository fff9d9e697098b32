import { createReadStream } from "node:fs";
import { openToRead } from "../io/disk.ts";
import { DIRECT } from "./transport.ts";
import { EMBEDDINGS_URL } from "../api/embeddings.ts";
import { basename, join } from "node:path";
import type OpenAI from "openai";
import type { Batch } from "openai/resources/batches";
import { endpointFor } from "../api/endpoints/index.ts";
import {
  completionWindow,
  createdBatch,
  isBatchOf,
  providerFor,
  type OptionalField,
  type Provider,
} from "../api/providers/index.ts";
import { UserError } from "../errors.ts";
import { apiFailure, call, isApiError, isTransient, sleep } from "../api/client.ts";
import { crashPoint, type BatchRecord, sentOf, stageOf } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";
import { progress } from "../io/log.ts";
import { formatUsd } from "../api/pricing.ts";
import { runSync } from "./sync.ts";
import { spentUsd } from "../run/totals.ts";
import { applyBatch } from "./wait.ts";
import { unstoppable } from "../io/safe-stop.ts";
import { holdPoint, type ManifestStore } from "../run/store.ts";

/** How long remote files and outputs live: as long as a run can be resumed. */
const REMOTE_TTL_SECONDS = 30 * 24 * 3600;
const CREATE_TRIES = 6;

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

/** What this run sends to its provider: the preset's optional fields, less those refused before. */
interface Sending {
  provider: Provider;
  metadata: boolean;
  expiry: boolean;
  window: string;
  /** Told when the service refuses an optional field: the run sends it no more. */
  refused: (field: OptionalField) => void;
}

function sendingFor(run: RunContext): Sending {
  const { manifest } = run;
  const provider = providerFor(manifest.config.provider);
  const refused = new Set(manifest.refusedFields ?? []);
  const sending: Sending = {
    provider,
    metadata: provider.keepsMetadata && !refused.has("metadata"),
    expiry: provider.takesExpiry && !refused.has("expiry"),
    window: completionWindow(provider, manifest.config.completionWindow),
    refused: (field) => {
      sending[field] = false;
      run.store.update((manifest) => {
        manifest.refusedFields = [...new Set([...(manifest.refusedFields ?? []), field])];
      });
    },
  };
  return sending;
}

/**
 * The optional fields a 400 or 422 says the service does not take: those it names, or, when
 * it names none but calls a field unknown, every optional one that was sent.
 */
function refusedFields(error: unknown, sent: OptionalField[]): OptionalField[] {
  if (!sent.length || !isApiError(error) || (error.status !== 400 && error.status !== 422)) return [];
  const said = `${(error as { param?: string }).param ?? ""} ${error.message}`;
  const named = sent.filter((field) => (field === "metadata" ? /metadata/i : /expir/i).test(said));
  if (named.length) return named;
  return /unknown|unrecogni[sz]ed|not (allowed|permitted|supported)|extra (field|input)|additional propert/i.test(
    said,
  )
    ? sent
    : [];
}

/**
 * Uploads a request file. If an earlier process may have uploaded it already (it recorded
 * the start but not the id), the file is looked up by name first, so nothing is sent twice.
 */
async function uploadRequests(run: RunContext, record: BatchRecord, sending: Sending): Promise<string> {
  const client = run.service;
  const name = remoteFileName(run.manifest.id, record);
  const { provider } = sending;
  if (record.uploadedAt !== undefined) {
    const found = await findUploadedFile(client, name, record.uploadedAt, provider);
    if (found) return found;
  }
  const uploadedAt = run.store.update(() => (record.uploadedAt = Math.floor(Date.now() / 1000)));
  const { toStreamingFile } = await import("openai"); // already loaded with the client
  const path = join(run.dir, sentOf(record).file); // the whole file, or what the cache did not answer
  for (let tries = 1; ; tries++) {
    // Never through a link: what is uploaded is the run's own requests, not a file it points to.
    const requests = createReadStream(path, { fd: openToRead(path) });
    try {
      const file = await client.files.create(
        {
          file: toStreamingFile(requests, name, {
            type: "application/jsonl",
          }),
          purpose: provider.uploadPurpose as "batch",
          ...(sending.expiry ? { expires_after: { anchor: "created_at", seconds: REMOTE_TTL_SECONDS } } : {}),
        },
        // Node's fetch keeps a copy of a streamed body, all of it, in case it must follow a
        // redirect (undici#4058) — unless redirects are refused. A streamed body cannot be sent
        // again on a redirect anyway, so refusing costs nothing and the upload stays in constant memory.
        { maxRetries: 0, fetchOptions: { redirect: "error" } },
      );
      crashPoint("after-upload", stageOf(record));
      return file.id;
    } catch (error) {
      // A service that takes no expiry on files gets the upload again without it, once.
      if (refusedFields(error, sending.expiry ? ["expiry"] : []).length) {
        sending.refused("expiry");
        continue;
      }
      if (!isTransient(error) || tries >= CREATE_TRIES)
        throw apiFailure(error, `uploading ${record.requestsFile}`, client);
      const found = await findUploadedFile(client, name, uploadedAt, provider);
      if (found) return found;
      await sleep(backoffMs(tries));
    }
  }
}

/** Files looked at when a service does not list newest first, so the search cannot stop early. */
const MAX_FILES_SEARCHED = 2_000;

async function findUploadedFile(
  client: OpenAI,
  name: string,
  since: number,
  provider: Provider,
): Promise<string | undefined> {
  return call(client, "listing files", async () => {
    let seen = 0;
    for await (const file of client.files.list({
      purpose: provider.uploadPurpose,
      order: "desc",
      limit: 100,
    })) {
      if (provider.listsNewestFirst ? file.created_at < since - 300 : ++seen > MAX_FILES_SEARCHED) break;
      if (file.filename === name && String(file.status).toLowerCase() !== "error") return file.id;
    }
    return undefined;
  });
}

/**
 * Creates the batch for an uploaded file, exactly once. The SDK would retry a POST that timed
 * out without an idempotency key, billing a second batch; so retries are off here and any
 * doubt is settled by finding the batch: by its metadata, or by the request file it was made
 * from, which this attempt alone uploaded (where the service keeps no metadata).
 */
async function createBatch(run: RunContext, record: BatchRecord, sending: Sending): Promise<Batch> {
  const client = run.service;
  const url = record.purpose === "embeddings" ? EMBEDDINGS_URL : endpointFor(run.config.endpoint).url;
  const metadata = batchMetadata(run.manifest.id, record);
  if (record.createdAt !== undefined) {
    const found = await findBatch(client, sending.provider, metadata, record, record.createdAt);
    if (found) return found;
  }
  const createdAt = run.store.update(() => (record.createdAt = Math.floor(Date.now() / 1000)));
  for (let tries = 1; ; tries++) {
    try {
      const batch = await client.batches.create(
        {
          input_file_id: record.fileId!,
          endpoint: url as "/v1/chat/completions",
          completion_window: sending.window as "24h",
          ...(sending.metadata ? { metadata } : {}),
          ...(sending.expiry
            ? { output_expires_after: { anchor: "created_at" as const, seconds: REMOTE_TTL_SECONDS } }
            : {}),
        },
        { maxRetries: 0 },
      );
      crashPoint("after-create", stageOf(record));
      await holdPoint("after-create");
      return createdBatch(sending.provider, batch);
    } catch (error) {
      // A refused optional field: the same request once more without it, remembered for the run.
      const sent: OptionalField[] = [
        ...(sending.metadata ? (["metadata"] as const) : []),
        ...(sending.expiry ? (["expiry"] as const) : []),
      ];
      const refused = refusedFields(error, sent);
      if (refused.length) {
        refused.forEach(sending.refused);
        continue;
      }
      if (!isTransient(error) || tries >= CREATE_TRIES)
        throw apiFailure(error, `creating the batch of ${record.requestsFile}`, client);
      const found = await findBatch(client, sending.provider, metadata, record, createdAt);
      if (found) return found;
      await sleep(backoffMs(tries));
    }
  }
}

async function findBatch(
  client: OpenAI,
  provider: Provider,
  metadata: Record<string, string>,
  record: BatchRecord,
  since: number,
): Promise<Batch | undefined> {
  return call(client, "listing batches", async () => {
    // Newest first: stop once past the moment this process first tried to create it.
    for await (const batch of client.batches.list({ limit: 100 })) {
      if (batch.created_at < since - 300) break;
      if (isBatchOf(provider, batch, { fileId: record.fileId, metadata })) return batch;
    }
    return undefined;
  });
}

/**
 * Writes down what a process stopped or killed between asking and recording may have made for
 * each attempt: its request file, then its batch, found as `submit` would find them (by name;
 * by metadata or input file). `cancel` and `abandon` call it first, so that what they must stop
 * or delete includes every batch the service made, named in the run or not.
 */
export async function recordUnrecorded(store: ManifestStore, client: OpenAI): Promise<void> {
  const { manifest } = store;
  const provider = providerFor(manifest.config.provider);
  for (const record of manifest.batches) {
    if (record.batchId || (record.fileId === undefined && record.uploadedAt === undefined)) continue;
    const name = remoteFileName(manifest.id, record);
    const fileId = record.fileId ?? (await findUploadedFile(client, name, record.uploadedAt!, provider));
    if (!fileId) continue;
    if (!record.fileId) store.update(() => Object.assign(record, { fileId, step: "uploaded" }));
    if (record.createdAt === undefined) continue;
    const metadata = batchMetadata(manifest.id, record);
    const batch = await findBatch(client, provider, metadata, record, record.createdAt);
    if (!batch) continue;
    store.update(() => {
      applyBatch(record, batch);
      record.step = "submitted";
    });
  }
}

function backoffMs(tries: number): number {
  return Math.min(30_000, 500 * 2 ** (tries - 1));
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
  const sending = sendingFor(run);
  const batch = await unstoppable(async () => {
    if (record.step === "pending") {
      const fileId = await uploadRequests(run, record, sending);
      run.store.update(() => Object.assign(record, { fileId, step: "uploaded" }));
    }
    const batch = await createBatch(run, record, sending);
    run.store.update(() => {
      applyBatch(record, batch);
      record.step = "submitted";
    });
    return batch;
  });
  crashPoint("after-submit", stageOf(record));
  run.log(`submitted ${record.requestsFile} (${record.requests} requests) as ${batch.id}`);
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
    `sending ${record.requestsFile} (${record.requests} requests) directly, ${config.concurrency ?? 8} at a time`,
  );
  const counts = await runSync(
    run.service,
    run.dir,
    record,
    endpointFor(config.endpoint),
    {
      concurrency: config.concurrency ?? 8,
      maxTokens: config.maxTokens,
      ...(config.rpm ? { rpm: config.rpm } : {}),
      ...(config.tpm ? { tpm: config.tpm } : {}),
    },
    (done) =>
      progress(
        log,
        `sending: ${done}/${record.requests} requests · spent ${formatUsd(spentUsd(manifest))}`,
        "sync",
      ),
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
