import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import type { BatchRequest } from "../run/records.ts";
import { endpointOf } from "../run/config.ts";
import { readJsonl } from "../io/jsonl.ts";
import type { Manifest } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";
import { costUsd, directPrice, formatUsd, type Price } from "../api/pricing.ts";
import { withTokenCounter } from "../api/tokens.ts";
import { roomBesideFirstBatch } from "./budget.ts";
import { UserError } from "../errors.ts";
import { lastStage } from "../run/config.ts";
import { verdictOf } from "./verdict.ts";
import { directCache } from "./cached.ts";

export interface PilotOptions {
  /** Send this many requests directly first, show them and the projected cost, and ask. */
  pilot?: number;
  yes?: boolean;
}

/**
 * --pilot N: sends the first N requests directly (full price), shows what came back and what
 * the whole run would cost, then asks whether to go on. Without a terminal it never asks:
 * it goes on only with --yes.
 */
export async function runPilot(run: RunContext, count: number, options: PilotOptions): Promise<boolean> {
  const { config, manifest, log } = run;
  const requests: BatchRequest[] = [];
  for await (const request of readJsonl<BatchRequest>(join(run.dir, manifest.batches[0]!.requestsFile))) {
    if (requests.length >= count) break;
    requests.push(request);
  }
  const standard = directPrice(config);
  await checkPilotFits(manifest, requests, standard);
  let valid = 0;
  let pilotCost = 0;
  let batchCost = 0;
  const verdicts = await askPilot(run, requests, standard);
  for (const [i, { verdict, fromCache }] of verdicts.entries()) {
    if ("corrupt" in verdict) continue;
    const cached = verdict.cached_tokens ?? 0;
    if (!fromCache) pilotCost += costUsd(standard, verdict.prompt_tokens, verdict.completion_tokens, cached);
    batchCost += costUsd(config.price, verdict.prompt_tokens, verdict.completion_tokens, cached);
    if (verdict.status === "ok") valid++;
    const shown = verdict.fields
      ? Object.entries(verdict.fields)
          .map(([k, v]) => `${k}: ${v.replace(/\s+/g, " ").slice(0, 100)}`)
          .join(" | ")
      : verdict.reason;
    log(
      `pilot ${i + 1}/${requests.length} ${verdict.status}${fromCache ? " (from the cache)" : ""}: ${shown}`,
    );
  }
  run.store.update((manifest) => (manifest.pilot = { requests: requests.length, valid, costUsd: pilotCost }));
  const perValid = valid ? batchCost / valid : Infinity;
  // The pilot asks the first stage only: what later stages cost is not in its figure, and it says so.
  const later = lastStage(config) - 1;
  log(
    `pilot: ${valid}/${requests.length} valid, cost ${formatUsd(pilotCost)}; ` +
      `${later ? "the first stage of " : ""}the whole run would ` +
      `cost about ${Number.isFinite(perValid) ? formatUsd(perValid * config.samples) : "?"} ` +
      `(${Number.isFinite(perValid) ? formatUsd(perValid) : "?"} per valid sample, retries included)` +
      (later ? `; its ${later} later stage(s) come on top (\`--dry-run\` bounds them)` : ""),
  );
  if (options.yes) return true;
  if (!process.stdin.isTTY) {
    log(
      `not asking without a terminal: pass --yes to go on, or continue later with \`synthai resume ${manifest.id}\``,
    );
    return false;
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`submit the batch for ${config.samples} samples? [y/N] `);
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Sends the pilot's requests at once, each answered by the cache of answers where it can be (a hit
 * is not sent, nor paid), the others' answers kept, as a batch's are (the batch then finds them).
 */
async function askPilot(run: RunContext, requests: BatchRequest[], standard: Price) {
  const record = run.manifest.batches[0]!;
  const service = run.serviceFor(record);
  const endpoint = endpointOf(run.config);
  const cache = await directCache(run, record);
  const verdicts = await Promise.all(
    requests.map(async (request) => {
      let body = cache?.lookup(request, standard);
      const fromCache = body !== undefined;
      if (!fromCache) {
        const sent = await service.send(endpoint.url, request.body, "sending the pilot requests");
        if (!sent.ok) throw sent.failure;
        body = sent.body;
        cache?.keep(request, body, standard);
      }
      const line = JSON.stringify({ custom_id: request.custom_id, response: { status_code: 200, body } });
      return { verdict: verdictOf(line, run.dataset, endpoint), fromCache };
    }),
  ).finally(() => cache?.done());
  return verdicts;
}

/**
 * The pilot goes only if its worst case (exact prompts, every answer at the token limit) fits the budget beside
 * the first batch's.
 */
async function checkPilotFits(manifest: Manifest, requests: BatchRequest[], price: Price): Promise<void> {
  const { config } = manifest;
  const room = roomBesideFirstBatch(manifest);
  if (room === undefined) return;
  const endpoint = endpointOf(config);
  const promptTokens = await withTokenCounter(async (counter) => {
    let tokens = 0;
    for (const request of requests) tokens += await counter.count(endpoint.prompt(request.body));
    return tokens;
  });
  const worst = costUsd(price, promptTokens, requests.length * config.maxTokens);
  if (worst > room)
    throw new UserError(
      `the pilot's ${requests.length} requests could cost up to ${formatUsd(worst)} at full price, ` +
        `and the budget leaves ${formatUsd(Math.max(0, room))} beside the first batch`,
      "ask for fewer with --pilot, raise -l, or leave --pilot out",
    );
}
