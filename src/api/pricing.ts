import { UserError, closest } from "../errors.ts";
import type { Vendor } from "./batch-service.ts";
import { MODELS, bareModel, cacheWritePrice, modelInfo, prefixedVendor } from "./models.ts";
import { mainVendor, providerFor, vendorOfModel, type ProviderName } from "./providers/index.ts";
import { VENDORS, type PrefixCacheRule } from "./vendors.ts";

/**
 * USD per 1M tokens, at the price a run pays (batch or standard). Cached input is what a
 * prompt token costs when the service found its prefix cached (a cache read); cache write what
 * it costs when written to the cache (Anthropic bills that above the input price); each
 * without it, the input price.
 */
export interface Price {
  input: number;
  output: number;
  cachedInput?: number;
  cacheWrite?: number;
}

/** Batch price for a model; flags (batch USD per 1M tokens) override the catalogue. */
export function batchPrice(
  model: string,
  override: { input?: number; output?: number; cachedInput?: number } = {},
): Price {
  return priceFor(model, "batch", override);
}

/**
 * What a model costs per 1M tokens: the list price (the catalogue's, api/models.ts, or the
 * service's given with --list-input-price) times the provider's share through the Batch API
 * (half, on OpenAI), the list price sent directly; or the price paid, given as it is.
 */
export function priceFor(
  model: string,
  mode: "batch" | "sync",
  override: {
    input?: number | undefined;
    output?: number | undefined;
    cachedInput?: number | undefined;
    listInput?: number | undefined;
    listOutput?: number | undefined;
  } = {},
  provider: ProviderName = "openai",
): Price {
  const info = modelInfo(model);
  const share = mode === "batch" ? batchShare(provider, vendorOfModel(model, provider)) : 1;
  const listInput = override.listInput ?? info?.input;
  const listOutput = override.listOutput ?? info?.output;
  const input = override.input ?? (listInput !== undefined ? listInput * share : undefined);
  const output = override.output ?? (listOutput !== undefined ? listOutput * share : undefined);
  if (input === undefined || output === undefined)
    throw new UserError(
      `no price is known for model "${model}"`,
      suggestModel(model, provider) +
        "pass the service's list prices in USD per 1M tokens with " +
        "--list-input-price and --list-output-price (the batch " +
        "share is applied), or what you pay with --input-price and " +
        "--output-price; `synthai models` lists the known ones",
    );
  // Prices given by hand hold for every input token, cached or not, unless the cached one is given too.
  const byHand = override.input !== undefined || override.listInput !== undefined;
  const cachedInput =
    override.cachedInput ?? (!byHand && info?.cachedInput !== undefined ? info.cachedInput * share : input);
  // Writes at the rate of the lifetime synthai asks for (CACHE_TTL), in batches and sent directly.
  const listWrite = info && cacheWritePrice(info);
  const cacheWrite = !byHand && listWrite !== undefined ? listWrite * share : input;
  return {
    input,
    output,
    ...(cachedInput !== input ? { cachedInput } : {}),
    ...(cacheWrite !== input ? { cacheWrite } : {}),
  };
}

/**
 * "did you mean claude-haiku-5-5? " for a typo of a catalogued model, of any vendor. Only where
 * the catalogue's names are the service's: elsewhere (Groq, Together, vLLM, …) a model goes by
 * the service's own name.
 */
export function suggestModel(model: string, provider: ProviderName): string {
  const catalogueNamed =
    provider === "openai" ||
    provider === "azure" ||
    mainVendor(provider) !== "openai" ||
    prefixedVendor(model);
  return catalogueNamed ? didYouMean(bareModel(model), Object.keys(MODELS)) : "";
}

/** The share of the list price a batch pays: the run's provider's for its own vendor's models, else that vendor's. */
export function batchShare(provider: ProviderName | undefined, vendor?: Vendor): number {
  return vendor === undefined || vendor === mainVendor(provider)
    ? providerFor(provider).batchShare
    : VENDORS[vendor].batchShare;
}

type PricedRun = {
  mode?: "batch" | "sync" | undefined;
  price: Price;
  provider?: ProviderName | undefined;
  /** The vendor whose service runs the stage priced; the run's provider's when absent. */
  vendor?: Vendor | undefined;
};

/** The run's price as a share of the list price: the vendor's batch share, or 1 in sync mode. */
export function shareOf(config: Omit<PricedRun, "price">): number {
  return config.mode === "sync" ? 1 : batchShare(config.provider, config.vendor);
}

/**
 * What a request sent directly costs (the canary, a pilot): the list price, which is the run's
 * price over its share (however the run's price was given).
 */
export function directPrice(config: PricedRun): Price {
  return scaled(config.price, 1 / shareOf(config));
}

/** The flex tier's price (sync mode, where the response says flex served it): the batch share of the list price. */
export function flexPrice(config: PricedRun): Price {
  return scaled(directPrice(config), batchShare(config.provider, config.vendor));
}

function scaled(price: Price, factor: number): Price {
  if (factor === 1) return price;
  return {
    input: price.input * factor,
    output: price.output * factor,
    ...(price.cachedInput !== undefined ? { cachedInput: price.cachedInput * factor } : {}),
    ...(price.cacheWrite !== undefined ? { cacheWrite: price.cacheWrite * factor } : {}),
  };
}

/**
 * What tokens cost, as the vendors bill them. `promptTokens` are all the prompt's tokens; of
 * them `cachedTokens` were read from the cache and `cacheWriteTokens` written to it (Anthropic's
 * `cache_read_input_tokens` and `cache_creation_input_tokens`), each at its own price.
 */
export function costUsd(
  price: Price,
  promptTokens: number,
  completionTokens: number,
  cachedTokens = 0,
  cacheWriteTokens = 0,
): number {
  const cached = Math.min(cachedTokens, promptTokens);
  const written = Math.min(cacheWriteTokens, promptTokens - cached);
  return (
    ((promptTokens - cached - written) * price.input +
      cached * (price.cachedInput ?? price.input) +
      written * (price.cacheWrite ?? price.input) +
      completionTokens * price.output) /
    1_000_000
  );
}

/** OpenAI's prompt cache (the fake's too): a prefix seen before, billed at the cached price from 1,024 tokens. */
const OPENAI_CACHE = VENDORS.openai.prefixCache!;
export const CACHE_MIN_TOKENS = OPENAI_CACHE.minTokens;
export const CACHE_STEP_TOKENS = OPENAI_CACHE.stepTokens;

/** Of a prefix of `tokens` tokens seen before, how many the service bills as cached (by `rule`, OpenAI's unless given). */
export function cacheableTokens(tokens: number, rule: PrefixCacheRule = OPENAI_CACHE): number {
  return tokens < rule.minTokens ? 0 : Math.floor(tokens / rule.stepTokens) * rule.stepTokens;
}

/**
 * How a model's vendor caches a prefix every request shares: the vendor's rule (api/vendors.ts)
 * with the model's own floor where the catalogue gives one; none where nothing is documented.
 */
export function prefixCacheOf(vendor: Vendor, model: string): PrefixCacheRule | undefined {
  const rule = VENDORS[vendor].prefixCache;
  const floor = modelInfo(model)?.cacheMinTokens;
  return rule && floor !== undefined ? { ...rule, minTokens: floor } : rule;
}

/** What `cachedTokens` prompt tokens saved, billed at the cached price instead of the input price. */
export function cacheSavedUsd(price: Price, cachedTokens: number): number {
  return (cachedTokens * (price.input - (price.cachedInput ?? price.input))) / 1_000_000;
}

export function formatUsd(usd: number): string {
  return `$${usd < 0.01 && usd > 0 ? usd.toFixed(6) : usd.toFixed(4)}`;
}

/** "did you mean gpt-6-luna? " for a model name a typo away from one of `names`, else "". */
export function didYouMean(model: string, names: string[]): string {
  const near = closest(model, names);
  return near && near !== model ? `did you mean ${near}? If not, ` : "";
}
