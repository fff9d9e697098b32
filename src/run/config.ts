// A run's config once it exists: what it was made with (the manifest), with what the user gives
// when going on with it (`resume`, `cancel`, the library's resume). settings.ts's resolve decides
// which wins — a value given now, else the manifest's — and test/config.test.ts shows it flag by flag.
import { UserError } from "../errors.ts";
import { VENDOR_ENDPOINTS, checkLimits, type Endpoint } from "../api/endpoints/index.ts";
import type { Vendor } from "../api/batch-service.ts";
import { EFFORTS, cheapestEffort, checkRequestShape, modelInfo, type Effort } from "../api/models.ts";
import { bareModel } from "../api/models.ts";
import { priceFor, suggestModel } from "../api/pricing.ts";
import { checkServedModel, mainVendor, providerFor, vendorOfModel } from "../api/providers/index.ts";
import { VENDORS, keyInEnv, missingKey } from "../api/vendors.ts";
import type { RunConfig } from "./manifest.ts";
import { RUN_DEFAULTS, resolve } from "./settings.ts";

/** How many stages a run has: the generation, then one per later stage. */
export function lastStage(config: RunConfig): number {
  return 1 + (config.stages?.length ?? 0);
}

/** How stage `stage` runs: its model, vendor, token limit, effort and price (the run's own for stage 1). */
export function stageSettings(
  config: RunConfig,
  stage = 1,
): Pick<RunConfig, "model" | "vendor" | "maxTokens" | "reasoningEffort" | "price"> {
  const own = stage > 1 ? config.stages?.[stage - 2] : undefined;
  return own ?? config;
}

/** Whose batch service runs stage `stage`: its own vendor, else OpenAI (the first stage: the run's). */
export function vendorOf(config: RunConfig, stage = 1): Vendor {
  return stageSettings(config, stage).vendor ?? "openai";
}

/** Whose service a batch record went (or goes) to: its own vendor, OpenAI when absent. */
export function vendorOfRecord(record: { vendor?: Vendor | undefined }): Vendor {
  return record.vendor ?? "openai";
}

/** A new batch record's vendor: its stage's, written only where it is not OpenAI (absent means OpenAI). */
export function vendorField(config: RunConfig, stage = 1): { vendor?: Vendor } {
  const vendor = vendorOf(config, stage);
  return vendor === "openai" ? {} : { vendor };
}

/** How stage `stage`'s requests are written and its answers read: its vendor's endpoint, the one place that says. */
export function endpointOf(config: RunConfig, stage = 1): Endpoint<any> {
  return VENDOR_ENDPOINTS[vendorOf(config, stage)](config.endpoint);
}

/** Whose service runs stage `stage`, by name: the run's provider (Groq, …) for its own vendor, else that vendor. */
export function serviceOf(config: RunConfig, stage = 1): string {
  const vendor = vendorOf(config, stage);
  return vendor === mainVendor(config.provider) ? providerFor(config.provider).title : VENDORS[vendor].title;
}

/** A model as a run records it: the bare id the service is sent, and its vendor where not OpenAI. */
export function modelAndVendor(
  model: string,
  provider: RunConfig["provider"],
): Pick<RunConfig, "model" | "vendor"> {
  const vendor = vendorOfModel(model, provider);
  return { model: bareModel(model), ...(vendor !== "openai" ? { vendor } : {}) };
}

/**
 * Before anything is built: every vendor a stage runs on, other than the run's own (whose key
 * -k or the provider's variable gives, checked as the client is made), has its key in one of
 * its variables. Names the variables and the stage, never a key.
 */
export function checkVendorKeys(config: RunConfig, env: Record<string, string | undefined>): void {
  const main = mainVendor(config.provider);
  for (let stage = 1; stage <= lastStage(config); stage++) {
    const vendor = vendorOf(config, stage);
    if (vendor === main || keyInEnv(vendor, env)) continue;
    throw missingKey(
      vendor,
      `stage ${stage} (${stageSettings(config, stage).model})`,
      "a model of another vendor than --provider's takes its key from there",
    );
  }
}

/** What a stage may say of itself: a prompt file's `model:`, `max_tokens:`, `reasoning_effort:`, a spec's stage. */
export interface OwnSettings {
  model?: string | undefined;
  maxTokens?: number | undefined;
  reasoningEffort?: string | undefined;
}

/**
 * How a stage runs — the first as every later one: its own setting where its file gives one,
 * else the run's (a flag, else the default). Its price is the run's for the run's model (flags'
 * prices included), else the catalogue's. Checked as the run's own are, before anything is built.
 */
export function resolveStageSettings(
  own: OwnSettings,
  run: RunConfig,
  source: string,
  first = false,
): ReturnType<typeof stageSettings> {
  const named = own.model ?? run.model;
  const { model, vendor } = modelAndVendor(named, run.provider);
  const runs = model === run.model && vendor === run.vendor;
  if (vendor === undefined) checkServedModel(providerFor(run.provider), model, source);
  const effort = own.reasoningEffort ?? (runs ? run.reasoningEffort : undefined);
  if (effort !== undefined && !(EFFORTS as readonly string[]).includes(effort))
    throw new UserError(
      `${source}: reasoning_effort "${effort}" is not one of ${EFFORTS.join(", ")}`,
      "give one of them, or leave it out",
    );
  const info = modelInfo(named);
  const reasoningEffort = (effort as Effort | undefined) ?? (info ? cheapestEffort(info) : undefined);
  checkRequestShape(named, {
    ...(reasoningEffort ? { effort: reasoningEffort } : {}),
    ...(run.temperature !== undefined ? { temperature: run.temperature } : {}),
  });
  const maxTokens = own.maxTokens ?? run.maxTokens;
  if (own.maxTokens !== undefined)
    checkLimits(run.endpoint, { maxTokens }, { maxTokens: `${source}: max_tokens` });
  return {
    model,
    ...(vendor ? { vendor } : {}),
    maxTokens,
    ...(reasoningEffort ? { reasoningEffort } : {}),
    price: runs ? run.price : stagePrice(named, run, source, first),
  };
}

/**
 * A stage's price when its model is not the run's: the catalogue's (the first stage's may be given
 * by the price flags). A later stage's unknown model is said as such: the flags price stage 1 only.
 */
function stagePrice(model: string, run: RunConfig, source: string, first: boolean) {
  if (first) return priceFor(model, run.mode, run.priceGiven ?? {}, run.provider);
  try {
    return priceFor(model, run.mode, {}, run.provider);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    throw new UserError(
      `${source}: no price is known for model "${model}"`,
      suggestModel(model, run.provider) +
        "a later stage's model is priced from the catalogue (`synthai models` lists it); the price flags " +
        "(--input-price, --list-input-price, …) price the run's first stage only",
    );
  }
}

/** The run's config as stage `stage`'s requests are built with it: that stage's model, tokens, effort, price. */
export function configOfStage(config: RunConfig, stage: number): RunConfig {
  const { model, maxTokens, reasoningEffort, price } = stageSettings(config, stage);
  const { reasoningEffort: _runs, vendor: _vendor, ...rest } = config;
  const vendor = vendorOf(config, stage);
  return {
    ...rest,
    model,
    maxTokens,
    price,
    ...(reasoningEffort ? { reasoningEffort } : {}),
    ...(vendor !== "openai" ? { vendor } : {}),
  };
}

/** --max-draws: at least as many draws as the samples a --fill run is to keep. */
export function checkMaxDraws(maxDraws: number, target: number): void {
  if (maxDraws < target)
    throw new UserError(
      `--max-draws ${maxDraws} is below the run's target of ${target}`,
      "allow at least as many draws as samples",
    );
}

/** What `resume` and `cancel` may change in a run's config; each left out keeps the manifest's. */
export interface ConfigOverrides {
  budgetUsd?: number;
  pollIntervalSeconds?: number;
  /** `--keep-remote` or `--no-keep-remote`: either way, from now on. */
  keepRemote?: boolean;
  onDone?: string;
  /** --fill: a new limit on draws, for a run that stopped short of its target. */
  maxDraws?: number;
}

/** The config a run goes on with: each override given wins over what the manifest holds. Pure. */
export function withOverrides(config: RunConfig, overrides: ConfigOverrides, runId: string): RunConfig {
  const { keepRemote, maxDraws, ...given } = overrides;
  const next = resolve(RUN_DEFAULTS, config, {
    ...given,
    ...(keepRemote ? { keepRemote } : {}),
    ...(maxDraws !== undefined ? { fill: newDrawLimit(config, maxDraws, runId) } : {}),
  });
  // --no-keep-remote: the manifest says nothing of it, as a run made without --keep-remote.
  if (keepRemote === false) delete next.keepRemote;
  return next;
}

/** --max-draws on resume: a --fill run's new limit, at least its target. */
function newDrawLimit(config: RunConfig, maxDraws: number, runId: string): RunConfig["fill"] {
  if (!config.fill) throw new UserError(`run ${runId} was not made with --fill`, "leave --max-draws out");
  checkMaxDraws(maxDraws, config.fill.target);
  return { ...config.fill, maxDraws };
}
