import type { Faker } from "@faker-js/faker";
import { UserError } from "./errors.ts";
import { chooseIndexes, type Sampling } from "./sampling.ts";
import type { Dataset, Draw, Params } from "./spec.ts";

/**
 * Draws sample `index` of a run: each parameter's value (by default uniformly, with
 * replacement, as the seed does; see sampling.ts), then the spec's generated values. Seeded by (run seed, index), so any sample
 * can be drawn again on its own, in any order, with the same result.
 */
export function drawSample(faker: Faker, params: Params, dataset: Dataset, seed: number, index: number, sampling: Sampling = "random"): Draw {
  faker.seed([seed, index]);
  const indexes = chooseIndexes(sampling, params, seed, index);
  const draw: Draw = { params: {}, values: {} };
  let parameter = 0;
  for (const [field, parameters] of Object.entries(params)) {
    const chosen: Record<string, string> = {};
    for (const [name, values] of Object.entries(parameters)) chosen[name] = indexes ? values[indexes[parameter++]!]! : faker.helpers.arrayElement(values);
    draw.params[field] = chosen;
  }
  draw.values = specCall(dataset, "generate", index, () => dataset.generate?.(faker, draw) ?? {});
  return draw;
}

/** The prompt of a draw; a spec that throws is reported as the spec's fault, with the sample. */
export function promptOf(dataset: Dataset, draw: Draw, index: number) {
  return specCall(dataset, "prompt", index, () => dataset.prompt(draw));
}

function specCall<T>(dataset: Dataset, name: string, index: number, call: () => T): T {
  try {
    return call();
  } catch (error) {
    const where = (dataset as { source?: string }).source ?? "the spec";
    throw new UserError(`${where}: ${name}() threw for sample ${index + 1}: ${(error as Error)?.message ?? error}`, "fix the spec; `synthai preview` shows prompts without any API call");
  }
}

/**
 * A faker for generated values in `locale` (e.g. "de", "fr", "es"), falling back to English.
 * Only that locale is loaded: all of faker's locales together take ~45 MB.
 */
export async function newFaker(locale = "en"): Promise<Faker> {
  const unknown = new UserError(`unknown locale "${locale}"`, "use one of faker's locales, e.g. en, de, fr, es, it, pt_BR, ja");
  if (!/^[a-z]{2,3}(_[A-Za-z0-9]{2,4})*$/.test(locale) || locale === "base") throw unknown;
  try {
    return ((await import(`@faker-js/faker/locale/${locale}`)) as { faker: Faker }).faker;
  } catch {
    throw unknown;
  }
}

/** The label columns of a draw, in params.json order, then generated values. */
export function labelsOf(draw: Draw): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const chosen of Object.values(draw.params)) Object.assign(labels, chosen);
  return Object.assign(labels, draw.values);
}
