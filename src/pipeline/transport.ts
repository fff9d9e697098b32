// How a file of requests goes to the service: as a batch, or directly (chat completions one by
// one) — in sync mode, and in batch mode for a file smaller than the service takes as a batch
// (Cerebras: 10 requests). What it costs follows from how it goes.
import { directPrice, type Price } from "../api/pricing.ts";
import { providerFor } from "../api/providers/index.ts";
import { sentOf, type BatchRecord, type RunConfig } from "../run/manifest.ts";
import { stageSettings } from "../run/config.ts";

/** Where a file sent directly keeps the place of a batch id in its record. */
export const DIRECT = "sync";

/** A run that sends its files as batches (mode batch), rather than each request directly (mode sync). */
export function usesBatches(config: Pick<RunConfig, "mode">): boolean {
  return config.mode !== "sync";
}

/** A file whose requests went directly, not as a batch: nothing of it is on the service to cancel or fetch. */
export function sentDirectly(record: BatchRecord): boolean {
  return record.batchId === DIRECT;
}

export function sendsDirectly(config: RunConfig, record: BatchRecord): boolean {
  if (!usesBatches(config) || sentDirectly(record)) return true;
  if (record.step !== "pending") return false; // uploaded already: it goes as a batch
  return sentOf(record).requests < (providerFor(config.provider).minRequestsPerFile ?? 1);
}

/** The price of a file's requests: direct ones at the list price, batched ones at the run's batch price. */
export function priceOf(config: RunConfig, record: BatchRecord): Price {
  const { price, vendor } = stageSettings(config, record.stage);
  // A stage on another vendor is sent at that vendor's share of its list price.
  return sendsDirectly(config, record) ? directPrice({ ...config, price, vendor }) : price;
}
