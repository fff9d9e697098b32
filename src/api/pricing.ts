import { UserError } from "../errors.ts";
import { providerFor } from "./providers/index.ts";

/** USD per 1M tokens. The Batch API bills half the standard price. */
export interface Price {
  input: number;
  output: number;
}

/** Standard (synchronous) prices per 1M tokens, from OpenAI's price list. */
const STANDARD_PRICES: Record<string, Price> = {
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "o4-mini": { input: 1.1, output: 4.4 },
};

export function standardPrice(model: string): Price | undefined {
  // Dated snapshots (gpt-4o-mini-2024-07-18) cost what their family costs.
  return STANDARD_PRICES[model] ?? STANDARD_PRICES[model.replace(/-\d{4}-\d{2}-\d{2}$/, "")];
}

/** Batch price for a model; flags (batch USD per 1M tokens) override the table. */
export function batchPrice(model: string, override: { input?: number; output?: number } = {}): Price {
  return priceFor(model, "batch", override);
}

/** What a model costs per 1M tokens: half price through the Batch API, full price sent directly. */
export function priceFor(
  model: string,
  mode: "batch" | "sync",
  override: { input?: number; output?: number } = {},
): Price {
  const standard = standardPrice(model);
  const share = mode === "batch" ? providerFor().batchShare : 1;
  const input = override.input ?? (standard ? standard.input * share : undefined);
  const output = override.output ?? (standard ? standard.output * share : undefined);
  if (input === undefined || output === undefined)
    throw new UserError(
      `no price is known for model "${model}"`,
      "pass its prices in USD per 1M tokens with --input-price and --output-price",
    );
  return { input, output };
}

export function costUsd(price: Price, promptTokens: number, completionTokens: number): number {
  return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}

export function formatUsd(usd: number): string {
  return `$${usd < 0.01 && usd > 0 ? usd.toFixed(6) : usd.toFixed(4)}`;
}
