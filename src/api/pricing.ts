import { UserError, closest } from "../errors.ts";
import { MODELS, modelInfo } from "./models.ts";
import { providerFor, type ProviderName } from "./providers/index.ts";

/**
 * USD per 1M tokens, at the price a run pays (batch or standard). Cached input is what a
 * prompt token costs when the service found its prefix cached; without it, the input price.
 */
export interface Price {
  input: number;
  output: number;
  cachedInput?: number;
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
  const share = mode === "batch" ? providerFor(provider).batchShare : 1;
  const listInput = override.listInput ?? info?.input;
  const listOutput = override.listOutput ?? info?.output;
  const input = override.input ?? (listInput !== undefined ? listInput * share : undefined);
  const output = override.output ?? (listOutput !== undefined ? listOutput * share : undefined);
  if (input === undefined || output === undefined)
    throw new UserError(
      `no price is known for model "${model}"`,
      // The catalogue is OpenAI's: elsewhere a model goes by the service's own name.
      (provider === "openai" || provider === "azure" ? didYouMean(model, Object.keys(MODELS)) : "") +
        "pass the service's list prices in USD per 1M tokens with " +
        "--list-input-price and --list-output-price (the batch " +
        "share is applied), or what you pay with --input-price and " +
        "--output-price; `synthai models` lists the known ones",
    );
  // An input price given by hand is also the cached one, unless that is given too.
  const cachedInput =
    override.cachedInput ??
    (override.input === undefined && override.listInput === undefined && info?.cachedInput !== undefined
      ? info.cachedInput * share
      : input);
  return cachedInput === input ? { input, output } : { input, output, cachedInput };
}

type PricedRun = { mode?: "batch" | "sync" | undefined; price: Price; provider?: ProviderName | undefined };

/** The run's price as a share of the list price: the provider's batch share, or 1 in sync mode. */
export function shareOf(config: Omit<PricedRun, "price">): number {
  return config.mode === "sync" ? 1 : providerFor(config.provider).batchShare;
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
  return scaled(directPrice(config), providerFor(config.provider).batchShare);
}

function scaled(price: Price, factor: number): Price {
  if (factor === 1) return price;
  return {
    input: price.input * factor,
    output: price.output * factor,
    ...(price.cachedInput !== undefined ? { cachedInput: price.cachedInput * factor } : {}),
  };
}

/** What tokens cost; `cachedTokens` are the part of the prompt the service billed as cached. */
export function costUsd(
  price: Price,
  promptTokens: number,
  completionTokens: number,
  cachedTokens = 0,
): number {
  const cached = Math.min(cachedTokens, promptTokens);
  return (
    ((promptTokens - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      completionTokens * price.output) /
    1_000_000
  );
}

/**
 * The service's prompt cache (OpenAI's prompt caching, in batches too): a prefix seen before is
 * billed at the cached input price from 1,024 tokens on, in steps of 128 tokens.
 */
export const CACHE_MIN_TOKENS = 1024;
export const CACHE_STEP_TOKENS = 128;

/** Of a prefix of `tokens` tokens seen before, how many the service bills as cached. */
export function cacheableTokens(tokens: number): number {
  return tokens < CACHE_MIN_TOKENS ? 0 : Math.floor(tokens / CACHE_STEP_TOKENS) * CACHE_STEP_TOKENS;
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
