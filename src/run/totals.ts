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
  batches: Record<string, number>;
  costUsd: number;
  state: string;
  reason?: string;
}

export function summarize(manifest: Manifest): RunSummary {
  const batches: Record<string, number> = {};
  for (const b of manifest.batches) {
    const key = b.status ?? b.step;
    batches[key] = (batches[key] ?? 0) + 1;
  }
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    model: manifest.config.model,
    asked: manifest.config.samples,
    valid: manifest.batches.reduce((s, b) => s + (b.collected?.ok ?? 0), 0),
    givenUp: manifest.batches.reduce((s, b) => s + (b.collected?.givenUp ?? 0), 0),
    // A sample asked again is in its chunk's second attempt, whatever later ones there were.
    reRequested: manifest.batches.filter((b) => b.attempt === 2).reduce((s, b) => s + b.requests, 0),
    batches,
    costUsd: spentUsd(manifest),
    state: manifest.state,
    ...(manifest.reason ? { reason: manifest.reason } : {}),
  };
}

export function spentUsd(manifest: Manifest): number {
  return manifest.batches.reduce((s, b) => s + (b.collected?.costUsd ?? 0), manifest.pilot?.costUsd ?? 0);
}
