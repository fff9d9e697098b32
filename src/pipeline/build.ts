import type { BatchRequest } from "../run/records.ts";
import { rename, rm } from "node:fs/promises";
import { setImmediate as turnOfEventLoop } from "node:timers/promises";
import { join } from "node:path";
import { drawSample, labelsOf, newFaker, promptOf } from "../dataset/draw.ts";
import type { DrawStream } from "../dataset/randomizer.ts";
import { rowsForSamples, type Row } from "../dataset/inputs/index.ts";
import { keptValues } from "../dataset/input-file.ts";
import { JsonlWriter, readJsonl } from "../io/jsonl.ts";
import { ensureDir, type BatchRecord, type Chunk, type RunConfig } from "../run/manifest.ts";
import { drawsFileName, requestsFileName, type Sums } from "../run/files.ts";
import type { Dataset, Draw, Message } from "../dataset/spec.ts";
import type { Endpoint, RequestOptions } from "../api/endpoints/index.ts";
import { providerFor } from "../api/providers/index.ts";
import { endpointOf, vendorField } from "../run/config.ts";
import { withTokenCounter, type TokenCounter } from "../api/tokens.ts";
import type { Params } from "../dataset/params.ts";

/** OpenAI's Batch-API limits on one input file. */
export const MAX_REQUESTS_PER_FILE = providerFor().maxRequestsPerFile;
export const MAX_BYTES_PER_FILE = providerFor().maxBytesPerFile;

/** The id of sample `index`: zero-padded, so ids sort as samples do, stable across attempts. */
export function customId(index: number, samples: number): string {
  return String(index).padStart(Math.max(6, String(samples - 1).length), "0");
}

export function toMessages(prompt: string | Message[]): Message[] {
  return typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt;
}

/** A prompt as a person reads it: the user's words, other roles marked. */
export function promptText(messages: Message[]): string {
  return messages.map((m) => (m.role === "user" ? m.content : `[${m.role}] ${m.content}`)).join("\n");
}

export function requestFor(
  config: RunConfig,
  id: string,
  messages: Message[],
  schema?: Record<string, unknown>,
): BatchRequest {
  // A stage's config (configOfStage) carries its vendor: its first stage is its own.
  const endpoint = endpointOf(config);
  const options = requestOptions(config, schema);
  return { custom_id: id, method: "POST", url: endpoint.url, body: endpoint.body(messages, options) };
}

/** What a request of `config` (a stage's, from configOfStage) asks, whatever its endpoint names it. */
export function requestOptions(config: RunConfig, schema?: Record<string, unknown>): RequestOptions {
  return {
    model: config.model,
    maxTokens: config.maxTokens,
    ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
    ...(config.reasoningEffort ? { effort: config.reasoningEffort } : {}),
    ...(config.serviceTier ? { serviceTier: config.serviceTier } : {}),
    ...(schema ? { schema } : {}),
  };
}

/** Bytes the request and draws files of a run will take, from its first sample's. */
export function estimateBuildBytes(config: RunConfig, dataset: Dataset, first: Draw): number {
  const request = requestFor(
    config,
    customId(0, config.samples),
    toMessages(promptOf(dataset, first, 0)),
    dataset.schema,
  );
  const perSample =
    Buffer.byteLength(JSON.stringify(request)) +
    Buffer.byteLength(JSON.stringify({ custom_id: request.custom_id, sample: 1, labels: labelsOf(first) })) +
    2;
  return perSample * config.samples;
}

/** What one input file may hold: the Batch API's limits, lower only in tests. */
export interface FileLimits {
  requests: number;
  bytes: number;
}

/** The run's provider's limits on one input file (100 MB on Together). */
export function fileLimits(config: Pick<RunConfig, "provider">): FileLimits {
  const provider = providerFor(config.provider);
  return { requests: provider.maxRequestsPerFile, bytes: provider.maxBytesPerFile };
}

/** Samples per chunk: -b jobs, each further split to stay under the file limits. */
export function chunkSize(samples: number, batches: number, maxRequests = MAX_REQUESTS_PER_FILE): number {
  return Math.min(Math.ceil(samples / batches), maxRequests);
}

export interface Built {
  chunks: Chunk[];
  batches: BatchRecord[];
  /** The checksums of their request and draws files. */
  sums: Sums;
}

export interface BuildOptions {
  onProgress?: (done: number) => void;
  /** Which samples: all of them, those after the chunks a killed build finished, or a top-up's. */
  range?: { first: number; count: number; firstChunk: number };
  /** Samples per chunk, when the range is the rest of a build (by default the range's share of -b). */
  perChunk?: number;
  /** Told of each chunk as soon as its files are complete, so a build killed later keeps it. */
  onChunk?: (chunk: Chunk, record: BatchRecord, sums: Sums) => void;
  limits?: FileLimits;
  /** The run's draw stream (its manifest version); the current one by default. */
  stream?: DrawStream;
  /** Told of each request's messages as it is built (the dry run's shared prefix). */
  onPrompt?: (messages: Message[], draw: Draw) => void;
  /** Looks each request up in the cache of answers as it is built (cached.ts): a hit is not counted. */
  lookup?: BuildLookup;
}

/** The cache of answers, asked as the build goes (cached.ts, buildLookup). */
export interface BuildLookup {
  /** Starts looking up a new chunk's requests, in the order of its file. */
  open(record: BatchRecord, firstSample: number): Promise<ChunkLookup>;
  /** Told once a chunk's record is in the manifest. */
  recorded(record: BatchRecord): void;
}

export interface ChunkLookup {
  /** Whether the cache answered a request: a hit is written to the chunk's cached results, never counted nor sent. */
  answered(request: BatchRequest): boolean;
  /** Ends the chunk, its files closed and its misses counted: sets the record's `cached`; the sums of what it wrote. */
  close(record: BatchRecord): Promise<Sums>;
}

/** A chunk being written: its records, and its request and draws files. */
interface OpenChunk {
  chunk: Chunk;
  record: BatchRecord;
  requests: JsonlWriter;
  draws: JsonlWriter;
  lookup?: ChunkLookup | undefined;
}

/** A new chunk, opened as its first sample is written. */
function openChunk(runDir: string, config: RunConfig, chunkIndex: number, firstSample: number): OpenChunk {
  const drawsFile = drawsFileName(chunkIndex);
  const requestsFile = requestsFileName(chunkIndex, 1);
  return {
    chunk: { index: chunkIndex, firstSample, samples: 0, drawsFile },
    record: {
      ...vendorField(config, 1),
      chunk: chunkIndex,
      attempt: 1,
      requestsFile,
      requests: 0,
      promptTokens: 0,
      step: "pending",
    },
    requests: new JsonlWriter(join(runDir, requestsFile)),
    draws: new JsonlWriter(join(runDir, drawsFile)),
  };
}

/** Closes a chunk's files, counts its prompts (what the cache did not answer), and tells `onChunk`. */
async function closeChunk(
  open: OpenChunk,
  counter: TokenCounter,
  built: Built,
  onChunk: NonNullable<BuildOptions["onChunk"]>,
): Promise<void> {
  open.requests.close();
  open.draws.close();
  open.record.promptTokens = await counter.tally();
  const sums = {
    [open.chunk.drawsFile]: open.draws.sha256,
    [open.record.requestsFile]: open.requests.sha256,
    ...(await open.lookup?.close(open.record)),
  };
  built.chunks.push(open.chunk);
  built.batches.push(open.record);
  Object.assign(built.sums, sums);
  onChunk(open.chunk, open.record, sums);
}

/** The requests/ and draws/ folders, emptied first by a build from the first sample. */
async function requestFolders(runDir: string, fromStart: boolean): Promise<void> {
  if (fromStart) {
    await rm(join(runDir, "requests"), { recursive: true, force: true });
    await rm(join(runDir, "draws"), { recursive: true, force: true });
  }
  await ensureDir(join(runDir, "requests"));
  await ensureDir(join(runDir, "draws"));
}

/**
 * Draws every sample and writes the first-attempt request files and the draws (labels) of
 * each chunk, streaming. A file is closed when it holds its share of -b, 50,000 requests, or
 * when the next line would take it over 200 MB. Deterministic for a given config, so an
 * interrupted build goes on from its first unfinished chunk and writes what a whole one would.
 */
export async function buildRequests(
  runDir: string,
  config: RunConfig,
  params: Params,
  dataset: Dataset,
  options: BuildOptions = {},
): Promise<Built> {
  const {
    onProgress = () => {},
    onChunk = () => {},
    range = { first: 0, count: config.samples, firstChunk: 0 },
    limits = fileLimits(config),
  } = options;
  const endpoint = endpointOf(config);
  await requestFolders(runDir, range.first === 0);
  const faker = await newFaker(config.locale, options.stream);
  const drawing = { faker, params, dataset, seed: config.seed, sampling: config.sampling };
  const perChunk = options.perChunk ?? chunkSize(range.count, config.batches, limits.requests);
  const built: Built = { chunks: [], batches: [], sums: {} };
  let open: OpenChunk | undefined;

  const finish = async (counter: TokenCounter) => {
    if (open) await closeChunk(open, counter, built, onChunk);
    open = undefined;
  };

  // With an input file, each sample starts from its row, read as the build goes.
  const input = config.input;
  const rows = input ? rowsForSamples(input, range.first)[Symbol.asyncIterator]() : undefined;
  await withTokenCounter(async (counter) => {
    for (let index = range.first; index < range.first + range.count; index++) {
      const row = rows ? ((await rows.next()).value as Row) : undefined;
      const draw = drawSample(
        drawing,
        index,
        row && { values: row.values, kept: keptValues(row, input!.columns) },
      );
      const id = customId(index, config.samples);
      const messages = toMessages(promptOf(dataset, draw, index));
      options.onPrompt?.(messages, draw);
      const request = requestFor(config, id, messages, dataset.schema);
      const line = JSON.stringify(request);
      const lineBytes = Buffer.byteLength(line) + 1;
      if (open && (open.chunk.samples >= perChunk || open.requests.bytes + lineBytes > limits.bytes))
        await finish(counter);
      if (!open) {
        open = openChunk(runDir, config, range.firstChunk + built.chunks.length, index);
        open.lookup = await options.lookup?.open(open.record, index);
      }
      open.requests.writeLine(line);
      open.draws.write({
        custom_id: id,
        sample: index + 1,
        labels: labelsOf(draw),
        ...(row ? { row: row.number + 1 } : {}),
      });
      open.chunk.samples++;
      open.record.requests++;
      // A hit is never sent: its prompt is not counted toward the estimate, the budget or the queue.
      const behind = open.lookup?.answered(request) ? undefined : counter.add(endpoint.prompt(request.body));
      if (behind) await behind;
      if ((index + 1 - range.first) % 10_000 === 0) {
        onProgress(index + 1 - range.first);
        // Drawing and writing never wait, so Ctrl-C and timers get their turn here. Not more
        // often: V8's collector, running between turns, then lets the heap grow further.
        await turnOfEventLoop();
      }
    }
    await finish(counter);
  });
  await rows?.return?.(undefined);
  return built;
}

/**
 * Writes the request file of a follow-up attempt: the lines of the previous attempt whose
 * samples must be asked again, unchanged, so each sample keeps its custom_id.
 */
export async function buildRetryRequests(
  runDir: string,
  previous: BatchRecord,
  retryIds: Set<string>,
  endpoint: Endpoint,
): Promise<{ record: BatchRecord; sha256: string }> {
  const requestsFile = requestsFileName(previous.chunk, previous.attempt + 1, previous.stage);
  const tmp = join(runDir, `${requestsFile}.tmp`);
  const writer = new JsonlWriter(tmp);
  const promptTokens = await withTokenCounter(async (counter) => {
    for await (const request of readJsonl<BatchRequest>(join(runDir, previous.requestsFile))) {
      if (!retryIds.has(request.custom_id)) continue;
      writer.write(request);
      await counter.add(endpoint.prompt(request.body));
    }
    return counter.tally();
  });
  writer.close();
  await rename(tmp, join(runDir, requestsFile));
  const record: BatchRecord = {
    ...(previous.stage ? { stage: previous.stage } : {}),
    ...(previous.vendor ? { vendor: previous.vendor } : {}),
    chunk: previous.chunk,
    attempt: previous.attempt + 1,
    requestsFile,
    requests: writer.lines,
    promptTokens,
    step: "pending",
  };
  return { record, sha256: writer.sha256 };
}
