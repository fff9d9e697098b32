import { resolve } from "node:path";
import { metaOf } from "./index.ts";
import { stderrLog, type Log } from "../io/log.ts";
import type { Progress } from "../pipeline/progress.ts";
import type { Manifest } from "../run/manifest.ts";
import { BUILTIN_PARAMS } from "../dataset/builtin/params-file.ts";
import { CHOICES, CSV_SAFE_HELP, DEFAULTS, inputOptions, runConfigOf, type RunOptions } from "./options.ts";
import { optionsOfFlags } from "./named-options.ts";
import { cliName, type OptionNamer } from "../errors.ts";
import {
  argsOf,
  command,
  connection,
  connectionArgs,
  datasetArgs,
  exitWhenStopped,
  inputArgs,
  providerArg,
  setActiveRun,
  waitArgs,
} from "./shared.ts";

const generateCommand = command({
  meta: metaOf("generate"),
  args: {
    ...connectionArgs,
    ...datasetArgs,
    ...inputArgs,
    samples: {
      type: "string",
      alias: "n",
      // No default here: with --input, every row is a sample (options.ts applies 10 otherwise).
      description:
        `Number of samples to generate (Default: ${DEFAULTS.samples}, or every ` +
        `row of --input times --per-row)`,
      valueHint: "n",
    },
    batches: {
      type: "string",
      alias: "b",
      description:
        `Number of Batch-API jobs to split into (more if a file would ` +
        `pass 50,000 requests or 200 MB) (Default: ${DEFAULTS.batches})`,
      valueHint: "n",
    },
    output: {
      type: "string",
      alias: "p",
      description:
        `Output file (CSV, JSONL or Parquet by its extension); an existing one ` +
        `with the same columns is appended to (Default: ${DEFAULTS.output}; dataset.jsonl for chat and pairs)`,
      valueHint: "path",
    },
    budget: {
      type: "string",
      alias: "l",
      description: "Budget limit in USD; never exceeded, even in the worst case",
      valueHint: "usd",
    },
    metrics: {
      type: "boolean",
      alias: "m",
      description: "Write <output>_metrics.csv (tokens, cost, time, sample, batch)",
      default: true,
      negativeDescription: "Do not write the metrics CSV",
    },
    model: {
      type: "string",
      description:
        "Model (`synthai models` lists OpenAI's; default gpt-6-luna there, else the service's own name)",
    },
    endpoint: {
      type: "enum",
      options: CHOICES.endpoint.options,
      description:
        `chat (/v1/chat/completions) or responses (/v1/responses), ` +
        `in batch and sync mode (Default: ${DEFAULTS.endpoint})`,
    },
    format: {
      type: "enum",
      options: CHOICES.format.options,
      description:
        "csv, jsonl, parquet, chat, preference (TRL) or openai-preference (Default: the output's " +
        "extension, else csv); metrics go beside in the same format (chat, preference: JSONL)",
    },
    "service-tier": {
      type: "enum",
      options: CHOICES["service-tier"].options,
      description:
        "--mode sync: flex asks for the flex tier (batch price, slower, may be busy: retried with backoff)",
    },
    "input-sample": {
      description:
        `--input with -n below its rows: first (the first rows) or random (a ` +
        `seeded sample of them, in file order) (Default: ${DEFAULTS.inputSample})`,
      type: "enum",
      options: CHOICES["input-sample"].options,
    },
    canary: {
      type: "boolean",
      default: true,
      description:
        "Send the first request directly before the first batch (at most a cent), " +
        "so a request the service refuses stops the run before a batch is sent",
      negativeDescription: "Submit the first batch without a request sent directly first",
    },
    cache: {
      type: "boolean",
      default: true,
      description:
        "Look every request up in the cache of answers first (a hit is never sent and costs nothing), " +
        "and keep the answers that finished for later runs",
      negativeDescription: "Send every request, and keep nothing in the cache of answers",
    },
    "cache-dir": {
      type: "string",
      description:
        "The cache of answers' folder (Default: $XDG_CACHE_HOME/synthai/answers, else ~/.cache/synthai/answers)",
      valueHint: "dir",
    },
    "reasoning-effort": {
      type: "enum",
      options: CHOICES["reasoning-effort"].options,
      description:
        "none, minimal, low, medium, high, xhigh or max, for a model that reasons (Default: the cheapest it takes)",
    },
    seed: {
      type: "string",
      description: "Seed of the random draws (Default: random, recorded in the manifest)",
    },
    "max-tokens": {
      type: "string",
      description: `max_completion_tokens per answer (Default: ${DEFAULTS.maxTokens})`,
    },
    temperature: { type: "string", description: "Sampling temperature" },
    "max-attempts": {
      type: "string",
      description: `Tries per sample before it is given up (Default: ${DEFAULTS.maxAttempts})`,
    },
    delimiter: {
      type: "string",
      description: "CSV delimiter for a new file (an existing file keeps its own)",
      valueHint: "char",
    },
    "csv-safe": { type: "boolean", description: CSV_SAFE_HELP },
    "input-price": {
      type: "string",
      description: "Batch price of input tokens, USD per 1M (overrides the table)",
    },
    "cached-input-price": {
      type: "string",
      description:
        "Batch price of cached input tokens, USD per 1M (Default: the catalogue's, or --input-price)",
    },
    "output-price": {
      type: "string",
      description: "Batch price of output tokens, USD per 1M (overrides the table)",
    },
    "list-input-price": {
      type: "string",
      description:
        "The service's list price of input tokens, USD per 1M; a batch pays the provider's share of it",
    },
    "list-output-price": {
      type: "string",
      description:
        "The service's list price of output tokens, USD per 1M; a batch pays the provider's share of it",
    },
    ...providerArg,
    "completion-window": {
      type: "string",
      description: "How long a batch may take, where the provider takes others than 24h (e.g. 48h, 7d)",
      valueHint: "24h",
    },
    mode: {
      type: "enum",
      options: CHOICES.mode.options,
      description:
        `batch (the Batch API, half price) or sync (direct chat completions: ` +
        `small runs, servers without a Batch API) (Default: ${DEFAULTS.mode})`,
    },
    concurrency: {
      type: "string",
      description: `--mode sync: requests at once (Default: ${DEFAULTS.concurrency})`,
    },
    rpm: { type: "string", description: "--mode sync: at most this many requests a minute" },
    tpm: {
      type: "string",
      description: "--mode sync: at most this many tokens (prompt + max tokens) a minute",
    },
    "max-in-flight": { type: "string", description: "At most this many batches submitted at once" },
    "max-enqueued-tokens": {
      type: "string",
      description: "At most this many prompt tokens enqueued at once (your organisation's batch queue limit)",
    },
    pilot: {
      type: "string",
      description:
        "First send this many requests directly, show them and the projected cost, and ask before the batch",
    },
    yes: {
      type: "boolean",
      alias: "y",
      description: "Go on without asking: after --pilot, and past the check that the disk can hold the build",
    },
    fill: {
      type: "boolean",
      description:
        "-n counts samples kept after every stage: draw more (never an old draw again) until there are that many",
    },
    "max-draws": {
      type: "string",
      description: `With --fill: draw at most this many samples in all (Default: ${DEFAULTS.drawsPerSample} × -n)`,
      valueHint: "n",
    },
    "dry-run": {
      type: "boolean",
      description: "Build the request files and print the cost estimate; submit nothing",
    },
    ...waitArgs,
  },
  async run({ args, rawArgs }) {
    const options = optionsOfFlags({ ...args }, rawArgs) as RunOptions;
    const manifest = await generateFrom(options, { log: stderrLog, onRun: setActiveRun });
    if (args.detach) console.log(manifest.id);
    exitWhenStopped(manifest);
  },
});
export default generateCommand;

/** Every flag of `synthai generate`: the CLI's, and by their names the library's `generate` options. */
export const generateArgs = argsOf(generateCommand);

/** What a run made from options tells its caller, besides what it returns. */
export interface GenerateHooks {
  log: Log;
  onRun?: (id: string) => void;
  onProgress?: (progress: Progress) => void;
  /** How an error names an option: the CLI's flag by default; the library's option name. */
  name?: OptionNamer;
}

/** A new run's options (the CLI's parsed flags, the library's values) to a run driven to its end (or detached, or dry). */
export async function generateFrom(options: RunOptions, hooks: GenerateHooks): Promise<Manifest> {
  // $OPENAI_BASE_URL is OpenAI's: another provider's key never goes to it.
  const envURL =
    (options.provider ?? DEFAULTS.provider) === "openai" ? process.env.OPENAI_BASE_URL : undefined;
  const { name = cliName } = hooks;
  const config = runConfigOf({ ...options, baseURL: options.baseURL ?? envURL }, undefined, new Date(), name);
  if (!options.params && config.paramsFile === BUILTIN_PARAMS)
    hooks.log(
      "no params.json here: the built-in dataset's own is used (customer-service calls); " +
        "`synthai init <dir>` starts a dataset of yours",
    );
  // The pipeline loads when a run is made, not for --help.
  const { generate } = await import("../pipeline/generate.ts");
  return generate(
    config,
    resolve(options.runsDir ?? DEFAULTS.runsDir),
    connection({ "api-key": options.apiKey, "base-url": options.baseURL, provider: options.provider }, name),
    {
      log: hooks.log,
      dryRun: Boolean(options.dryRun),
      yes: Boolean(options.yes),
      ...(options.pilot ? { pilot: options.pilot } : {}),
      detach: Boolean(options.detach),
      ...(hooks.onRun ? { onRun: hooks.onRun } : {}),
      ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
      ...(options.input ? { input: inputOptions(options, name) } : {}),
    },
  );
}
