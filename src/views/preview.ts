import { promptText, toMessages } from "../pipeline/build.ts";
import { drawSample, labelsOf, newFaker, promptOf } from "../dataset/draw.ts";
import { checkSampling, type Sampling } from "../dataset/sampling.ts";
import type { Dataset } from "../dataset/spec.ts";
import type { Params } from "../dataset/params.ts";
import type { Row } from "../dataset/inputs/index.ts";
import { keptValues } from "../dataset/input-file.ts";
import type { Draw, StageOptions } from "../dataset/spec.ts";
import { batchPrice } from "../api/pricing.ts";
import { UserError } from "../errors.ts";
import { DEFAULT_MODEL } from "../api/models.ts";
import { checkStages, datasetOfStage } from "../pipeline/stages.ts";
import { prefixLines } from "../pipeline/prefix-estimate.ts";
import { vendorOfModel } from "../api/providers/index.ts";

/** Requests a preview prices the prefix cache over: a run's size is not known yet. */
const PREVIEW_REQUESTS = 1000;

/**
 * `synthai preview`: the first `count` samples' draws and prompts, exactly as a run with this seed would build
 * them.
 */
export async function previewSamples(
  params: Params,
  dataset: Dataset,
  seed: number,
  count: number,
  locale?: string,
  sampling: Sampling = "random",
  input?: { rows: Row[]; columns: string[]; perRow: number },
): Promise<string> {
  checkSampling(sampling, params, count);
  const faker = await newFaker(locale);
  const blocks: string[] = [];
  let first: Draw | undefined;
  for (let index = 0; index < count; index++) {
    const row = input?.rows[Math.floor(index / input.perRow) % input.rows.length];
    const draw = drawSample(
      { faker, params, dataset, seed, sampling },
      index,
      row && { values: row.values, kept: keptValues(row, input!.columns) },
    );
    // What a run of these prompts would refuse before building, preview refuses too.
    if (index === 0) checkStages(dataset, draw, labelsOf(draw));
    first ??= draw;
    const labels = Object.entries(labelsOf(draw))
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    const prompt = promptText(toMessages(promptOf(dataset, draw, index)));
    blocks.push(
      `── sample ${index + 1} (seed ${seed}${row ? `, input row ${row.number + 1}` : ""})\n ` +
        `  params: ${labels}\n   ${prompt.replace(/\n/g, "\n   ")}`,
    );
  }
  const cache = await prefixLines(dataset, previewPricing(dataset), first!, PREVIEW_REQUESTS);
  return `${blocks.join("\n\n")}\n\n── prefix cache (at batch price)\n${cache.join("\n")}`;
}

/** A model's batch price, if the catalogue knows it: a preview needs no price to show the prompts. */
function knownPrice(model: string) {
  try {
    return batchPrice(model);
  } catch (error) {
    if (error instanceof UserError) return undefined;
    throw error;
  }
}

/** Each stage's model (its prompt file's, else the first's, else the default) at its batch price. */
function previewPricing(dataset: Dataset) {
  const firstModel = (dataset as StageOptions).model ?? DEFAULT_MODEL;
  return Array.from({ length: 1 + (dataset.stages?.length ?? 0) }, (_, i) => {
    const model = (datasetOfStage(dataset, i + 1) as StageOptions).model ?? firstModel;
    return { model, price: knownPrice(model), vendor: vendorOfModel(model) };
  });
}
