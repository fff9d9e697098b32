import { readFileSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { checkRunsDir } from "../io/disk.ts";
import { ENDPOINTS, type EndpointName } from "../api/endpoints/index.ts";
import { EFFORTS } from "../api/models.ts";
import { FORMATS, type FormatName } from "../io/formats/index.ts";
import { PROVIDERS, type ProviderName } from "../api/providers/index.ts";

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
});

const Chunk = z.object({
  index: z.number().int().nonnegative(),
  firstSample: z.number().int().nonnegative(),
  samples: z.number().int().positive(),
  drawsFile: z.string(),
});

const Price = z.object({ input: z.number(), output: z.number(), cachedInput: z.number().optional() });

/** A stage after the first, as the run resolved it: its prompt file (if not the spec's), model and price. */
const StageConfig = z.object({
  promptFile: z.string().optional(),
  /** Which of its file's stages: a conversation's turn, or one model of several (1-based). */
  turn: z.number().int().positive().optional(),
  /** The stage it is built after, when not the one before it (a model beside another runs beside it). */
  after: z.number().int().positive().optional(),
  datasetSha256: z.string().optional(),
  model: z.string(),
  maxTokens: z.number().int().positive(),
  reasoningEffort: z.enum(EFFORTS).optional(),
  price: Price,
});

const Config = z.object({
  model: z.string(),
  samples: z.number().int().positive(),
  batches: z.number().int().positive(),
  output: z.string(),
  paramsFile: z.string(),
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
  /** --fill: draw more samples until `target` are kept after every stage, at most `maxDraws` in all. */
  fill: z.object({ target: z.number().int().positive(), maxDraws: z.number().int().positive() }).optional(),
  /** Stages 2, 3, …: each one more round of batches over the samples still kept. */
  stages: z.array(StageConfig).optional(),
  /** --format: how the dataset's rows are written (io/formats); by the output's extension when absent. */
  format: z.enum(Object.keys(FORMATS) as [FormatName, ...FormatName[]]).optional(),
  /** The reasoning effort asked of a model that reasons. */
  reasoningEffort: z.enum(EFFORTS).optional(),
  delimiter: z.string().optional(),
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

export const Manifest = z.object({
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
  /** The first request, sent directly before any batch: what it cost, or why it was refused. */
  canary: z.object({ costUsd: z.number(), refused: z.string().optional() }).optional(),
  /** Requests sent directly before the batch (--pilot), and what they cost. */
  pilot: z.object({ requests: z.number(), valid: z.number(), costUsd: z.number() }).optional(),
  /** With stages: the samples kept after the last one, and those dropped, by stage and reason (as last exported). */
  stageCounts: z.object({ kept: z.number(), dropped: z.record(z.string(), z.number()) }).optional(),
  /** Optional fields the service refused once: this run sends them no more. */
  refusedFields: z.array(z.enum(["metadata", "expiry"])).optional(),
});

export type Manifest = z.infer<typeof Manifest>;
export type RunConfig = z.infer<typeof Config>;
export type BatchRecord = z.infer<typeof BatchRecord>;
export type Chunk = z.infer<typeof Chunk>;
export type StageConfig = z.infer<typeof StageConfig>;
export type Export = z.infer<typeof Export>;
export type Collected = z.infer<typeof Collected>;

/** The stage a batch belongs to: 1, the generation, unless it says a later one. */
export function stageOf(record: Pick<BatchRecord, "stage">): number {
  return record.stage ?? 1;
}

/** What a batch with nothing in it yet (or nothing to ask) has collected. */
export function emptyCollected(): Collected {
  return {
    ok: 0,
    malformed: 0,
    failed: 0,
    truncated: 0,
    reasoning: 0,
    missing: 0,
    retry: 0,
    givenUp: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costUsd: 0,
  };
}

export const MANIFEST = "manifest.json";

export function loadManifest(runDir: string): Manifest {
  let text: string;
  try {
    text = readFileSync(join(runDir, MANIFEST), "utf8");
  } catch {
    throw new UserError(`run folder ${runDir} has no manifest.json`, "run `synthai status` to list runs");
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${join(runDir, MANIFEST)} is not valid JSON (${(error as Error).message})`,
      "restore it from a backup or start a new run; do not edit manifests by hand",
    );
  }
  const parsed = Manifest.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(
      `${join(runDir, MANIFEST)} is corrupt at ${issue.path.join(".") || "top level"}: ${issue.message}`,
      "restore it or start a new run; do not edit manifests by hand",
    );
  }
  return parsed.data;
}

/** A sortable run id: UTC time plus a short random suffix. */
export function newRunId(now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const suffix = Math.floor(random() * 36 ** 4)
    .toString(36)
    .padStart(4, "0");
  return `${stamp}-${suffix}`;
}

export async function findRunDir(runsDir: string, runId: string): Promise<string> {
  checkRunsDir(runsDir);
  const ids = await listRunIds(runsDir);
  if (ids.includes(runId)) return join(runsDir, runId);
  const matches = ids.filter((id) => id.startsWith(runId) || id.endsWith(runId));
  if (matches.length === 1) return join(runsDir, matches[0]!);
  if (matches.length > 1)
    throw new UserError(
      `run id "${runId}" is ambiguous (${matches.length} runs match)`,
      "give more of the id",
    );
  throw new UserError(
    `no run "${runId}" in ${runsDir}`,
    "run `synthai status` to list runs, or pass --runs-dir",
  );
}

export async function listRunIds(runsDir: string): Promise<string[]> {
  try {
    const entries = await readdir(runsDir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/**
 * The collected batches with answers on disk (a stage with nothing to ask has none), in the order asked: chunk,
 * stage, attempt.
 */
export function collectedRecords(manifest: Manifest): BatchRecord[] {
  return manifest.batches
    .filter((b) => b.step === "collected" && b.requests > 0)
    .sort((a, b) => a.chunk - b.chunk || stageOf(a) - stageOf(b) || a.attempt - b.attempt);
}

/**
 * Test-only: SYNTHAI_CRASH_AT=<point> makes the process die there, as `kill -9` would;
 * `<point>@s2` only in a batch of stage 2.
 */
export function crashPoint(point: string, stage?: number): void {
  const at = process.env.SYNTHAI_CRASH_AT;
  if (at === point || (stage !== undefined && at === `${point}@s${stage}`)) {
    process.kill(process.pid, "SIGKILL");
  }
}
