// The manifest's schema, as zod checks it when a run folder is read. Kept apart from
// manifest.ts so that a command that only lists runs or prints help loads no zod until it reads one.
import { z } from "zod";
import { ENDPOINTS, type EndpointName } from "../api/endpoints/index.ts";
import { EFFORTS } from "../api/models.ts";
import { FORMAT_NAMES } from "../io/formats/names.ts";
import { PROVIDERS, type ProviderName } from "../api/providers/index.ts";
import { VENDOR_NAMES } from "../api/vendors.ts";
import type { Vendor } from "../api/batch-service.ts";

const Counts = z.object({ total: z.number(), completed: z.number(), failed: z.number() });

const Collected = z.object({
  ok: z.number(),
  malformed: z.number(),
  failed: z.number(),
  truncated: z.number(),
  /** Answers left empty because reasoning used the whole token limit. */
  reasoning: z.number().default(0),
  missing: z.number(),
  retry: z.number(),
  givenUp: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  cachedTokens: z.number().default(0),
  reasoningTokens: z.number().default(0),
  costUsd: z.number(),
});

/** One Batch-API job: one chunk of samples at one attempt. */
const BatchRecord = z.object({
  /** The stage it belongs to, from 2 on (a judge, a rewrite); absent for stage 1, the generation. */
  stage: z.number().int().min(2).optional(),
  /** What it asks: absent for the dataset's answers; "embeddings" for --dedup semantic's vectors. */
  purpose: z.enum(["embeddings"]).optional(),
  /** The vendor whose batch service it went to (api/services), its stage's; "openai" when absent. */
  vendor: z.enum(VENDOR_NAMES as [Vendor, ...Vendor[]]).optional(),
  chunk: z.number().int().nonnegative(),
  attempt: z.number().int().positive(),
  requestsFile: z.string(),
  requests: z.number().int().nonnegative(),
  promptTokens: z.number().nonnegative(),
  /** pending → uploaded → submitted → finished → collected */
  step: z.enum(["pending", "uploaded", "submitted", "finished", "collected"]),
  fileId: z.string().optional(),
  uploadedAt: z.number().optional(),
  batchId: z.string().optional(),
  status: z.string().optional(),
  requestCounts: Counts.optional(),
  createdAt: z.number().optional(),
  inProgressAt: z.number().optional(),
  finalizingAt: z.number().optional(),
  finishedAt: z.number().optional(),
  expiresAt: z.number().optional(),
  /** Tokens the service billed for the whole batch (reported on batches since 2025-09). */
  usage: z
    .object({
      input_tokens: z.number(),
      output_tokens: z.number(),
      cached_tokens: z.number().optional(),
      reasoning_tokens: z.number().optional(),
    })
    .optional(),
  outputFileId: z.string().optional(),
  errorFileId: z.string().optional(),
  errors: z.array(z.string()).optional(),
  collected: Collected.optional(),
  /** What its answers were judged with (collect.ts, judgeKey): an export judges them again only when it changed. */
  judgedBy: z.string().optional(),
  /**
   * Its requests looked up in the cache of answers (pipeline/cached.ts): the hits, answered in
   * results/<name>.cached.jsonl, what they would have cost, and what goes to the service instead of
   * the whole file: `sentFile` (the misses) where some hit, and their count and prompt tokens.
   */
  cached: z
    .object({
      hits: z.number().int().nonnegative(),
      savedUsd: z.number(),
      sentFile: z.string().optional(),
      sent: z.number().int().nonnegative(),
      sentPromptTokens: z.number().nonnegative(),
    })
    .optional(),
});

const Chunk = z.object({
  index: z.number().int().nonnegative(),
  firstSample: z.number().int().nonnegative(),
  samples: z.number().int().positive(),
  drawsFile: z.string(),
});

const Price = z.object({
  input: z.number(),
  output: z.number(),
  cachedInput: z.number().optional(),
  cacheWrite: z.number().optional(),
});

/** A stage after the first, as the run resolved it: its prompt file (if not the spec's), model and price. */
const StageConfig = z.object({
  promptFile: z.string().optional(),
  /** Which of its file's stages: a conversation's turn, or one model of several (1-based). */
  turn: z.number().int().positive().optional(),
  /** The stage it is built after, when not the one before it (a model beside another runs beside it). */
  after: z.number().int().positive().optional(),
  datasetSha256: z.string().optional(),
  model: z.string(),
  /** Whose batch service runs it (api/services); "openai" when absent. */
  vendor: z.enum(VENDOR_NAMES as [Vendor, ...Vendor[]]).optional(),
  maxTokens: z.number().int().positive(),
  reasoningEffort: z.enum(EFFORTS).optional(),
  price: Price,
});

const Config = z.object({
  model: z.string(),
  /** Whose batch service runs the first stage, and whose flags -k/--base-url are; "openai" when absent. */
  vendor: z.enum(VENDOR_NAMES as [Vendor, ...Vendor[]]).optional(),
  samples: z.number().int().positive(),
  batches: z.number().int().positive(),
  output: z.string(),
  paramsFile: z.string(),
  /** params.json's SHA-256 as the run was made (or last accepted): a changed one is refused. Absent in older runs. */
  paramsSha256: z.string().optional(),
  specFile: z.string().optional(),
  /** --prompt: a prompt file instead of a spec module. */
  promptFile: z.string().optional(),
  /** The spec module's or prompt file's SHA-256 as the run was made (or last accepted): a changed one is refused. */
  datasetSha256: z.string().optional(),
  /** --input: the file of rows each sample starts from, as it was when the run read it. */
  input: z
    .object({
      path: z.string(),
      size: z.number(),
      mtimeMs: z.number(),
      sha256: z.string(),
      rows: z.number().int().positive(),
      perRow: z.number().int().positive(),
      columns: z.array(z.string()),
    })
    .optional(),
  seed: z.number().int(),
  locale: z.string().optional(),
  sampling: z.enum(["random", "unique", "stratified"]).optional(),
  maxTokens: z.number().int().positive(),
  temperature: z.number().optional(),
  budgetUsd: z.number().positive().optional(),
  price: Price,
  /** The price flags given (--input-price, --list-input-price, …), for a first prompt file that names its own model. */
  priceGiven: z
    .object({
      input: z.number().optional(),
      output: z.number().optional(),
      cachedInput: z.number().optional(),
      listInput: z.number().optional(),
      listOutput: z.number().optional(),
    })
    .optional(),
  /** --fill: draw more samples until `target` are kept after every stage, at most `maxDraws` in all. */
  fill: z.object({ target: z.number().int().positive(), maxDraws: z.number().int().positive() }).optional(),
  /** Stages 2, 3, …: each one more round of batches over the samples still kept. */
  stages: z.array(StageConfig).optional(),
  /** --format: how the dataset's rows are written (io/formats); by the output's extension when absent. */
  format: z.enum(FORMAT_NAMES).optional(),
  /** The reasoning effort asked of a model that reasons. */
  reasoningEffort: z.enum(EFFORTS).optional(),
  delimiter: z.string().optional(),
  /** --csv-safe: CSV cells a spreadsheet would read as a formula are neutralised (OWASP). */
  csvSafe: z.boolean().optional(),
  metrics: z.boolean(),
  maxAttempts: z.number().int().positive(),
  pollIntervalSeconds: z.number().positive(),
  baseURL: z.string().optional(),
  keepRemote: z.boolean().optional(),
  maxInFlight: z.number().int().positive().optional(),
  maxEnqueuedTokens: z.number().int().positive().optional(),
  /** A shell command run when the run ends (done, stopped or failed). */
  onDone: z.string().optional(),
  /** batch: the Batch API at half price; sync: direct chat completions, for small runs and other servers. */
  mode: z.enum(["batch", "sync"]).optional(),
  /** How requests are written and answers read (api/endpoints); chat when absent. */
  endpoint: z.enum(Object.keys(ENDPOINTS) as [EndpointName, ...EndpointName[]]).optional(),
  concurrency: z.number().int().positive().optional(),
  /** --service-tier flex (sync mode): billed at batch price where the response says flex served it. */
  serviceTier: z.enum(["flex"]).optional(),
  /** --no-canary: the first batch goes without a request sent directly first. */
  noCanary: z.boolean().optional(),
  rpm: z.number().positive().optional(),
  tpm: z.number().positive().optional(),
  /** --provider: the batch service (api/providers); OpenAI when absent. */
  provider: z.enum(Object.keys(PROVIDERS) as [ProviderName, ...ProviderName[]]).optional(),
  /** --completion-window, where the provider takes others than 24h. */
  completionWindow: z.string().optional(),
  /** --no-cache: nothing looked up in or kept in the cache of answers. */
  noCache: z.boolean().optional(),
  /** --cache-dir: the cache of answers' folder, when not the user's own (src/cache/store.ts). */
  cacheDir: z.string().optional(),
});

const Export = z.object({
  csvFile: z.string(),
  metricsFile: z.string().optional(),
  /** Sizes before this run appended, so an interrupted export is rolled back, never doubled. */
  csvOffset: z.number(),
  metricsOffset: z.number(),
  csvEnd: z.number().optional(),
  metricsEnd: z.number().optional(),
  firstIndex: z.number(),
  rows: z.number().optional(),
  done: z.boolean(),
});

export const ManifestSchema = z.object({
  /** 1: draws from faker's Mersenne Twister; 2: from a xoroshiro128+ (dataset/randomizer.ts). */
  version: z.union([z.literal(1), z.literal(2)]),
  id: z.string(),
  createdAt: z.string(),
  state: z.enum(["building", "running", "exporting", "done", "stopped", "failed", "dry-run"]),
  reason: z.string().optional(),
  config: Config,
  chunks: z.array(Chunk),
  batches: z.array(BatchRecord),
  /** Each CSV this run has exported to (its own, and any `export -p`), so none is ever doubled. */
  exports: z.array(Export).optional(),
  /** Sizes of the run folder's files as written (path → bytes), checked before they are used. */
  files: z.record(z.string(), z.number()).optional(),
  /** Their SHA-256 as written (path → hex), so a change that keeps the size is found too; absent in older runs. */
  sums: z.record(z.string(), z.string()).optional(),
  /** The first request, sent directly before any batch: what it cost, or why it was refused. */
  canary: z.object({ costUsd: z.number(), refused: z.string().optional() }).optional(),
  /** Requests sent directly before the batch (--pilot), and what they cost. */
  pilot: z.object({ requests: z.number(), valid: z.number(), costUsd: z.number() }).optional(),
  /** With stages: the samples kept after the last one, and those dropped, by stage and reason (as last exported). */
  stageCounts: z.object({ kept: z.number(), dropped: z.record(z.string(), z.number()) }).optional(),
  /** --dedup semantic: the samples' texts embedded, as batches of their own, and the vectors kept. */
  embeddings: z
    .object({
      model: z.string(),
      dimensions: z.number().int().positive(),
      /** The samples embedded, in the order their vectors are kept. */
      samples: z.number().int().nonnegative(),
      /** Of their ids in that order: an export of other samples embeds again. */
      idsSha256: z.string(),
      batches: z.array(BatchRecord),
      /** The vectors file, once every batch is collected (embeddings/vectors.bin). */
      vectorsFile: z.string().optional(),
      /** What embeddings made before for other samples or another model cost: still the run's spend. */
      earlierUsd: z.number().optional(),
    })
    .optional(),
  /** Optional fields the service refused once: this run sends them no more. */
  refusedFields: z.array(z.enum(["metadata", "expiry"])).optional(),
});

/** A run's config as its manifest holds it: a setting with a default may be absent (run/settings.ts). */
export type StoredConfig = z.infer<typeof Config>;
/** The settings with a default: never absent once resolved. */
type Defaulted = "mode" | "endpoint" | "provider" | "sampling" | "locale" | "concurrency";
/** A run's config as it is read: resolved (run/settings.ts), each setting with a default filled. */
export type RunConfig = Omit<StoredConfig, Defaulted> & Required<Pick<StoredConfig, Defaulted>>;
/** The manifest as it is read: its config resolved. */
export type Manifest = Omit<z.infer<typeof ManifestSchema>, "config"> & { config: RunConfig };
export type StoredManifest = z.infer<typeof ManifestSchema>;
export type BatchRecord = z.infer<typeof BatchRecord>;
export type Chunk = z.infer<typeof Chunk>;
export type StageConfig = z.infer<typeof StageConfig>;
export type Export = z.infer<typeof Export>;
export type Collected = z.infer<typeof Collected>;
