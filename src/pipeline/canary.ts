// Before a batch: is the model there for this key, and will the service take what synthai
// sends? A table cannot know every model and server, so one request goes first, directly.
import type { BatchService, RemoteModel } from "../api/batch-service.ts";
import type { BatchRequest } from "../run/records.ts";
import { endpointOf } from "../run/config.ts";
import { daysLeft } from "../api/models.ts";
import { costUsd, didYouMean, directPrice, formatUsd } from "../api/pricing.ts";
import { EXIT, UserError } from "../errors.ts";
import { readJsonl } from "../io/jsonl.ts";
import type { Log } from "../io/log.ts";
import type { RunConfig } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";
import { join } from "node:path";
import { withTokenCounter } from "../api/tokens.ts";
import { roomBesideFirstBatch } from "./budget.ts";

/** What the canary may cost at most, at the price of a direct request. */
const CANARY_USD = 0.01;

/**
 * Asks the service about the model: unknown to this key, or shutting down before a batch sent
 * now could finish (24 hours), stops the run; shutting down within 30 days is a warning.
 */
export async function checkModel(
  service: BatchService,
  config: RunConfig,
  log: Log,
  today = new Date(),
): Promise<void> {
  let found: RemoteModel | undefined;
  try {
    found = await service.model(config.model);
  } catch (error) {
    if (error instanceof UserError && error.transient)
      return log(`warning: could not ask the service about ${config.model}; going on`);
    throw error;
  }
  if (!found) {
    const offered = (await service.models()).map((model) => model.id);
    throw new UserError(
      `the service has no model ${config.model} for this key`,
      `${didYouMean(config.model, offered)}check --model; ` +
        "`synthai models --check` compares the catalogue with what the service offers",
      EXIT.USAGE,
    );
  }
  const shutdown = found.shutdown_date;
  const days = daysLeft(shutdown, today);
  if (days === undefined) return;
  if (days <= 1)
    throw new UserError(
      `model ${config.model} shuts down on ${shutdown}, before a batch sent now could finish`,
      "choose a current model; `synthai models` lists them",
      EXIT.USAGE,
    );
  if (days <= 30) log(`warning: model ${config.model} shuts down on ${shutdown}, in ${days} days`);
}

/**
 * Sends the run's first request directly, for at most a cent: if the service refuses it, it
 * would refuse every line of the batch, a day later. Nothing is submitted then, and its error
 * is shown. Its cost goes into the run's total.
 */
export async function sendCanary(run: RunContext): Promise<void> {
  const { config, manifest, log } = run;
  const first = manifest.batches[0];
  if (!first) return;
  let request: BatchRequest | undefined;
  for await (const line of readJsonl<BatchRequest>(join(run.dir, first.requestsFile))) {
    request = line;
    break;
  }
  if (!request) return;
  const endpoint = endpointOf(config);
  const price = directPrice(config);
  const prompt = endpoint.prompt(request.body);
  const outputTokensFor = (usd: number, promptUsd: number) =>
    Math.floor(((usd - promptUsd) * 1_000_000) / Math.max(price.output, 1e-9));
  let tokens = outputTokensFor(
    CANARY_USD,
    costUsd(price, first.promptTokens / Math.max(1, first.requests), 0),
  );
  if (tokens < 16) return log("canary skipped: one request would cost more than a cent");
  const room = roomBesideFirstBatch(manifest);
  if (room !== undefined) {
    // Inside the budget, beside the first batch's worst case: its exact prompt, at most this many tokens out.
    const promptUsd = costUsd(price, await withTokenCounter((counter) => counter.count(prompt)), 0);
    tokens = Math.min(tokens, outputTokensFor(room, promptUsd));
    if (tokens < 16) return log("canary skipped: it would not fit the budget beside the first batch");
  }
  const body = endpoint.body(prompt.messages, {
    model: config.model,
    maxTokens: Math.min(config.maxTokens, tokens),
    ...(config.temperature !== undefined ? { temperature: config.temperature } : {}),
    ...(config.reasoningEffort ? { effort: config.reasoningEffort } : {}),
    ...(prompt.schema ? { schema: prompt.schema as Record<string, unknown> } : {}),
  });
  let sent;
  try {
    sent = await run.serviceFor(first).send(endpoint.url, body);
  } catch (error) {
    // Nothing answered (the service was asked again, with backoff): the batch will tell.
    return log(
      `warning: the canary request did not get through (${(error as Error).message.split("\n")[0]}); going on`,
    );
  }
  if (!sent.ok && sent.transient)
    return log(
      `warning: the canary request did not get through (${sent.body.error.message.split("\n")[0]}); going on`,
    );
  if (sent.ok) {
    const answer = endpoint.read(sent.body);
    const usd = costUsd(price, answer.promptTokens, answer.completionTokens, answer.cachedTokens);
    run.store.update((manifest) => (manifest.canary = { costUsd: usd }));
    return log(`canary: the service took the first request (${formatUsd(usd)})`);
  }
  const said = sent.body.error.message;
  run.store.update((manifest) => {
    manifest.canary = { costUsd: 0, refused: said };
    manifest.state = "failed";
    manifest.reason = `the service refused the first request: ${said}`;
  });
  throw new UserError(
    `the service refused the run's first request (${sent.status}): ${said}`,
    "nothing was submitted; fix the model or the request's options " +
      "(--reasoning-effort, --temperature, --max-tokens) and start again",
    EXIT.USAGE,
  );
}
