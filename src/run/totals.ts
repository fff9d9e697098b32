import { providerFor } from "../api/providers/index.ts";
import type { Manifest } from "./manifest.ts";

/** What a run has made and spent so far, read off its manifest: the numbers every view shows. */
export interface RunSummary {
  id: string;
  createdAt: string;
  model: string;
  asked: number;
  valid: number;
  givenUp: number;
  /** Samples asked more than once (each counted once, however many times it was asked). */
  reRequested: number;
  /** Answers left empty because reasoning used the whole token limit. */
  reasoningEmpty: number;
  batches: Record<string, number>;
  costUsd: number;
  /** What the same answers would have cost at the list price. */
  standardUsd: number;
  promptTokens: number;
  /** Prompt tokens the service billed as cached, and what that saved against the input price. */
  cachedTokens: number;
  cacheSavedUsd: number;
  reasoningTokens: number;
  state: string;
  reason?: string;
}

export function summarize(manifest: Manifest): RunSummary {
  const batches: Record<string, number> = {};
  for (const b of manifest.batches) {
    const key = b.status ?? b.step;
    batches[key] = (batches[key] ?? 0) + 1;
  }
  const sum = (pick: (c: NonNullable<Manifest["batches"][number]["collected"]>) => number) =>
    manifest.batches.reduce((s, b) => s + (b.collected ? pick(b.collected) : 0), 0);
  const { price, mode } = manifest.config;
  const cachedTokens = sum((c) => c.cachedTokens ?? 0);
  const batchesUsd = sum((c) => c.costUsd);
  // Batch price is the list price times the provider's share (half, on OpenAI).
  const share = mode === "sync" ? 1 : providerFor(manifest.config.provider).batchShare;
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    model: manifest.config.model,
    asked: manifest.config.samples,
    valid: sum((c) => c.ok),
    givenUp: sum((c) => c.givenUp),
    // A sample asked again is in its chunk's second attempt, whatever later ones there were.
    reRequested: manifest.batches.filter((b) => b.attempt === 2).reduce((s, b) => s + b.requests, 0),
    reasoningEmpty: sum((c) => c.reasoning ?? 0),
    batches,
    costUsd: spentUsd(manifest),
    standardUsd: batchesUsd / share + directUsd(manifest),
    promptTokens: sum((c) => c.promptTokens),
    cachedTokens,
    cacheSavedUsd: (cachedTokens * (price.input - (price.cachedInput ?? price.input))) / 1_000_000,
    reasoningTokens: sum((c) => c.reasoningTokens ?? 0),
    state: manifest.state,
    ...(manifest.reason ? { reason: manifest.reason } : {}),
  };
}

/** What was sent directly, at the list price: the canary and the pilot. */
function directUsd(manifest: Manifest): number {
  return (manifest.pilot?.costUsd ?? 0) + (manifest.canary?.costUsd ?? 0);
}

export function spentUsd(manifest: Manifest): number {
  return manifest.batches.reduce((s, b) => s + (b.collected?.costUsd ?? 0), directUsd(manifest));
}
