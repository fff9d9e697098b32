// synthai as a library: `import { generate, openRun, defineDataset } from "synthai"`. The same
// engine as the CLI (which only parses flags into these options): runs are made, resumed,
// cancelled and read through the run folder, with the same guarantees. Errors a user can act
// on are `UserError`s (message + hint); progress and messages go to `onLog`.
import { join, resolve } from "node:path";
import { hubLicense } from "./api/hub-licenses.ts";
import { parseSplits } from "./pipeline/export-hf.ts";
import { reexport } from "./pipeline/finish.ts";
import { hubPushOf } from "./pipeline/hub-push.ts";
import { statsMarkdown, statsOfRun } from "./views/stats.ts";
import { toRunConfig, type GenerateArgs } from "./commands/options.ts";
import { UserError } from "./errors.ts";
import type { FormatName } from "./io/formats/index.ts";
import type { Log } from "./io/log.ts";
import { cancel as cancelRun } from "./pipeline/cancel.ts";
import { collectedSamples, eachValidSample, datasetRow, labelNamesOf } from "./pipeline/export.ts";
import { generate as generateRun } from "./pipeline/generate.ts";
import type { Progress } from "./pipeline/progress.ts";
import type { ConfigOverrides } from "./run/config.ts";
import { resume as resumeRun } from "./pipeline/resume.ts";
import { exportDataset, stagedSamples, usesOutcomes } from "./pipeline/stages.ts";
import { runView } from "./pipeline/context.ts";
import type { SampleResult } from "./run/records.ts";
import { runDataset } from "./dataset/spec.ts";
import { findRunDir, loadManifest, type Manifest } from "./run/manifest.ts";
import { summarize, type RunSummary } from "./run/totals.ts";

export { defineDataset, parseMarkers, parseStructured } from "./dataset/spec.ts";
export type { Dataset, Draw, Message, ParseResult, Stage, StageOptions } from "./dataset/spec.ts";
export { UserError } from "./errors.ts";
export type { RunSummary } from "./run/totals.ts";
export type { Progress } from "./pipeline/progress.ts";

/** What a run is made of and how it runs; each is the CLI flag of the same name (see the README). */
export interface GenerateOptions {
  /** Prompt files: the first writes the samples, each further one is a stage (a judge, a rewrite, a conversation). */
  prompts?: string[];
  /** A spec module instead of prompt files. */
  spec?: string;
  params?: string;
  input?: string;
  samples?: number;
  fill?: boolean;
  maxDraws?: number;
  batches?: number;
  output?: string;
  format?: FormatName;
  model?: string;
  maxTokens?: number;
  budgetUsd?: number;
  seed?: number;
  provider?: string;
  baseURL?: string;
  apiKey?: string;
  runsDir?: string;
  pollIntervalSeconds?: number;
  /** --csv-safe: CSV cells a spreadsheet would read as a formula get a ' first. */
  csvSafe?: boolean;
  /** Submit and return; `resume` collects later. */
  detach?: boolean;
  dryRun?: boolean;
  /** Every line the CLI would print to stderr (progress included). */
  onLog?: (line: string) => void;
  /** Where the run stands, as data, each time it looks at its batches. */
  onProgress?: (progress: Progress) => void;
}

/** A run, as its folder holds it. */
export interface Run {
  id: string;
  dir: string;
  manifest: Manifest;
  summary: RunSummary;
  /** The rows its export writes (kept samples, every stage's fields, the labels), in sample order. */
  rows(): AsyncIterable<Record<string, unknown>>;
}

const logOf = (options: { onLog?: ((line: string) => void) | undefined }): Log => options.onLog ?? (() => {});

/** Makes a run and drives it to its end (or submits it, with `detach`). */
export async function generate(options: GenerateOptions = {}): Promise<Run> {
  const text = (value: number | undefined) => (value === undefined ? undefined : String(value));
  const args: GenerateArgs = Object.fromEntries(
    Object.entries({
      spec: options.spec,
      params: options.params,
      input: options.input,
      samples: text(options.samples),
      fill: options.fill,
      "max-draws": text(options.maxDraws),
      batches: text(options.batches),
      output: options.output,
      format: options.format,
      model: options.model,
      "max-tokens": text(options.maxTokens),
      budget: text(options.budgetUsd),
      seed: text(options.seed),
      provider: options.provider,
      "base-url": options.baseURL,
      "poll-interval": text(options.pollIntervalSeconds),
      "csv-safe": options.csvSafe,
    }).filter(([, v]) => v !== undefined),
  );
  const prompts = (options.prompts ?? []).flatMap((p) => ["--prompt", p]);
  if (prompts.length) args.prompt = options.prompts![0]!;
  const config = toRunConfig(args, undefined, new Date(), prompts);
  const runsDir = resolve(options.runsDir ?? "runs");
  const manifest = await generateRun(
    config,
    runsDir,
    { apiKey: options.apiKey, baseURL: config.baseURL },
    {
      log: logOf(options),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.detach ? { detach: true } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.input
        ? { input: { path: resolve(options.input), perRow: 1, samplesGiven: options.samples !== undefined } }
        : {}),
    },
  );
  return openRun(manifest.id, { runsDir });
}

/** Continues a run from whatever step it was at. */
export async function resume(
  runId: string,
  options: ConfigOverrides & {
    runsDir?: string;
    apiKey?: string;
    baseURL?: string;
    onLog?: (line: string) => void;
    onProgress?: (progress: Progress) => void;
  } = {},
): Promise<Run> {
  const { runsDir: dir, apiKey, baseURL, onLog, onProgress, ...overrides } = options;
  const runsDir = resolve(dir ?? "runs");
  await resumeRun(
    await findRunDir(runsDir, runId),
    { apiKey, baseURL },
    { log: logOf({ onLog }), ...(onProgress ? { onProgress } : {}), overrides },
  );
  return openRun(runId, { runsDir });
}

/** Cancels a run's batches in flight and keeps what they finished; `resume` continues it later. */
export async function cancel(
  runId: string,
  options: { runsDir?: string; apiKey?: string; baseURL?: string; onLog?: (line: string) => void } = {},
): Promise<Run> {
  const runsDir = resolve(options.runsDir ?? "runs");
  await cancelRun(
    await findRunDir(runsDir, runId),
    { apiKey: options.apiKey, baseURL: options.baseURL },
    { log: logOf(options) },
  );
  return openRun(runId, { runsDir });
}

/** What `push` sends where; each is `synthai export --push`'s flag of the same name. */
export interface PushOptions {
  /** `namespace/name` of the dataset repository (made when missing). */
  repo: string;
  /** Default: $HF_TOKEN. Never written anywhere. */
  token?: string;
  /** A mirror or an enterprise Hub (default: $HF_ENDPOINT, else huggingface.co). */
  hubUrl?: string;
  private?: boolean;
  /** `train=0.9,test=0.1` (default: all in train). */
  split?: string;
  /** The card's license, a Hub identifier; none is written unless given. */
  license?: string;
  /** The Hugging Face folder written and pushed (default: the run folder's `hf/`). */
  dir?: string;
  runsDir?: string;
  onLog?: (line: string) => void;
}

/** Sends a finished run's dataset to the Hugging Face Hub as one commit, as `synthai export <run> --push` does. */
export async function push(runId: string, options: PushOptions): Promise<Run> {
  const runsDir = resolve(options.runsDir ?? "runs");
  const hubPush = hubPushOf(options);
  const runDir = await findRunDir(runsDir, runId);
  await reexport(runDir, {
    log: logOf(options),
    hf: {
      dir: resolve(options.dir ?? join(runDir, "hf")),
      splits: parseSplits(options.split),
      license: hubLicense(options.license),
      describe: async (run) => statsMarkdown(await statsOfRun(run.dir, run.manifest)),
    },
    push: hubPush,
  });
  return openRun(runId, { runsDir });
}

/** A run's folder, to read: its manifest, its totals, its rows. */
export async function openRun(runId: string, options: { runsDir?: string } = {}): Promise<Run> {
  const dir = await findRunDir(resolve(options.runsDir ?? "runs"), runId);
  const manifest = await loadManifest(dir);
  return {
    id: manifest.id,
    dir,
    manifest,
    summary: summarize(manifest),
    rows: () => rowsOf(dir, manifest),
  };
}

async function* rowsOf(dir: string, manifest: Manifest): AsyncGenerator<Record<string, unknown>> {
  if (manifest.state !== "done" && manifest.state !== "stopped")
    throw new UserError(
      `run ${manifest.id} is ${manifest.state}`,
      `finish it first: resume("${manifest.id}")`,
    );
  const dataset = await runDataset(manifest.config, manifest.id);
  const exported = exportDataset(dataset);
  const labels = await labelNamesOf(dir, manifest);
  const columns = ["index", ...exported.fields, ...labels, "sample_id"];
  // The feed pushes a chunk's samples at a time; the reader takes them as they come.
  const waiting: SampleResult[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: unknown;
  const feed = usesOutcomes(manifest.config, dataset)
    ? stagedSamples(runView(dir, manifest, dataset), { kept: 0, dropped: {} })
    : collectedSamples(dir, manifest);
  eachValidSample(manifest, feed, (s) => {
    waiting.push(s);
    wake?.();
  })
    .catch((error) => (failure = error))
    .finally(() => {
      done = true;
      wake?.();
    });
  for (let index = 0; ;) {
    while (waiting.length) {
      const row = datasetRow(waiting.shift()!, index++, exported.fields, labels);
      yield Object.fromEntries(columns.map((c, i) => [c, row[i]]));
    }
    if (failure) throw failure;
    if (done) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}
