// synthai as a library: `import { generate, openRun, defineDataset } from "synthai"`. The same
// engine as the CLI (which only parses flags into these options): runs are made, resumed,
// cancelled and read through the run folder, with the same guarantees. Errors a user can act
// on are `UserError`s (message + hint); progress and messages go to `onLog`.
import { resolve } from "node:path";
import { exportArgs, exportFrom } from "./commands/export.ts";
import { generateArgs, generateFrom } from "./commands/generate.ts";
import { resumeArgs, resumeFrom } from "./commands/resume.ts";
import { libraryName, optionsOf, type NamedOptions } from "./commands/named-options.ts";
import { connectionArgs } from "./commands/shared.ts";
import { loadParams } from "./dataset/params.ts";
import { UserError, namedBy, type OptionNamer } from "./errors.ts";
import type { Log } from "./io/log.ts";
import { cancel as cancelRun } from "./pipeline/cancel.ts";
import {
  collectedSamples,
  datasetColumns,
  datasetRow,
  datasetTypes,
  eachValidSample,
  labelNamesOf,
} from "./pipeline/export.ts";
import { typedValue } from "./io/formats/index.ts";
import type { Progress } from "./pipeline/progress.ts";
import { exportDataset, stagedSamples, usesOutcomes } from "./pipeline/stages.ts";
import { runView } from "./pipeline/context.ts";
import type { SampleResult } from "./run/records.ts";
import { runDataset } from "./dataset/spec.ts";
import { findRunDir, loadManifest, type Manifest } from "./run/manifest.ts";
import { summarize, type RunSummary } from "./run/totals.ts";
import { writeReport } from "./views/report.ts";
import { statsOfRun, type RunStats } from "./views/stats.ts";

export { defineDataset, parseMarkers, parseStructured } from "./dataset/spec.ts";
export type { Dataset, Draw, Message, ParseResult, Stage, StageOptions } from "./dataset/spec.ts";
export { EXIT, UserError } from "./errors.ts";
export type { ExitCode } from "./errors.ts";
export type { RunSummary } from "./run/totals.ts";
export type { Progress } from "./pipeline/progress.ts";
export type { RunStats } from "./views/stats.ts";

/**
 * What a run is made of and how it runs: every flag of `synthai generate`, by its name as an
 * option (`maxTokens` for `--max-tokens`, `budgetUsd` for `--budget`, `prompts` for each
 * `--prompt`), numbers as numbers (see the README's flag table); derived from the CLI's own table.
 */
export type GenerateOptions = NamedOptions<typeof generateArgs> & {
  /** Every line the CLI would print to stderr (progress included). */
  onLog?: (line: string) => void;
  /**
   * Where the run stands, as data, each time it looks at its batches; the last event is the run
   * as it ended (`state` done or stopped; running when detached).
   */
  onProgress?: (progress: Progress) => void;
};

/** A run, as its folder holds it. */
export interface Run {
  id: string;
  dir: string;
  manifest: Manifest;
  summary: RunSummary;
  /** The rows its export writes (kept samples, every stage's fields, the labels), in sample order. */
  rows(): AsyncIterable<Record<string, unknown>>;
}

/** Runs a library call: a UserError from below names each option as `name` does, never a CLI flag. */
async function named<T>(name: OptionNamer, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof UserError ? namedBy(error, name) : error;
  }
}

const logOf = (options: { onLog?: ((line: string) => void) | undefined }): Log => options.onLog ?? (() => {});

/** Makes a run and drives it to its end (or submits it, with `detach`); an unknown option is refused by name. */
export async function generate(options: GenerateOptions = {}): Promise<Run> {
  return named(libraryName, async () => {
    // The options as given (numbers as numbers), checked by name: not turned into flags and parsed again.
    const given = optionsOf("generate", generateArgs, options, ["onLog", "onProgress"]);
    const { onLog, onProgress } = options;
    const manifest = await generateFrom(given, {
      log: logOf({ onLog }),
      ...(onProgress ? { onProgress } : {}),
      name: libraryName,
    });
    return openRun(manifest.id, { runsDir: options.runsDir });
  });
}

/**
 * Continues a run from whatever step it was at: every flag of `synthai resume` by name
 * (`budgetUsd`, `pollIntervalSeconds`, `keepRemote`, `onDone`, `maxDraws`, `topUp`, `detach`, …).
 */
export async function resume(
  runId: string,
  options: NamedOptions<typeof resumeArgs> & {
    onLog?: (line: string) => void;
    onProgress?: (progress: Progress) => void;
  } = {},
): Promise<Run> {
  return named(libraryName, async () => {
    const given = optionsOf("resume", resumeArgs, options, ["onLog", "onProgress"]);
    const { onLog, onProgress } = options;
    const runsDir = resolve(options.runsDir ?? "runs");
    await resumeFrom(given, await findRunDir(runsDir, runId), {
      log: logOf({ onLog }),
      ...(onProgress ? { onProgress } : {}),
      name: libraryName,
    });
    return openRun(runId, { runsDir });
  });
}

/** Cancels a run's batches in flight and keeps what they finished; `resume` continues it later. */
export async function cancel(
  runId: string,
  options: { runsDir?: string; apiKey?: string; baseURL?: string; onLog?: (line: string) => void } = {},
): Promise<Run> {
  return named(libraryName, async () => {
    optionsOf("cancel", connectionArgs, options, ["onLog"]);
    const runsDir = resolve(options.runsDir ?? "runs");
    await cancelRun(
      await findRunDir(runsDir, runId),
      { apiKey: options.apiKey, baseURL: options.baseURL },
      { log: logOf(options) },
    );
    return openRun(runId, { runsDir });
  });
}

/**
 * Writes a run's rows again, as `synthai export` does: every flag of it by name (`output`,
 * `format`, `hf`, `split`, `dedup`, `dedupThreshold`, `includeDropped`, …, and `runsDir`).
 */
export async function exportRun(
  runId: string,
  options: NamedOptions<typeof exportArgs> & { onLog?: (line: string) => void } = {},
): Promise<Run> {
  return exportNamed(runId, options, libraryName);
}

/** `exportRun` with its errors naming an option as `name` says: exportRun's own names, or push's. */
async function exportNamed(
  runId: string,
  options: NamedOptions<typeof exportArgs> & { onLog?: (line: string) => void },
  name: OptionNamer,
): Promise<Run> {
  return named(name, async () => {
    // The options as given, checked by name; an error names them as written here (`dedupThreshold`).
    const given = optionsOf("exportRun", exportArgs, options, ["onLog"]);
    const runsDir = resolve(options.runsDir ?? "runs");
    await exportFrom(given, await findRunDir(runsDir, runId), logOf(options), name);
    return openRun(runId, { runsDir });
  });
}

/** What `stats` and `report` take beside a run id, as their commands do: the folder of runs. */
const RUNS_DIR_ONLY = { "runs-dir": connectionArgs["runs-dir"] };

/** How diverse a finished run's texts are and how balanced its labels: what `synthai stats --json` prints. */
export async function stats(runId: string, options: { runsDir?: string } = {}): Promise<RunStats> {
  return named(libraryName, async () => {
    optionsOf("stats", RUNS_DIR_ONLY, options);
    const { dir, manifest } = await endedRun(runId, options);
    return statsOfRun(dir, manifest);
  });
}

/** Writes a run's report.html (as `synthai report` does) and gives its path. */
export async function report(runId: string, options: { runsDir?: string } = {}): Promise<string> {
  return named(libraryName, async () => {
    optionsOf("report", RUNS_DIR_ONLY, options);
    const dir = await findRunDir(resolve(options.runsDir ?? "runs"), runId);
    const manifest = await loadManifest(dir);
    const params = await loadParams(manifest.config.paramsFile).catch(() => undefined);
    return writeReport(dir, manifest, params);
  });
}

/** A run that has ended (done or stopped), or the one line that says to finish it first. */
async function endedRun(
  runId: string,
  options: { runsDir?: string },
): Promise<{ dir: string; manifest: Manifest }> {
  const dir = await findRunDir(resolve(options.runsDir ?? "runs"), runId);
  const manifest = await loadManifest(dir);
  mustHaveEnded(manifest);
  return { dir, manifest };
}

function mustHaveEnded(manifest: Manifest): void {
  if (manifest.state !== "done" && manifest.state !== "stopped")
    throw new UserError(
      `run ${manifest.id} is ${manifest.state}`,
      `finish it first: resume("${manifest.id}")`,
    );
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

/** push's options, each export's flag of the same meaning: its errors say `repo`, `token`, `dir`, as its caller wrote them. */
const PUSH_FLAGS = {
  repo: "push",
  token: "hf-token",
  "hub-url": "hub-url",
  private: "private",
  split: "split",
  license: "license",
  dir: "hf",
  "runs-dir": "runs-dir",
} as const;
const pushArgs = Object.fromEntries(Object.entries(PUSH_FLAGS).map(([own, flag]) => [own, exportArgs[flag]]));
const pushName: OptionNamer = (flag) => {
  const own = Object.entries(PUSH_FLAGS).find(([, its]) => flag === `--${its}`)?.[0];
  return libraryName(own ? `--${own}` : flag);
};

/** Sends a finished run's dataset to the Hugging Face Hub as one commit, as `synthai export <run> --push` does. */
export async function push(runId: string, options: PushOptions): Promise<Run> {
  // An unknown option is named as push's, not exportRun's.
  optionsOf("push", pushArgs, options as unknown as Record<string, unknown>, ["onLog"]);
  const { repo, token, hubUrl, dir, ...rest } = options;
  const exported = {
    ...rest,
    push: repo ?? "", // none is refused by name, as an empty one is
    ...(token !== undefined ? { hfToken: token } : {}),
    ...(hubUrl !== undefined ? { hubUrl } : {}),
    ...(dir !== undefined ? { hf: dir } : {}),
  };
  return exportNamed(runId, exported, pushName);
}

/** A run's folder, to read: its manifest, its totals, its rows. */
export async function openRun(runId: string, options: { runsDir?: string } = {}): Promise<Run> {
  return named(libraryName, async () => {
    optionsOf("openRun", RUNS_DIR_ONLY, options);
    const dir = await findRunDir(resolve(options.runsDir ?? "runs"), runId);
    const manifest = await loadManifest(dir);
    return {
      id: manifest.id,
      dir,
      manifest,
      summary: summarize(manifest),
      rows: () => rowsOf(dir, manifest),
    };
  });
}

async function* rowsOf(dir: string, manifest: Manifest): AsyncGenerator<Record<string, unknown>> {
  mustHaveEnded(manifest);
  const dataset = await runDataset(manifest.config, manifest.id);
  const exported = exportDataset(dataset);
  const labels = await labelNamesOf(dir, manifest);
  const columns = datasetColumns(exported.fields, labels);
  // Each value of its column's type, as JSONL and Parquet hold it: a Score is a number, not "4".
  const types = datasetTypes(exported, labels);
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
      yield Object.fromEntries(columns.map((c, i) => [c, typedValue(row[i], types[i])]));
    }
    if (failure) throw failure;
    if (done) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}
