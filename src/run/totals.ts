import { cacheSavedUsd, formatUsd, shareOf } from "../api/pricing.ts";
import { serviceOf, stageSettings } from "./config.ts";
import { stageOf, type Collected, type Manifest } from "./manifest.ts";

/** What a run has made and spent so far, read off its manifest: the numbers every view shows. */
export interface RunSummary {
  id: string;
  createdAt: string;
  model: string;
  asked: number;
  valid: number;
  /** Samples given up, summed over every stage (one given up goes to no later stage). */
  givenUp: number;
  /** Samples asked more than once in a stage (each counted once per stage, however many times it was asked). */
  reRequested: number;
  /** Answers left empty because reasoning used the whole token limit. */
  reasoningEmpty: number;
  batches: Record<string, number>;
  costUsd: number;
  /** Of which --dedup semantic's embeddings, where an export made them. */
  embeddingsUsd?: number;
  /** What the same answers would have cost at the list price. */
  standardUsd: number;
  promptTokens: number;
  /** Prompt tokens the service billed as cached, and what that saved against the input price. */
  cachedTokens: number;
  cacheSavedUsd: number;
  reasoningTokens: number;
  /** Requests the cache of answers answered (never sent, costing nothing), and what they would have cost. */
  fromCache: { hits: number; savedUsd: number };
  state: string;
  reason?: string;
  /** With stages: each one's requests (first attempts), valid answers, given up, cost and prompt cache. */
  stages?: {
    stage: number;
    model: string;
    /** Whose service ran it (OpenAI, Anthropic, Groq, …). */
    service: string;
    requests: number;
    valid: number;
    givenUp: number;
    costUsd: number;
    promptTokens: number;
    cachedTokens: number;
    cacheSavedUsd: number;
  }[];
  /** With stages, as last exported: the samples kept after the last, and those dropped by stage and reason. */
  kept?: number;
  dropped?: Record<string, number>;
  /** --fill: the samples to keep. */
  fillTarget?: number;
  /** The lines its last finished export to its own output holds (a chat line needs an answer). */
  written?: number;
}

/** The samples a run made: those kept after its stages, or its valid ones. */
export function madeCount(summary: RunSummary): number {
  return summary.kept ?? summary.valid;
}

/**
 * What a finished run made, for the exit codes of the run and of `status`: nothing valid, fewer
 * kept than --fill's target (--max-draws stopped it; resumable), or what was asked.
 */
export function madeOf(summary: RunSummary): "nothing" | "short" | "all" {
  const made = madeCount(summary);
  if (made === 0 || summary.written === 0) return "nothing";
  return summary.fillTarget !== undefined && made < summary.fillTarget ? "short" : "all";
}

function writtenOf(manifest: Manifest): { written?: number } {
  const own = manifest.exports?.find((e) => e.csvFile === manifest.config.output && e.done);
  return own?.rows !== undefined ? { written: own.rows } : {};
}

export function summarize(manifest: Manifest): RunSummary {
  const batches: Record<string, number> = {};
  for (const b of manifest.batches) {
    const key = b.status ?? b.step;
    batches[key] = (batches[key] ?? 0) + 1;
  }
  const sumOf = (records: Manifest["batches"], pick: (c: Collected) => number) =>
    records.reduce((s, b) => s + (b.collected ? pick(b.collected) : 0), 0);
  const sum = (pick: (c: Collected) => number) => sumOf(manifest.batches, pick);
  // Samples are made in stage 1; later stages (a judge, a rewrite) ask about them again.
  const generation = manifest.batches.filter((b) => stageOf(b) === 1);
  const stageNumbers = [...new Set(manifest.batches.map(stageOf))].sort((a, b) => a - b);
  const cachedTokens = sum((c) => c.cachedTokens ?? 0);
  const batchesUsd = sum((c) => c.costUsd);
  // Batch price is the list price times the provider's share (half, on OpenAI).
  const share = shareOf(manifest.config);
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    model: manifest.config.model,
    asked: manifest.config.samples,
    valid: sumOf(generation, (c) => c.ok),
    givenUp: sum((c) => c.givenUp),
    // A sample asked again is in its chunk's second attempt of that stage, whatever later ones there
    // were; one built but never sent (a run cancelled before it) was not asked again.
    reRequested: manifest.batches
      .filter((b) => b.attempt === 2 && b.step !== "pending")
      .reduce((s, b) => s + b.requests, 0),
    reasoningEmpty: sumOf(generation, (c) => c.reasoning ?? 0),
    ...(stageNumbers.length > 1 || manifest.stageCounts
      ? {
          stages: stageNumbers.map((stage) => {
            const records = manifest.batches.filter((b) => stageOf(b) === stage);
            return {
              stage,
              model: stageSettings(manifest.config, stage).model,
              service: serviceOf(manifest.config, stage),
              requests: records.filter((b) => b.attempt === 1).reduce((s, b) => s + b.requests, 0),
              valid: sumOf(records, (c) => c.ok),
              givenUp: sumOf(records, (c) => c.givenUp),
              costUsd: sumOf(records, (c) => c.costUsd),
              promptTokens: sumOf(records, (c) => c.promptTokens),
              cachedTokens: sumOf(records, (c) => c.cachedTokens ?? 0),
              cacheSavedUsd: savedByCache(manifest, records),
            };
          }),
        }
      : {}),
    ...(manifest.stageCounts
      ? { kept: manifest.stageCounts.kept, dropped: manifest.stageCounts.dropped }
      : {}),
    ...(manifest.config.fill ? { fillTarget: manifest.config.fill.target } : {}),
    ...writtenOf(manifest),
    batches,
    costUsd: spentUsd(manifest),
    standardUsd: (batchesUsd + embeddingsUsd(manifest)) / share + directUsd(manifest),
    ...(manifest.embeddings ? { embeddingsUsd: embeddingsUsd(manifest) } : {}),
    promptTokens: sum((c) => c.promptTokens),
    cachedTokens,
    cacheSavedUsd: savedByCache(manifest, manifest.batches),
    reasoningTokens: sum((c) => c.reasoningTokens ?? 0),
    fromCache: fromCacheOf(manifest),
    state: manifest.state,
    ...(manifest.reason ? { reason: manifest.reason } : {}),
  };
}

/** What the cached prompt tokens of these batches saved, each stage's at its own model's price. */
function savedByCache(manifest: Manifest, records: Manifest["batches"]): number {
  return records.reduce(
    (s, b) =>
      s + cacheSavedUsd(stageSettings(manifest.config, stageOf(b)).price, b.collected?.cachedTokens ?? 0),
    0,
  );
}

function fromCacheOf(manifest: Manifest): RunSummary["fromCache"] {
  const looked = manifest.batches.filter((b) => b.cached);
  return {
    hits: looked.reduce((s, b) => s + b.cached!.hits, 0),
    savedUsd: looked.reduce((s, b) => s + b.cached!.savedUsd, 0),
  };
}

/** `; 120 answered from the cache (saved $0.41)`, or nothing when the cache answered none. */
export function fromCacheText(summary: Pick<RunSummary, "fromCache">, separator = "; "): string {
  const { hits, savedUsd } = summary.fromCache;
  return hits ? `${separator}${hits} answered from the cache (saved ${formatUsd(savedUsd)})` : "";
}

/** What was sent directly, at the list price: the canary and the pilot. */
function directUsd(manifest: Manifest): number {
  return (manifest.pilot?.costUsd ?? 0) + (manifest.canary?.costUsd ?? 0);
}

export function spentUsd(manifest: Manifest): number {
  return manifest.batches.reduce(
    (s, b) => s + (b.collected?.costUsd ?? 0),
    directUsd(manifest) + embeddingsUsd(manifest),
  );
}

/** What --dedup semantic's embeddings cost, at batch price. */
export function embeddingsUsd(manifest: Manifest): number {
  const { embeddings } = manifest;
  return (embeddings?.batches ?? []).reduce(
    (s, b) => s + (b.collected?.costUsd ?? 0),
    embeddings?.earlierUsd ?? 0,
  );
}

/**
 * With stages: a row each (its model, what it asked, what came back valid, its cost), then what was kept and
 * dropped.
 */
export function stageRows(summary: RunSummary): [string, string][] {
  if (!summary.stages) return [];
  const rows = summary.stages.map((t): [string, string] => [
    `stage ${t.stage}`,
    `${t.model} on ${t.service}: ${t.requests} asked, ${t.valid} valid, ${t.givenUp} given up, ${formatUsd(t.costUsd)}; ` +
      cachedText(t),
  ]);
  if (summary.kept !== undefined) rows.push(["kept", `${summary.kept}${droppedText(summary, "; ")}`]);
  return rows;
}

/** What the service's prompt cache took of the prompts: "1920 of 4200 prompt tokens cached (45.7%, saved $0.0012)". */
export function cachedText(t: { promptTokens: number; cachedTokens: number; cacheSavedUsd: number }): string {
  const share = t.promptTokens ? ((100 * t.cachedTokens) / t.promptTokens).toFixed(1) : "0.0";
  return (
    `${t.cachedTokens} of ${t.promptTokens} prompt tokens cached (${share}%, ` +
    `saved ${formatUsd(t.cacheSavedUsd)})`
  );
}

/** What the stages dropped and why, each after `separator`: `; dropped 3 (stage 2: keep Score >= 4)`. */
export function droppedText(summary: Pick<RunSummary, "dropped">, separator: string): string {
  return Object.entries(summary.dropped ?? {})
    .map(([why, n]) => `${separator}dropped ${n} (${why})`)
    .join("");
}
