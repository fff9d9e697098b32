// OpenAI's Batch API, and every service shaped like it (a preset of api/providers): requests
// uploaded as a file, a batch made from the file, its answers downloaded as files.
import { createReadStream } from "node:fs";
import type OpenAI from "openai";
import type { Batch } from "openai/resources/batches";
import type {
  BatchAsk,
  BatchService,
  BatchStatus,
  RemoteBatch,
  RemoteModel,
  Sent,
  ServiceOptions,
  ServiceTraits,
} from "../batch-service.ts";
import {
  apiFailure,
  call,
  clientFor,
  clientSettings,
  isApiError,
  isTransient,
  preflight,
  sleep,
  type ClientSettings,
} from "../client.ts";
import {
  createdBatch,
  isBatchOf,
  providerFor,
  readStatus,
  type Provider,
  type ProviderName,
} from "../providers/index.ts";
import { VENDORS } from "../vendors.ts";
import { redact } from "../../errors.ts";
import { openToRead } from "../../io/disk.ts";
import { freedAsTheyGo } from "../../io/jsonl.ts";
import { collectGarbage, deleteFiles, downloadResults } from "./openai-files.ts";

/** How long remote files and outputs live: as long as a run can be resumed. */
const REMOTE_TTL_SECONDS = 30 * 24 * 3600;
const CREATE_TRIES = 6;
/** Files looked at when a service does not list newest first, so the search cannot stop early. */
const MAX_FILES_SEARCHED = 2_000;

export function openaiService(options: ServiceOptions): BatchService {
  return new OpenAIService(options);
}

class OpenAIService implements BatchService {
  readonly vendor = "openai" as const;
  readonly traits: ServiceTraits;
  readonly #provider: Provider;
  readonly #settings: ClientSettings;
  readonly #log: (line: string) => void;
  #client: Promise<OpenAI> | undefined;
  /** Optional fields refused by the service during this process (the run's own list comes with each ask). */
  readonly #refused = new Set<string>();

  constructor(options: ServiceOptions) {
    this.#provider = providerFor(options.provider as ProviderName | undefined);
    // Checked now, before anything is built: a missing key or address is one line.
    this.#settings = clientSettings({ ...options, provider: options.provider as ProviderName | undefined });
    this.#log = options.log ?? (() => {});
    this.traits = traitsOf(this.#provider);
  }

  /** The SDK's client, made (and the SDK loaded) at the first call. */
  client(): Promise<OpenAI> {
    return (this.#client ??= clientFor(this.#settings));
  }
  get address(): string {
    return this.#settings.baseURL;
  }

  async preflight(mode: "batch" | "sync"): Promise<void> {
    await preflight(await this.client(), mode);
  }

  /** Whether an optional field goes with this ask: the preset takes it and nobody refused it. */
  #sends(field: "metadata" | "expiry", ask: BatchAsk): boolean {
    const takes = field === "metadata" ? this.#provider.keepsMetadata : this.#provider.takesExpiry;
    return takes && !this.#refused.has(field) && !ask.refused?.includes(field);
  }

  #refuse(field: string, ask: BatchAsk): void {
    this.#refused.add(field);
    ask.onRefused?.(field);
  }

  async upload(ask: BatchAsk, since: number): Promise<string> {
    const client = await this.client();
    const { toStreamingFile } = await import("openai"); // already loaded with the client
    for (let tries = 1; ; tries++) {
      const expiry = this.#sends("expiry", ask);
      // Never through a link: what is uploaded is the run's own requests, not a file it points to.
      const requests = createReadStream(ask.path, { fd: openToRead(ask.path) });
      try {
        const file = await client.files.create(
          {
            // Its reads are freed every 8 MB, as a download's are: a request file is up to 200 MB.
            file: toStreamingFile(freedAsTheyGo(requests), ask.name, { type: "application/jsonl" }),
            purpose: this.#provider.uploadPurpose as "batch",
            ...(expiry ? { expires_after: { anchor: "created_at", seconds: REMOTE_TTL_SECONDS } } : {}),
          },
          // Node's fetch keeps a copy of a streamed body, all of it, in case it must follow a
          // redirect (undici#4058) — unless redirects are refused. A streamed body cannot be sent
          // again on a redirect anyway, so refusing costs nothing and the upload stays in constant memory.
          { maxRetries: 0, fetchOptions: { redirect: "error" } },
        );
        return file.id;
      } catch (error) {
        // A service that takes no expiry on files gets the upload again without it, once.
        if (refusedFields(error, expiry ? ["expiry"] : []).length) {
          this.#refuse("expiry", ask);
          continue;
        }
        if (!isTransient(error) || tries >= CREATE_TRIES)
          throw apiFailure(error, `uploading ${ask.file}`, client);
        const found = await this.findUpload(ask, since);
        if (found) return found;
        await sleep(backoffMs(tries));
      }
    }
  }

  async findUpload(ask: BatchAsk, since: number): Promise<string | undefined> {
    const client = await this.client();
    const provider = this.#provider;
    return call(client, "listing files", async () => {
      let seen = 0;
      for await (const file of client.files.list({
        purpose: provider.uploadPurpose,
        order: "desc",
        limit: 100,
      })) {
        if (provider.listsNewestFirst ? file.created_at < since - 300 : ++seen > MAX_FILES_SEARCHED) break;
        if (file.filename === ask.name && String(file.status).toLowerCase() !== "error") return file.id;
      }
      return undefined;
    });
  }

  /**
   * The SDK would retry a POST that timed out without an idempotency key, billing a second batch;
   * so retries are off here and any doubt is settled by finding the batch: by its metadata, or by
   * the request file it was made from, which this attempt alone uploaded.
   */
  async create(ask: BatchAsk, since: number): Promise<RemoteBatch> {
    const client = await this.client();
    for (let tries = 1; ; tries++) {
      const sent = (["metadata", "expiry"] as const).filter((field) => this.#sends(field, ask));
      try {
        const batch = await client.batches.create(
          {
            input_file_id: ask.fileId!,
            endpoint: ask.url as "/v1/chat/completions",
            completion_window: (ask.window ?? "24h") as "24h",
            ...(sent.includes("metadata") ? { metadata: ask.metadata } : {}),
            ...(sent.includes("expiry")
              ? { output_expires_after: { anchor: "created_at" as const, seconds: REMOTE_TTL_SECONDS } }
              : {}),
          },
          { maxRetries: 0 },
        );
        return remoteBatch(createdBatch(this.#provider, batch));
      } catch (error) {
        // A refused optional field: the same request once more without it, remembered for the run.
        const refused = refusedFields(error, sent);
        if (refused.length) {
          for (const field of refused) this.#refuse(field, ask);
          continue;
        }
        if (!isTransient(error) || tries >= CREATE_TRIES)
          throw apiFailure(error, `creating the batch of ${ask.file}`, client);
        const found = await this.find(ask, since);
        if (found) return found;
        await sleep(backoffMs(tries));
      }
    }
  }

  async find(ask: BatchAsk, since: number): Promise<RemoteBatch | undefined> {
    const client = await this.client();
    return call(client, "listing batches", async () => {
      // Newest first: stop once past the moment this process first tried to create it.
      for await (const batch of client.batches.list({ limit: 100 })) {
        if (batch.created_at < since - 300) break;
        if (isBatchOf(this.#provider, batch, { fileId: ask.fileId, metadata: ask.metadata }))
          return remoteBatch(batch);
      }
      return undefined;
    });
  }

  /** Many batches are read from one listing (newest first) instead of one request each. */
  async look(ids: string[], oldest: number): Promise<Map<string, RemoteBatch>> {
    const client = await this.client();
    const seen = new Map<string, Batch>();
    if (ids.length > 3)
      await call(client, "listing batches", async () => {
        for await (const batch of client.batches.list({ limit: 100 })) {
          seen.set(batch.id, batch);
          if (batch.created_at < oldest || seen.size >= ids.length + 200) break;
        }
      });
    const looked = new Map<string, RemoteBatch>();
    for (const id of ids) {
      const batch =
        seen.get(id) ?? (await call(client, `checking batch ${id}`, () => client.batches.retrieve(id)));
      looked.set(id, remoteBatch(batch));
    }
    return looked;
  }

  async results(batch: RemoteBatch, to: { output: string; errors: string }) {
    return downloadResults(await this.client(), batch, to, this.#log);
  }

  async cancel(id: string): Promise<RemoteBatch | undefined> {
    const client = await this.client();
    try {
      return remoteBatch(await client.batches.cancel(id));
    } catch (error) {
      // Already finished, or gone: nothing left to stop.
      if (!isApiError(error) || ![400, 404, 409].includes(error.status ?? 0))
        throw apiFailure(error, `cancelling batch ${id}`, client);
      if (error.status === 404) return undefined;
      return remoteBatch(await call(client, `looking at batch ${id}`, () => client.batches.retrieve(id)));
    }
  }

  async remove(refs: string[]): Promise<string[]> {
    return deleteFiles(await this.client(), refs);
  }

  async gc(dryRun: boolean, log: (line: string) => void, keep?: ReadonlySet<string>): Promise<string[]> {
    const { uploadPurpose } = this.#provider;
    return collectGarbage(await this.client(), { dryRun, log, uploadPurpose, keep: keep ?? new Set() });
  }

  async send(url: string, body: unknown, doing = "sending requests"): Promise<Sent> {
    const client = await this.client();
    const direct = DIRECT[url];
    if (!direct) throw new Error(`${url} is not sent directly`);
    try {
      const response = await direct(client, body).withResponse();
      return { ok: true, body: response.data, requestId: response.request_id ?? "" };
    } catch (error) {
      // No answer at all (the SDK has retried): nothing to record for this request.
      if (!isApiError(error) || error.status === undefined) throw apiFailure(error, doing, client);
      const failure = apiFailure(error, doing, client) as Error;
      return {
        ok: false,
        status: error.status,
        transient: isTransient(error),
        body: {
          error: {
            message: error.message,
            type: (error.error as { type?: string } | undefined)?.type ?? "error",
            code: (error.code as string | null | undefined) ?? null,
            param: null,
          },
        },
        requestId: error.requestID ?? "",
        failure,
      };
    }
  }

  async models(): Promise<RemoteModel[]> {
    const client = await this.client();
    return call(client, "listing models", async () => {
      const models: RemoteModel[] = [];
      for await (const model of client.models.list()) models.push(model as RemoteModel);
      return models;
    });
  }

  async model(name: string): Promise<RemoteModel | undefined> {
    const client = await this.client();
    try {
      return (await client.models.retrieve(name, { maxRetries: 3 })) as RemoteModel;
    } catch (error) {
      if (!isApiError(error) || error.status !== 404)
        throw apiFailure(error, `asking about model ${name}`, client);
      // Some OpenAI-compatible servers list their models but cannot retrieve one.
      return (await this.models()).find((model) => model.id === name);
    }
  }

  redact(text: string): string {
    return redact(text, [this.#settings.apiKey]);
  }
}

/** How each endpoint's one request is sent directly. */
const DIRECT: Record<
  string,
  (client: OpenAI, body: unknown) => ReturnType<OpenAI["chat"]["completions"]["create"]>
> = {
  "/v1/chat/completions": (client, body) => client.chat.completions.create(body as never),
  "/v1/responses": (client, body) =>
    client.responses.create(body as never) as unknown as ReturnType<OpenAI["chat"]["completions"]["create"]>,
};

function traitsOf(provider: Provider): ServiceTraits {
  return {
    carries: "file",
    maxRequests: provider.maxRequestsPerFile,
    maxBytes: provider.maxBytesPerFile,
    // The Batch API states no limit on a custom id; synthai's own are short.
    customId: { maxLength: Number.POSITIVE_INFINITY, pattern: /^[\s\S]+$/ },
    // "Each input file can only include requests to a single model."
    mixesModels: false,
    findsBy: provider.reconcileBy === "metadata" ? "metadata" : "input_file",
    liveCounts: VENDORS.openai.liveCounts,
    typicalHours: Math.max(VENDORS.openai.typicalHours, provider.windowHours[0]),
  };
}

const IN_FLIGHT: Record<string, BatchStatus> = {
  validating: "validating",
  queued: "validating", // Cerebras, while it validates
  in_progress: "in_progress",
  progress: "in_progress", // Novita
  finalizing: "finalizing",
  cancelling: "cancelling",
};

/** A status in synthai's words: each service's final words in one table, any other word still in flight. */
export function batchStatus(said: unknown): BatchStatus {
  const word = readStatus(said);
  if (word === "completed" || word === "failed" || word === "expired" || word === "cancelled") return word;
  return IN_FLIGHT[word] ?? "in_progress";
}

/** What the service says of a batch, in synthai's words. */
export function remoteBatch(batch: Batch): RemoteBatch {
  const finished = batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.failed_at;
  const { usage } = batch;
  return {
    id: batch.id,
    status: batchStatus(batch.status),
    said: String(batch.status),
    ...(batch.request_counts ? { counts: { ...batch.request_counts } } : {}),
    createdAt: batch.created_at,
    ...(batch.in_progress_at ? { inProgressAt: batch.in_progress_at } : {}),
    ...(batch.finalizing_at ? { finalizingAt: batch.finalizing_at } : {}),
    ...(finished ? { finishedAt: finished } : {}),
    ...(batch.expires_at ? { expiresAt: batch.expires_at } : {}),
    ...(usage
      ? {
          usage: {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_tokens: usage.input_tokens_details?.cached_tokens ?? 0,
            reasoning_tokens: usage.output_tokens_details?.reasoning_tokens ?? 0,
          },
        }
      : {}),
    ...(batch.output_file_id ? { outputRef: batch.output_file_id } : {}),
    ...(batch.error_file_id ? { errorRef: batch.error_file_id } : {}),
    ...(batch.errors?.data?.length
      ? {
          errors: batch.errors.data.map(
            (e) => `${e.line ? `line ${e.line}: ` : ""}${e.code ?? "error"}: ${e.message ?? ""}`,
          ),
        }
      : {}),
  };
}

/**
 * The optional fields a 400 or 422 says the service does not take: those it names, or, when
 * it names none but calls a field unknown, every optional one that was sent.
 */
function refusedFields(error: unknown, sent: string[]): string[] {
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

function backoffMs(tries: number): number {
  return Math.min(30_000, 500 * 2 ** (tries - 1));
}
