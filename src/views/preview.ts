import { promptText, toMessages } from "../pipeline/build.ts";
import { drawSample, labelsOf, newFaker, promptOf } from "../dataset/draw.ts";
import { checkSampling, type Sampling } from "../dataset/sampling.ts";
import type { Dataset } from "../dataset/spec.ts";
import type { Params } from "../dataset/params.ts";
import type { Row } from "../dataset/inputs/index.ts";
import { keptValues } from "../dataset/input-file.ts";
import { checkPlaceholders } from "../dataset/prompt-file.ts";

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
  for (let index = 0; index < count; index++) {
    const row = input?.rows[Math.floor(index / input.perRow) % input.rows.length];
    const draw = drawSample(
      { faker, params, dataset, seed, sampling },
      index,
      row && { values: row.values, kept: keptValues(row, input!.columns) },
    );
    if (index === 0) checkPlaceholders(dataset, draw);
    const labels = Object.entries(labelsOf(draw))
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    const prompt = promptText(toMessages(promptOf(dataset, draw, index)));
    blocks.push(
      `── sample ${index + 1} (seed ${seed}${row ? `, input row ${row.number + 1}` : ""})\n ` +
        `  params: ${labels}\n   ${prompt.replace(/\n/g, "\n   ")}`,
    );
  }
  return blocks.join("\n\n");
}
