// What a run may still send: the budget's worst case and the service's queue limits.
import { sentOf, type BatchRecord, type Manifest } from "../run/manifest.ts";
import { costUsd, formatUsd } from "../api/pricing.ts";
import { spentUsd } from "../run/totals.ts";
import { priceOf } from "./transport.ts";
import { stageSettings } from "../run/config.ts";

/** Worst-case and likely cost of the requests still to be sent, each at its stage's price (its vendor's). */
export function estimate(manifest: Manifest): string {
  const { config } = manifest;
  const open = manifest.batches.filter((b) => b.step !== "collected");
  const promptTokens = open.reduce((s, b) => s + b.promptTokens, 0);
  const requests = open.reduce((s, b) => s + b.requests, 0);
  const completions = open.reduce((s, b) => s + b.requests * stageSettings(config, b.stage).maxTokens, 0);
  const worst = open.reduce((s, b) => s + worstCase(manifest, b), 0);
  const promptCost = open.reduce((s, b) => s + costUsd(priceOf(config, b), b.promptTokens, 0), 0);
  return (
    `estimate: ${requests} requests in ${open.length} batch(es), ${promptTokens} prompt ` +
    `tokens → ${formatUsd(promptCost)} ` +
    `+ at most ${completions} completion tokens ` +
    `→ at most ${formatUsd(worst)} at ${config.mode} price` +
    (config.budgetUsd !== undefined ? ` (budget ${formatUsd(config.budgetUsd)})` : "")
  );
}

export function worstCase(manifest: Manifest, record: BatchRecord): number {
  const { config } = manifest;
  const { maxTokens } = stageSettings(config, record.stage);
  const sent = sentOf(record);
  const price = priceOf(config, record);
  // Every prompt token at its dearest: a Claude prompt's marked prefix may be written to the cache, above the input price.
  const written = (price.cacheWrite ?? 0) > price.input ? sent.promptTokens : 0;
  return costUsd(price, sent.promptTokens, sent.requests * maxTokens, 0, written);
}

/** May this batch be sent without any chance of going over the budget? */
export function fitsBudget(manifest: Manifest, record: BatchRecord): boolean {
  const budget = manifest.config.budgetUsd;
  if (budget === undefined) return true;
  const reserved = manifest.batches
    .filter((b) => b.step === "submitted" || b.step === "finished")
    .reduce((s, b) => s + worstCase(manifest, b), 0);
  return spentUsd(manifest) + reserved + worstCase(manifest, record) <= budget + 1e-12;
}

/**
 * What the budget leaves for requests sent directly before the first batch (the canary, a
 * pilot): the limit less what is spent and the first batch's worst case; undefined without a limit.
 */
export function roomBesideFirstBatch(manifest: Manifest): number | undefined {
  const budget = manifest.config.budgetUsd;
  if (budget === undefined) return undefined;
  return budget - spentUsd(manifest) - worstCase(manifest, manifest.batches[0]!);
}

/** Keeps within --max-in-flight batches and --max-enqueued-tokens; one batch always may go. */
export function fitsLimits(manifest: Manifest, record: BatchRecord): boolean {
  const inFlight = manifest.batches.filter((b) => b.step === "submitted");
  if (inFlight.length === 0) return true;
  const { maxInFlight, maxEnqueuedTokens } = manifest.config;
  if (maxInFlight !== undefined && inFlight.length >= maxInFlight) return false;
  const enqueued = inFlight.reduce((s, b) => s + sentOf(b).promptTokens, 0);
  return maxEnqueuedTokens === undefined || enqueued + sentOf(record).promptTokens <= maxEnqueuedTokens;
}
