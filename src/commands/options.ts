import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UserError, cliName, givenAs, type OptionNamer } from "../errors.ts";
import { priceFor } from "../api/pricing.ts";
import { VENDORS, checkedAddress } from "../api/vendors.ts";
import type { InputOptions } from "../pipeline/generate.ts";
import { ENDPOINTS, checkLimits, type EndpointName } from "../api/endpoints/index.ts";
import { FORMAT_NAMES, type FormatName } from "../io/formats/names.ts";
import { defaultOutput } from "../io/formats/index.ts";
import type { Dedup } from "../pipeline/export.ts";
import { NEAR_SIMILARITY, type DedupMode } from "../pipeline/dedup.ts";
import { DEFAULT_EMBEDDING_MODEL, SEMANTIC_SIMILARITY, embeddingModel } from "../api/embeddings.ts";
import {
  PROVIDERS,
  checkServedModel,
  mainVendor,
  providerFor,
  vendorOfModel,
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
import type { RunConfig } from "../run/manifest.ts";
import { RUN_DEFAULTS, resolve as resolveConfig, type Given } from "../run/settings.ts";
import { checkNumber, optionsOfFlags, type NamedOptions, type NumberCheck } from "./named-options.ts";
import type { generateArgs } from "./generate.ts";
import { checkMaxDraws, modelAndVendor, type ConfigOverrides } from "../run/config.ts";

/** A new run's options: every flag of `synthai generate` by its option name, typed (numbers as numbers). */
export type RunOptions = NamedOptions<typeof generateArgs>;

/** citty hands every flag over as a string or boolean: the CLI's side of RunOptions. */
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

/** A number flag's text (citty's), checked: undefined when not given. */
export function number(value: string | undefined, flag: string, check: NumberCheck = {}): number | undefined {
  if (value === undefined || value === "") return undefined;
  return checkNumber(Number(value), flag, check, JSON.stringify(value));
}

/** An API base URL, checked before it is used: http(s), a host, a port that can be one. */
export function baseUrl(value: string | undefined, name: OptionNamer = cliName): string | undefined {
  if (!value) return undefined;
  const hint = `give the server's address with its scheme, e.g. ${givenAs(name, "base-url", "http://localhost:8000/v1")}`;
  return checkedAddress(value, `${name("--base-url")} "${value}"`, hint);
}

/** The price flags given (USD per 1M tokens); those left out are not in it. */
function pricesGiven(o: RunOptions): NonNullable<RunConfig["priceGiven"]> {
  const given = {
    input: o.inputPrice,
    output: o.outputPrice,
    cachedInput: o.cachedInputPrice,
    listInput: o.listInputPrice,
    listOutput: o.listOutputPrice,
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}

/** A run's seed when none is given: random, and recorded in the manifest. */
const randomSeed = () => Math.floor(Math.random() * 2 ** 31);

/** `synthai generate`'s flags (citty's text) to a new run's config: the CLI's edge of runConfigOf. */
export function toRunConfig(
  args: GenerateArgs,
  seedFallback: () => number = randomSeed,
  today = new Date(),
  rawArgs: string[] = [],
  name: OptionNamer = cliName,
): RunConfig {
  return runConfigOf(optionsOfFlags({ ...args }, rawArgs) as RunOptions, seedFallback, today, name);
}

/**
 * A new run's config from its options (the library's as given, the CLI's parsed from its flags,
 * numbers already checked): what they give, resolved over the defaults, then checked together.
 */
export function runConfigOf(
  o: RunOptions,
  seedFallback: () => number = randomSeed,
  today = new Date(),
  name: OptionNamer = cliName,
): RunConfig {
  const providerName = choice<ProviderName>("provider", o.provider || DEFAULTS.provider, name);
  const provider = providerFor(providerName);
  checkModelGiven(o, providerName, provider);
  const model = o.model || DEFAULT_MODEL;
  if (o.provider) checkModelOnProvider(providerName, model, name);
  const effort = o.reasoningEffort ? choice<Effort>("reasoning-effort", o.reasoningEffort, name) : undefined;
  const delimiter = delimiterOf(o);
  const mode = choice<"batch" | "sync">("mode", o.mode || DEFAULTS.mode, name);
  if (mode === "batch") checkProviderTakes(provider, model, o.temperature);
  checkServedModel(provider, model, "--model");
  // A model that reasons is asked for an effort, by default the cheapest it takes ("none").
  // The shape is checked first: a model shut down has no price to look up.
  const info = modelInfo(model);
  const reasoningEffort = effort ?? (info ? cheapestEffort(info) : undefined);
  checkRequestShape(
    model,
    {
      ...(reasoningEffort ? { effort: reasoningEffort } : {}),
      ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    },
    today,
  );
  const priceGiven = pricesGiven(o);
  const config = resolveConfig(
    RUN_DEFAULTS,
    {},
    {
      ...modelAndVendor(model, providerName),
      samples: o.samples,
      batches: o.batches,
      output: resolve(o.output || defaultOutput(formatOf(o))),
      paramsFile: paramsFileOf(o),
      seed: o.seed ?? seedFallback(),
      maxTokens: o.maxTokens,
      price: priceFor(model, mode, priceGiven, providerName),
      metrics: o.metrics !== false,
      maxAttempts: o.maxAttempts,
      pollIntervalSeconds: o.pollIntervalSeconds,
      // The prices given are the run's model's: a first prompt file that names another takes them.
      ...(Object.keys(priceGiven).length ? { priceGiven } : {}),
      ...datasetFiles(o),
      temperature: o.temperature,
      reasoningEffort,
      budgetUsd: o.budgetUsd,
      delimiter,
      ...(o.csvSafe ? { csvSafe: true } : {}),
      locale: o.locale || undefined,
      sampling: o.sampling ? choice<Sampling>("sampling", o.sampling, name) : undefined,
      mode,
      // Given only with --mode sync (serviceOptions refuses them otherwise).
      concurrency: o.concurrency,
      rpm: o.rpm,
      tpm: o.tpm,
      ...serviceOptions(o, { mode, provider, providerName }, name),
    },
  );
  checkSampleCounts(config, o, name);
  const fill = fillOf(o, config.samples);
  if (fill) config.fill = fill;
  const stagePromptFiles = o.prompts?.slice(1).map((p) => resolve(p));
  if (stagePromptFiles?.length) config.stages = laterStages(config, stagePromptFiles, reasoningEffort);
  checkLimits(
    config.endpoint,
    { maxTokens: config.maxTokens, ...(o.temperature !== undefined ? { temperature: o.temperature } : {}) },
    { maxTokens: name("--max-tokens"), temperature: name("--temperature") },
  );
  return config;
}

/**
 * The params file: `-j` as given; else ./params.json; else, for the built-in dataset (no spec,
 * prompt or input of the user's), the built-in one, so that a fresh project's first run runs.
 */
export function paramsFileOf(o: {
  params?: string | undefined;
  spec?: string | undefined;
  prompt?: string | undefined;
  prompts?: string[] | undefined;
  input?: string | undefined;
}): string {
  if (o.params) return resolve(o.params);
  const here = resolve(DEFAULTS.params);
  return o.spec || o.prompt || o.prompts?.length || o.input || existsSync(here) ? here : BUILTIN_PARAMS;
}

/** What `resume`, `cancel` and `export` flags change in a run's config (the CLI's text). */
export function configOverrides(args: {
  budget?: string;
  "poll-interval"?: string;
  "keep-remote"?: boolean;
  "on-done"?: string;
  "max-draws"?: string;
}): ConfigOverrides {
  return overridesOf(optionsOfFlags(args));
}

/** What a run's options change in its config, as given; run/settings.ts's resolve decides what wins. */
export function overridesOf(o: ConfigOverrides): ConfigOverrides {
  const overrides: ConfigOverrides = {
    budgetUsd: o.budgetUsd,
    pollIntervalSeconds: o.pollIntervalSeconds,
    keepRemote: o.keepRemote,
    onDone: o.onDone || undefined,
    maxDraws: o.maxDraws,
  };
  return Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
}

/**
 * The dataset's files: a spec module, or prompt files — the first the generation, each further
 * `--prompt` one more stage, in order.
 */
export function datasetFiles(o: { spec?: string | undefined; prompts?: string[] | undefined }): {
  specFile?: string;
  promptFile?: string;
  stagePromptFiles?: string[];
} {
  if (o.spec && o.prompts?.length)
    throw new UserError("--spec and --prompt both name the dataset", "give one of them");
  const [first, ...later] = o.prompts ?? [];
  return {
    ...(o.spec ? { specFile: resolve(o.spec) } : {}),
    ...(first ? { promptFile: resolve(first) } : {}),
    ...(later.length ? { stagePromptFiles: later.map((p) => resolve(p)) } : {}),
  };
}

/** --input and the options that shape it (`samples` given or not: with none, every row is a sample). */
export function inputOptions(
  o: {
    input?: string | undefined;
    perRow?: number | undefined;
    keepColumns?: string | undefined;
    samples?: number | string | undefined;
    inputSample?: string | undefined;
  },
  name: OptionNamer = cliName,
): InputOptions {
  const sample = choice("input-sample", o.inputSample ?? DEFAULTS.inputSample, name);
  const keep = o.keepColumns
    ?.split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  return {
    path: resolve(o.input!),
    perRow: o.perRow ?? DEFAULTS.perRow,
    ...(keep?.length ? { keepColumns: keep } : {}),
    samplesGiven: o.samples !== undefined,
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
 * semantic duplicate goes, already checked as NUMBERS says) and `--embedding-model` (semantic's).
 */
export function parseDedup(
  o: { dedup?: string | undefined; dedupThreshold?: number | undefined; embeddingModel?: string | undefined },
  name: OptionNamer = cliName,
): Dedup | undefined {
  const { dedup: mode, dedupThreshold: threshold, embeddingModel: model } = o;
  const dedupAs = (modes: string) => `${name("--dedup")} ${modes}`;
  if (mode === undefined || mode === "exact") {
    const given =
      threshold !== undefined ? "--dedup-threshold" : model !== undefined ? "--embedding-model" : "";
    if (given)
      throw new UserError(
        `${name(given)} applies to ${dedupAs(given === "--dedup-threshold" ? "near or semantic" : "semantic")}`,
        `add that ${name("--dedup")}, or leave it out`,
      );
    return mode === undefined ? undefined : { mode: "exact", threshold: 1 };
  }
  const dedup = choice<Exclude<DedupMode, "exact">>("dedup", mode, name);
  if (model !== undefined && dedup !== "semantic")
    throw new UserError(
      `${name("--embedding-model")} applies to ${dedupAs("semantic")}`,
      `add ${givenAs(name, "dedup", "semantic")}, or leave it out`,
    );
  if (dedup === "semantic") embeddingModel(model ?? DEFAULTS.embeddingModel, name);
  return {
    mode: dedup,
    threshold: threshold ?? DEFAULTS.dedupThreshold[dedup],
    ...(dedup === "semantic" ? { model: model ?? DEFAULTS.embeddingModel } : {}),
  };
}

/** The catalogue is OpenAI's: elsewhere a model goes by the service's own name. */
function checkModelGiven(args: RunOptions, providerName: ProviderName, provider: Provider): void {
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

/**
 * --provider names the service the run's model runs on: a model the catalogue (or its prefix) puts on
 * another vendor would run, and be billed, elsewhere than asked, at prices given for the provider.
 * (A later stage may name another vendor's model: that is how a run pairs vendors.)
 */
function checkModelOnProvider(providerName: ProviderName, model: string, name: OptionNamer): void {
  const provider = providerFor(providerName);
  // The catalogue's OpenAI models carry no vendor: OpenAI-shaped presets (Azure, …) may serve them, Claude's and Gemini's services never.
  const info = modelInfo(model);
  const openaiModel = info !== undefined && !info.vendor;
  const vendor = provider.vendor && openaiModel ? "openai" : vendorOfModel(model, providerName);
  if (vendor === mainVendor(providerName)) return;
  throw new UserError(
    `${name("--provider")} ${providerName} runs ${provider.title}'s models, and ${model} is ${VENDORS[vendor].title}'s`,
    `leave ${name("--provider")} out (${model} then runs on ${VENDORS[vendor].title}), or give a model ${provider.title} serves`,
  );
}

/** --format as named, where it is one (a name that is none is refused with the other options). */
function formatOf(o: RunOptions): FormatName | undefined {
  return (FORMAT_NAMES as readonly string[]).includes(o.format ?? "") ? (o.format as FormatName) : undefined;
}

/** --delimiter's one character (`\\t` spells a tab), or undefined for the format's own. */
function delimiterOf(args: RunOptions): string | undefined {
  const delimiter = args.delimiter === "\\t" ? "\t" : args.delimiter || undefined;
  if (delimiter !== undefined && delimiter.length !== 1)
    throw new UserError(
      `--delimiter must be one character, got "${delimiter}"`,
      "for example --delimiter ';'",
    );
  return delimiter;
}

/** --fill's target and draw limit, or undefined without --fill. */
function fillOf(o: RunOptions, samples: number): RunConfig["fill"] {
  if (o.maxDraws !== undefined && !o.fill)
    throw new UserError("--max-draws applies to --fill", "add --fill, or leave --max-draws out");
  if (!o.fill) return undefined;
  const maxDraws = o.maxDraws ?? samples * DEFAULTS.drawsPerSample;
  checkMaxDraws(maxDraws, samples);
  return { target: samples, maxDraws };
}

/**
 * Each further prompt file is a stage; its model, tokens and price are the run's until its front
 * matter says otherwise (resolved when the run is made).
 */
function laterStages(
  config: RunConfig,
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

/** How the run reaches its service: address, window, endpoint, format, tier, limits, --on-done. */
function serviceOptions(
  o: RunOptions,
  run: { mode: "batch" | "sync"; provider: Provider; providerName: ProviderName },
  name: OptionNamer,
): Given {
  const { mode, provider, providerName } = run;
  const window = o.completionWindow;
  const endpoint = choice<EndpointName>("endpoint", o.endpoint || DEFAULTS.endpoint, name);
  if (mode === "batch" && !provider.endpoints.includes(endpoint))
    throw new UserError(
      `${provider.title}'s Batch API does not run --endpoint ${endpoint}`,
      `it runs ${provider.endpoints.join(", ")}`,
    );
  // What paces direct requests has nothing to pace in a batch: given there, it is a mistake.
  const pacing = { "--concurrency": o.concurrency, "--rpm": o.rpm, "--tpm": o.tpm };
  for (const [flag, value] of Object.entries(pacing))
    if (value !== undefined && mode !== "sync")
      throw new UserError(
        `${name(flag)} paces --mode sync's direct requests; a batch runs at the service's pace`,
        `add ${givenAs(name, "mode", "sync")}, or leave ${name(flag)} out`,
      );
  // What shapes --input's rows has nothing to shape without it: given alone, it is a mistake.
  const shaping = { "--per-row": o.perRow, "--keep-columns": o.keepColumns, "--input-sample": o.inputSample };
  for (const [flag, value] of Object.entries(shaping))
    if (value !== undefined && !o.input)
      throw new UserError(
        `${name(flag)} shapes the rows of ${name("--input")}, and none was given`,
        `add ${givenAs(name, "input", "rows.csv")}, or leave ${name(flag)} out`,
      );
  const tier = o.serviceTier;
  if (tier) {
    choice("service-tier", tier, name);
    if (mode !== "sync")
      throw new UserError(
        "--service-tier flex is for --mode sync",
        "the Batch API is already billed at batch price; add --mode sync",
      );
  }
  return {
    baseURL: baseUrl(o.baseURL, name),
    provider: providerName,
    completionWindow: window !== undefined ? parseWindow(window, providerName, mode) : undefined,
    ...(o.keepRemote ? { keepRemote: true } : {}),
    ...(o.canary === false ? { noCanary: true } : {}),
    ...(o.cache === false ? { noCache: true } : {}),
    cacheDir: o.cacheDir ? resolve(o.cacheDir) : undefined,
    endpoint,
    format: o.format ? choice<FormatName>("format", o.format, name) : undefined,
    serviceTier: tier ? "flex" : undefined,
    maxInFlight: o.maxInFlight,
    maxEnqueuedTokens: o.maxEnqueuedTokens,
    onDone: o.onDone || undefined,
  };
}

/** -n and -b, checked together: at most one batch per sample. */
function checkSampleCounts(config: RunConfig, o: RunOptions, name: OptionNamer): void {
  // With --input and no -n, the samples are counted from the file later (and checked there).
  if (config.batches > config.samples && !(o.input && o.samples === undefined))
    throw new UserError(
      `${name("-b/--batches")} (${config.batches}) is larger than ${name("-n/--samples")} (${config.samples})`,
      "use at most one batch per sample",
    );
}
