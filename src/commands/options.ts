import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../errors.ts";
import { priceFor } from "../api/pricing.ts";
import type { InputOptions } from "../pipeline/generate.ts";
import { ENDPOINTS, checkLimits, type EndpointName } from "../api/endpoints/index.ts";
import { FORMAT_NAMES, type FormatName } from "../io/formats/names.ts";
import type { Dedup } from "../pipeline/export.ts";
import { NEAR_SIMILARITY, type DedupMode } from "../pipeline/dedup.ts";
import { DEFAULT_EMBEDDING_MODEL, SEMANTIC_SIMILARITY, embeddingModel } from "../api/embeddings.ts";
import {
  PROVIDERS,
  checkServedModel,
  providerFor,
  windowHours,
  type Provider,
  type ProviderName,
} from "../api/providers/index.ts";
import {
  DEFAULT_MODEL,
  EFFORTS,
  checkRequestShape,
  cheapestEffort,
  modelInfo,
  type Effort,
} from "../api/models.ts";
import { SAMPLINGS, type Sampling } from "../dataset/sampling.ts";
import { BUILTIN_PARAMS } from "../dataset/builtin/params-file.ts";
import type { RunConfig, StoredConfig } from "../run/manifest.ts";
import { RUN_DEFAULTS, resolve as resolveConfig } from "../run/settings.ts";
import { checkMaxDraws, modelAndVendor, type ConfigOverrides } from "../run/config.ts";

/** citty hands every flag over as a string or boolean; this turns them into a checked config. */
export interface GenerateArgs {
  samples?: string;
  fill?: boolean;
  "max-draws"?: string;
  batches?: string;
  output?: string;
  params?: string;
  spec?: string;
  budget?: string;
  metrics?: boolean;
  model?: string;
  seed?: string;
  "poll-interval"?: string;
  "max-tokens"?: string;
  temperature?: string;
  "max-attempts"?: string;
  delimiter?: string;
  "csv-safe"?: boolean;
  "input-price"?: string;
  "output-price"?: string;
  "cached-input-price"?: string;
  "list-input-price"?: string;
  "list-output-price"?: string;
  provider?: string;
  "completion-window"?: string;
  "reasoning-effort"?: string;
  canary?: boolean;
  cache?: boolean;
  "cache-dir"?: string;
  endpoint?: string;
  prompt?: string;
  input?: string;
  "per-row"?: string;
  "keep-columns"?: string;
  "service-tier"?: string;
  format?: string;
  "base-url"?: string;
  "keep-remote"?: boolean;
  "max-in-flight"?: string;
  "max-enqueued-tokens"?: string;
  "on-done"?: string;
  locale?: string;
  sampling?: string;
  mode?: string;
  concurrency?: string;
  rpm?: string;
  tpm?: string;
}

/**
 * Every default the commands show and apply: the run's settings' (run/settings.ts resolves a run's
 * config with them) and the command line's own. The flags declare none (a value absent from the
 * command line is undefined, so resume can tell it from one given).
 */
export const DEFAULTS = {
  ...RUN_DEFAULTS,
  output: "dataset.csv",
  params: "params.json",
  runsDir: "runs",
  inputSample: "first",
  perRow: 1,
  /** --fill's --max-draws: this many times -n. */
  drawsPerSample: 5,
  /** --dedup-threshold, by mode: an estimated Jaccard similarity (near), a cosine (semantic). */
  dedupThreshold: { near: NEAR_SIMILARITY, semantic: SEMANTIC_SIMILARITY },
  embeddingModel: DEFAULT_EMBEDDING_MODEL,
} as const;

/** The flags that take one of a list: citty enums (help lists them, a wrong one is refused) and `choice`. */
export const CHOICES = {
  mode: { options: ["batch", "sync"], hint: "batch: the Batch API at half price; sync: direct requests" },
  endpoint: { options: Object.keys(ENDPOINTS), hint: "chat: /v1/chat/completions; responses: /v1/responses" },
  format: { options: [...FORMAT_NAMES], hint: "or leave it out: the output's extension picks it" },
  provider: {
    options: Object.keys(PROVIDERS),
    hint: "`synthai providers` lists them with what each does differently",
  },
  "reasoning-effort": { options: [...EFFORTS], hint: "none is the cheapest, where the model takes it" },
  sampling: { options: [...SAMPLINGS], hint: "random draws with replacement, as the seed did" },
  "service-tier": { options: ["flex"], hint: "flex: batch price, no 24-hour window, for --mode sync" },
  "input-sample": { options: ["first", "random"], hint: "random: a seeded sample of the rows" },
  dedup: {
    options: ["exact", "near", "semantic"],
    hint: "exact drops repeated fields; near also texts nearly the same; semantic also texts that mean the same",
  },
} satisfies Record<string, { options: string[]; hint: string }>;

/** --csv-safe's help, for generate and export. */
export const CSV_SAFE_HELP =
  "Put a ' before CSV cells that start with = + - @ (a spreadsheet would run them as formulas); " +
  "by default they are written as they are, and counted";

/**
 * How an error names an option, from the CLI's flag (`-n/--samples`): the CLI says the flag, the
 * library the option's name as its caller wrote it (`samples`).
 */
export type OptionNamer = (flag: string) => string;
export const cliName: OptionNamer = (flag) => flag;

/** A value of a flag that takes one of a list, or the one line that lists them. */
export function choice<T extends string>(
  flag: keyof typeof CHOICES,
  value: string,
  name: OptionNamer = cliName,
): T {
  const { options } = CHOICES[flag];
  if (!(options as string[]).includes(value)) throw notOneOf(flag, value, options, name);
  return value as T;
}

/** The one line for a value not in its flag's list, with the flag's hint where CHOICES has one. */
export function notOneOf(
  flag: string,
  value: string,
  options: string[],
  name: OptionNamer = cliName,
): UserError {
  const hint = CHOICES[flag as keyof typeof CHOICES]?.hint ?? "`synthai --help` lists the flags";
  return new UserError(`${name(`--${flag}`)} must be one of ${options.join(", ")}, got "${value}"`, hint);
}

export function number(
  value: string | undefined,
  flag: string,
  check: { integer?: boolean; min?: number; max?: number; positive?: boolean } = {},
): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  const kind = check.integer ? "a whole number" : "a number";
  // A flag's example is a command line's (`-n 10`), an option's an object's (`samples: 10`).
  const example = flag.startsWith("-") ? flag.split("/")[0] : `${flag}:`;
  if (!Number.isFinite(n) || (check.integer && !Number.isInteger(n)))
    throw new UserError(`${flag} must be ${kind}, got "${value}"`, `for example ${example} 10`);
  if (check.positive && n <= 0)
    throw new UserError(`${flag} must be greater than 0, got ${value}`, `for example ${example} 10`);
  if (check.min !== undefined && n < check.min)
    throw new UserError(
      `${flag} must be at least ${check.min}, got ${value}`,
      `for example ${example} ${check.min}`,
    );
  if (check.max !== undefined && n > check.max)
    throw new UserError(
      `${flag} must be at most ${check.max}, got ${value}`,
      `for example ${example} ${check.max}`,
    );
  return n;
}

/** An API base URL, checked before it is used: http(s), a host, a port that can be one. */
export function baseUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const hint = "give the server's address with its scheme, e.g. --base-url http://localhost:8000/v1";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`--base-url "${value}" is not a URL`, hint);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UserError(`--base-url "${value}" does not start with http:// or https://`, hint);
  if (!url.hostname) throw new UserError(`--base-url "${value}" names no host`, hint);
  if (url.port === "0")
    throw new UserError(`--base-url "${value}" has port 0`, "give a port from 1 to 65535");
  return value;
}

/** The price flags given (USD per 1M tokens), each checked; those left out are not in it. */
function pricesGiven(args: GenerateArgs, num: typeof number): NonNullable<RunConfig["priceGiven"]> {
  const given = {
    input: num(args["input-price"], "--input-price", { min: 0 }),
    output: num(args["output-price"], "--output-price", { min: 0 }),
    cachedInput: num(args["cached-input-price"], "--cached-input-price", { min: 0 }),
    listInput: num(args["list-input-price"], "--list-input-price", { min: 0 }),
    listOutput: num(args["list-output-price"], "--list-output-price", { min: 0 }),
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}

/** A run's seed when none is given: random, and recorded in the manifest. */
const randomSeed = () => Math.floor(Math.random() * 2 ** 31);

export function toRunConfig(
  args: GenerateArgs,
  seedFallback: () => number = randomSeed,
  today = new Date(),
  rawArgs: string[] = [],
  name: OptionNamer = cliName,
): RunConfig {
  const config = givenConfig(args, seedFallback, today, rawArgs, name);
  return resolveConfig(RUN_DEFAULTS, {}, config);
}

/** The config the flags give (a setting left out is the default's, filled by resolveConfig), checked. */
function givenConfig(
  args: GenerateArgs,
  seedFallback: () => number,
  today: Date,
  rawArgs: string[],
  name: OptionNamer,
): StoredConfig {
  const num: typeof number = (value, flag, check) => number(value, name(flag), check);
  const { samples, batches } = sampleCounts(args, num, name);
  const providerName = choice<ProviderName>("provider", args.provider || DEFAULTS.provider, name);
  const provider = providerFor(providerName);
  checkModelGiven(args, providerName, provider);
  const model = args.model || DEFAULT_MODEL;
  const effort = args["reasoning-effort"]
    ? choice<Effort>("reasoning-effort", args["reasoning-effort"], name)
    : undefined;
  const delimiter = delimiterOf(args);
  const temperature = num(args.temperature, "--temperature", { min: 0 });
  const priceGiven = pricesGiven(args, num);
  const budgetUsd = num(args.budget, "-l/--budget", { positive: true });
  const mode = choice<"batch" | "sync">("mode", args.mode || DEFAULTS.mode, name);
  if (mode === "batch") checkProviderTakes(provider, model, temperature);
  checkServedModel(provider, model, "--model");
  // A model that reasons is asked for an effort, by default the cheapest it takes ("none").
  // The shape is checked first: a model shut down has no price to look up.
  const info = modelInfo(model);
  const reasoningEffort = effort ?? (info ? cheapestEffort(info) : undefined);
  checkRequestShape(
    model,
    {
      ...(reasoningEffort ? { effort: reasoningEffort } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
    },
    today,
  );
  const config: StoredConfig = {
    ...modelAndVendor(model, providerName),
    samples,
    batches,
    output: resolve(args.output || DEFAULTS.output),
    paramsFile: paramsFileOf(args),
    seed: num(args.seed, "--seed", { integer: true, min: 0 }) ?? seedFallback(),
    maxTokens:
      num(args["max-tokens"], "--max-tokens", { integer: true, positive: true }) ?? DEFAULTS.maxTokens,
    price: priceFor(model, mode, priceGiven, providerName),
    metrics: args.metrics !== false,
    maxAttempts:
      num(args["max-attempts"], "--max-attempts", { integer: true, positive: true }) ?? DEFAULTS.maxAttempts,
    pollIntervalSeconds:
      num(args["poll-interval"], "--poll-interval", { positive: true }) ?? DEFAULTS.pollIntervalSeconds,
  };
  // The prices given are the run's model's: a first prompt file that names another takes them.
  if (Object.keys(priceGiven).length) config.priceGiven = priceGiven;
  const fill = fillOf(args, samples, num);
  if (fill) config.fill = fill;
  const { stagePromptFiles, ...files } = datasetFiles(args, rawArgs);
  Object.assign(config, files);
  if (stagePromptFiles) config.stages = laterStages(config, stagePromptFiles, reasoningEffort);
  if (temperature !== undefined) config.temperature = temperature;
  if (reasoningEffort) config.reasoningEffort = reasoningEffort;
  if (budgetUsd !== undefined) config.budgetUsd = budgetUsd;
  if (delimiter !== undefined) config.delimiter = delimiter;
  if (args["csv-safe"]) config.csvSafe = true;
  addServiceOptions(config, args, { mode, provider, providerName, temperature }, num, name);
  if (args.locale) config.locale = args.locale;
  if (args.sampling) config.sampling = choice<Sampling>("sampling", args.sampling, name);
  if (mode === "sync") addSyncOptions(config, args, num);
  return config;
}

/**
 * The params file: `-j` as given; else ./params.json; else, for the built-in dataset (no spec,
 * prompt or input of the user's), the built-in one, so that a fresh project's first run runs.
 */
export function paramsFileOf(args: {
  params?: string;
  spec?: string;
  prompt?: string;
  input?: string;
}): string {
  if (args.params) return resolve(args.params);
  const here = resolve(DEFAULTS.params);
  return args.spec || args.prompt || args.input || existsSync(here) ? here : BUILTIN_PARAMS;
}

/** What `resume` and `cancel` flags change in a run's config; run/config.ts decides what wins. */
export function configOverrides(
  args: {
    budget?: string;
    "poll-interval"?: string;
    "keep-remote"?: boolean;
    "on-done"?: string;
    "max-draws"?: string;
  },
  name: OptionNamer = cliName,
): ConfigOverrides {
  const overrides: ConfigOverrides = {
    budgetUsd: number(args.budget, name("-l/--budget"), { positive: true }),
    pollIntervalSeconds: number(args["poll-interval"], name("--poll-interval"), { positive: true }),
    keepRemote: args["keep-remote"],
    onDone: args["on-done"] || undefined,
    maxDraws: number(args["max-draws"], name("--max-draws"), { integer: true, positive: true }),
  };
  return Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
}

/**
 * The dataset's files: a spec module, or prompt files — the first the generation, each further
 * `--prompt` one more stage, in order (citty keeps only the last of a repeated flag, so they are
 * read from the command line itself).
 */
export function datasetFiles(
  args: { spec?: string; prompt?: string },
  rawArgs: string[] = [],
): { specFile?: string; promptFile?: string; stagePromptFiles?: string[] } {
  if (args.spec && args.prompt)
    throw new UserError("--spec and --prompt both name the dataset", "give one of them");
  const prompts = promptFlags(rawArgs);
  const [first, ...later] = prompts.length ? prompts : args.prompt ? [args.prompt] : [];
  return {
    ...(args.spec ? { specFile: resolve(args.spec) } : {}),
    ...(first ? { promptFile: resolve(first) } : {}),
    ...(later.length ? { stagePromptFiles: later.map((p) => resolve(p)) } : {}),
  };
}

function promptFlags(rawArgs: string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (arg === "--prompt" && rawArgs[i + 1] !== undefined) found.push(rawArgs[++i]!);
    else if (arg.startsWith("--prompt=")) found.push(arg.slice("--prompt=".length));
  }
  return found;
}

/** --input and the flags that shape it. */
export function inputOptions(
  args: {
    input?: string;
    "per-row"?: string;
    "keep-columns"?: string;
    samples?: string;
    "input-sample"?: string;
  },
  name: OptionNamer = cliName,
): InputOptions {
  const sample = choice("input-sample", args["input-sample"] ?? DEFAULTS.inputSample, name);
  const keep = args["keep-columns"]
    ?.split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  return {
    path: resolve(args.input!),
    perRow: number(args["per-row"], name("--per-row"), { integer: true, positive: true }) ?? DEFAULTS.perRow,
    ...(keep?.length ? { keepColumns: keep } : {}),
    samplesGiven: args.samples !== undefined,
    ...(sample === "random" ? { random: true } : {}),
  };
}

/** What a service's batches refuse, refused here before anything is built. */
function checkProviderTakes(provider: Provider, model: string, temperature: number | undefined): void {
  if (provider.unsupported)
    throw new UserError(
      `synthai cannot run batches on ${provider.title} yet: ${provider.unsupported}`,
      "use --mode sync against its OpenAI-compatible chat endpoint, or another --provider",
    );
  if (provider.batchModels && !provider.batchModels.includes(model))
    throw new UserError(
      `${provider.title}'s batches take only ${provider.batchModels.join(" and ")}, not ${model}`,
      `pass --model ${provider.batchModels[0]}`,
    );
  if (provider.refusesTemperature && temperature !== undefined)
    throw new UserError(`${provider.title}'s batches refuse a temperature`, "leave --temperature out");
}

/** `--completion-window 48h|7d`, within what the provider's batches accept. */
function parseWindow(value: string, name: ProviderName, mode: string): string {
  const provider = providerFor(name);
  const [shortest, longest] = provider.windowHours;
  const range = shortest === longest ? `only ${shortest}h` : `${shortest}h to ${longest / 24}d`;
  if (mode !== "batch")
    throw new UserError("--completion-window is for the Batch API", "leave it out with --mode sync");
  const hours = windowHours(value);
  if (hours === undefined)
    throw new UserError(
      `--completion-window must be hours or days such as 24h or 7d, got "${value}"`,
      `${provider.title} takes ${range}`,
    );
  if (hours < shortest || hours > longest)
    throw new UserError(
      `--completion-window ${value} is not one ${provider.title} takes`,
      `it takes ${range}${name === "openai" ? "; --provider groq or kimi take longer ones" : ""}`,
    );
  return value.trim();
}

/**
 * `--dedup exact|near|semantic`, `--dedup-threshold` (the similarity from which a near or
 * semantic duplicate goes) and `--embedding-model` (semantic's).
 */
export function parseDedup(
  mode: string | undefined,
  threshold: string | undefined,
  model?: string | undefined,
): Dedup | undefined {
  if (mode === undefined || mode === "exact") {
    const given =
      threshold !== undefined ? "--dedup-threshold" : model !== undefined ? "--embedding-model" : "";
    if (given)
      throw new UserError(
        `${given} applies to --dedup ${given === "--dedup-threshold" ? "near or semantic" : "semantic"}`,
        "add that --dedup, or leave it out",
      );
    return mode === undefined ? undefined : { mode: "exact", threshold: 1 };
  }
  const dedup = choice<Exclude<DedupMode, "exact">>("dedup", mode);
  if (model !== undefined && dedup !== "semantic")
    throw new UserError(
      "--embedding-model applies to --dedup semantic",
      "add --dedup semantic, or leave it out",
    );
  const byDefault = DEFAULTS.dedupThreshold[dedup];
  const value = threshold === undefined ? byDefault : Number(threshold);
  if (!(value > 0 && value <= 1))
    throw new UserError(
      `--dedup-threshold must be a similarity above 0 and at most 1, got "${threshold}"`,
      `e.g. --dedup ${dedup} --dedup-threshold ${byDefault} (the default)`,
    );
  if (dedup === "semantic") embeddingModel(model ?? DEFAULTS.embeddingModel);
  return {
    mode: dedup,
    threshold: value,
    ...(dedup === "semantic" ? { model: model ?? DEFAULTS.embeddingModel } : {}),
  };
}

/** The catalogue is OpenAI's: elsewhere a model goes by the service's own name. */
function checkModelGiven(args: GenerateArgs, providerName: ProviderName, provider: Provider): void {
  if (!args.model && providerName !== "openai")
    throw new UserError(
      `--provider ${providerName} needs --model`,
      providerName === "azure"
        ? "give your Global Batch deployment's name"
        : provider.vendor
          ? `give one of ${provider.title}'s models (\`synthai models\` lists those with prices)`
          : provider.servesOwnModels
            ? "give the served model's name, and its cost with --input-price 0 --output-price 0 (or your own)"
            : `give the model's name on ${provider.title}, and its prices with --list-input-price and --list-output-price`,
    );
}

/** --delimiter's one character (`\\t` spells a tab), or undefined for the format's own. */
function delimiterOf(args: GenerateArgs): string | undefined {
  const delimiter = args.delimiter === "\\t" ? "\t" : args.delimiter || undefined;
  if (delimiter !== undefined && delimiter.length !== 1)
    throw new UserError(
      `--delimiter must be one character, got "${delimiter}"`,
      "for example --delimiter ';'",
    );
  return delimiter;
}

/** --fill's target and draw limit, or undefined without --fill. */
function fillOf(args: GenerateArgs, samples: number, num: typeof number): RunConfig["fill"] {
  if (args["max-draws"] !== undefined && !args.fill)
    throw new UserError("--max-draws applies to --fill", "add --fill, or leave --max-draws out");
  if (!args.fill) return undefined;
  const maxDraws =
    num(args["max-draws"], "--max-draws", { integer: true, positive: true }) ??
    samples * DEFAULTS.drawsPerSample;
  checkMaxDraws(maxDraws, samples);
  return { target: samples, maxDraws };
}

/** How the run reaches its service: address, window, endpoint, format, tier, limits, --on-done. */
/**
 * Each further prompt file is a stage; its model, tokens and price are the run's until its front
 * matter says otherwise (resolved when the run is made).
 */
function laterStages(
  config: StoredConfig,
  promptFiles: string[],
  reasoningEffort: Effort | undefined,
): NonNullable<RunConfig["stages"]> {
  return promptFiles.map((promptFile) => ({
    promptFile,
    model: config.model,
    ...(config.vendor ? { vendor: config.vendor } : {}),
    maxTokens: config.maxTokens,
    price: config.price,
    ...(reasoningEffort ? { reasoningEffort } : {}),
  }));
}

function addServiceOptions(
  config: StoredConfig,
  args: GenerateArgs,
  run: {
    mode: "batch" | "sync";
    provider: Provider;
    providerName: ProviderName;
    temperature: number | undefined;
  },
  num: typeof number,
  name: OptionNamer,
): void {
  const { mode, provider, providerName, temperature } = run;
  if (args["base-url"]) config.baseURL = baseUrl(args["base-url"])!;
  if (providerName !== "openai") config.provider = providerName;
  const window = args["completion-window"];
  if (window !== undefined) config.completionWindow = parseWindow(window, providerName, mode);
  if (args["keep-remote"]) config.keepRemote = true;
  if (args.canary === false) config.noCanary = true;
  if (args.cache === false) config.noCache = true;
  if (args["cache-dir"]) config.cacheDir = resolve(args["cache-dir"]);
  const endpoint = choice<EndpointName>("endpoint", args.endpoint || DEFAULTS.endpoint, name);
  if (endpoint !== "chat") config.endpoint = endpoint;
  checkLimits(
    endpoint,
    { maxTokens: config.maxTokens, ...(temperature !== undefined ? { temperature } : {}) },
    { maxTokens: "--max-tokens" },
  );
  if (mode === "batch" && !provider.endpoints.includes(endpoint))
    throw new UserError(
      `${provider.title}'s Batch API does not run --endpoint ${endpoint}`,
      `it runs ${provider.endpoints.join(", ")}`,
    );
  if (args.format) config.format = choice<FormatName>("format", args.format, name);
  const tier = args["service-tier"];
  if (tier) {
    choice("service-tier", tier, name);
    if (mode !== "sync")
      throw new UserError(
        "--service-tier flex is for --mode sync",
        "the Batch API is already billed at batch price; add --mode sync",
      );
    config.serviceTier = "flex";
  }
  const maxInFlight = num(args["max-in-flight"], "--max-in-flight", { integer: true, positive: true });
  if (maxInFlight !== undefined) config.maxInFlight = maxInFlight;
  const maxEnqueuedTokens = num(args["max-enqueued-tokens"], "--max-enqueued-tokens", {
    integer: true,
    positive: true,
  });
  if (maxEnqueuedTokens !== undefined) config.maxEnqueuedTokens = maxEnqueuedTokens;
  if (args["on-done"]) config.onDone = args["on-done"];
}

/** --mode sync's concurrency and rate limits. */
function addSyncOptions(config: StoredConfig, args: GenerateArgs, num: typeof number): void {
  config.mode = "sync";
  const concurrency = num(args.concurrency, "--concurrency", { integer: true, positive: true });
  if (concurrency !== undefined) config.concurrency = concurrency;
  const rpm = num(args.rpm, "--rpm", { positive: true });
  const tpm = num(args.tpm, "--tpm", { positive: true });
  if (rpm !== undefined) config.rpm = rpm;
  if (tpm !== undefined) config.tpm = tpm;
}

/** -n and -b, checked together: at most one batch per sample. */
function sampleCounts(
  args: GenerateArgs,
  num: typeof number,
  name: OptionNamer,
): { samples: number; batches: number } {
  const samples = num(args.samples, "-n/--samples", { integer: true, positive: true }) ?? DEFAULTS.samples;
  const batches = num(args.batches, "-b/--batches", { integer: true, positive: true }) ?? DEFAULTS.batches;
  // With --input and no -n, the samples are counted from the file later (and checked there).
  if (batches > samples && !(args.input && args.samples === undefined))
    throw new UserError(
      `${name("-b/--batches")} (${batches}) is larger than ${name("-n/--samples")} (${samples})`,
      "use at most one batch per sample",
    );
  return { samples, batches };
}
