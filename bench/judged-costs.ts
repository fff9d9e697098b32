// The judged pipeline's cost per kept sample, stage by stage, against its floor: every drawn
// sample's tokens of every stage it went through, once (its first valid answer: nothing paid
// twice), at the stage model's batch price, with the prompt tokens the service billed as a
// cached prefix at the cached price. What was paid is what synthai recorded for every batch,
// re-requests included. Both come from the run folder: the fake's token counts and the
// catalogue's prices, so they show the shape, not a bill.
import { join } from "node:path";
import { batchPrice, costUsd } from "../src/api/pricing.ts";
import { readJsonlBatches } from "../src/io/jsonl.ts";
import { samplesFile } from "../src/run/files.ts";
import { loadManifest } from "../src/run/manifest.ts";
import type { SampleResult } from "../src/run/records.ts";

interface StageCost {
  model: string;
  requests: number;
  paidUsd: number;
  floorUsd: number;
  cachedTokens: number;
  promptTokens: number;
}

/** Each stage's requests, what they cost and their floor, from a finished run folder. */
export async function stageCosts(runDir: string): Promise<{ stages: StageCost[]; kept: number }> {
  const manifest = await loadManifest(runDir);
  const { config } = manifest;
  const modelOf = (stage: number) =>
    stage === 1 ? config.model : (config.stages?.[stage - 2]?.model ?? config.model);
  const stages: StageCost[] = [];
  const answered = new Set<string>();
  for (const record of manifest.batches) {
    if (!record.collected) continue;
    const stage = record.stage ?? 1;
    const model = modelOf(stage);
    const cost = (stages[stage - 1] ??= {
      model,
      requests: 0,
      paidUsd: 0,
      floorUsd: 0,
      cachedTokens: 0,
      promptTokens: 0,
    });
    cost.requests += record.requests;
    cost.paidUsd += record.collected.costUsd;
    const price = batchPrice(model);
    for await (const samples of readJsonlBatches<SampleResult>(join(runDir, samplesFile(record))))
      for (const s of samples) {
        const key = `${stage}:${s.custom_id}`;
        if (s.status !== "ok" || answered.has(key)) continue;
        answered.add(key);
        cost.floorUsd += costUsd(price, s.prompt_tokens, s.completion_tokens, s.cached_tokens ?? 0);
        cost.cachedTokens += s.cached_tokens ?? 0;
        cost.promptTokens += s.prompt_tokens;
      }
  }
  return { stages, kept: manifest.stageCounts?.kept ?? 0 };
}

/** The table the bench prints: per stage and in all, paid and floor per 1,000 kept samples. */
export function costTable({ stages, kept }: { stages: StageCost[]; kept: number }): string[] {
  const per1000 = (usd: number) => `$${((usd / kept) * 1000).toFixed(4)}`;
  const row = (name: string, model: string, c: Omit<StageCost, "model">) =>
    `| ${name} | ${model} | ${c.requests} | ${((c.cachedTokens / Math.max(1, c.promptTokens)) * 100).toFixed(0)}% | $${c.paidUsd.toFixed(2)} | ${per1000(c.paidUsd)} | ${per1000(c.floorUsd)} | ${(c.paidUsd / c.floorUsd).toFixed(3)} |`;
  const sum = (key: keyof Omit<StageCost, "model">) => stages.reduce((s, c) => s + c[key], 0);
  const total = {
    requests: sum("requests"),
    paidUsd: sum("paidUsd"),
    floorUsd: sum("floorUsd"),
    cachedTokens: sum("cachedTokens"),
    promptTokens: sum("promptTokens"),
  };
  return [
    "| stage | model | requests | prompt tokens cached | paid | paid per 1,000 kept | floor per 1,000 kept | paid / floor |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...stages.map((c, i) => row(String(i + 1), c.model, c)),
    row("all", "", total),
  ];
}
