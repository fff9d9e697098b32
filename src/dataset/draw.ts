import type { Faker } from "@faker-js/faker";
import { DRAW_STREAM, xoroshiroRandomizer, type DrawStream } from "./randomizer.ts";
import { UserError } from "../errors.ts";
import { withFastFake } from "./fake-template.ts";
import { chooseIndexes, type Sampling } from "./sampling.ts";
import type { Dataset, Draw, Message, PlannedStage } from "./spec.ts";
import type { Params } from "./params.ts";

/** What a run draws its samples from: the same for every sample of it. */
export interface Drawing {
  faker: Faker;
  params: Params;
  dataset: Dataset;
  seed: number;
  /** By default uniformly, with replacement (sampling.ts). */
  sampling?: Sampling | undefined;
}

/** An input row a sample starts from: all its values, and the columns kept in the output. */
export interface RowDrawn {
  values: Record<string, string>;
  kept: Record<string, string>;
}

/**
 * Draws sample `index` of a run: each parameter's value (by default uniformly, with
 * replacement, as the seed does; see sampling.ts), then the spec's generated values. Seeded by
 * (run seed, index), so any sample can be drawn again on its own, in any order, with the same result.
 */
export function drawSample(
  { faker, params, dataset, seed, sampling = "random" }: Drawing,
  index: number,
  row?: RowDrawn,
): Draw {
  faker.seed([seed, index]);
  const indexes = chooseIndexes(sampling, params, seed, index);
  const draw: Draw = { params: {}, values: {}, ...(row ? { row: row.values, kept: row.kept } : {}) };
  let parameter = 0;
  for (const [field, parameters] of Object.entries(params)) {
    const chosen: Record<string, string> = {};
    for (const [name, values] of Object.entries(parameters))
      chosen[name] = indexes ? values[indexes[parameter++]!]! : faker.helpers.arrayElement(values);
    draw.params[field] = chosen;
  }
  draw.values = specCall(dataset, "generate", index, () => dataset.generate?.(faker, draw) ?? {});
  return draw;
}

/** The prompt of a draw; a spec that throws, or returns no prompt, is reported as the spec's fault, with the sample. */
export function promptOf(dataset: Dataset, draw: Draw, index: number): string | Message[] {
  const prompt = specCall(dataset, "prompt", index, () => dataset.prompt(draw));
  if (typeof prompt === "string" || (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isMessage)))
    return prompt;
  const got = Array.isArray(prompt)
    ? "a list that is not of messages"
    : prompt === null
      ? "null"
      : typeof prompt;
  throw new UserError(
    `${sourceOf(dataset)}: prompt() returned ${got} for sample ${index + 1}`,
    "return a string, or a list of messages like " +
      '[{ role: "system", content: "…" }, { role: "user", content: "…" }]',
  );
}

function isMessage(message: unknown): message is Message {
  const { role, content } = (message ?? {}) as Partial<Message>;
  return (
    typeof content === "string" &&
    (role === "system" || role === "user" || role === "assistant" || role === "developer")
  );
}

/**
 * Draws the first samples and renders their prompts with a draw that refuses to read what
 * params.json or generate() does not have, so a spec written for other params stops here,
 * before anything is built, instead of sending "a problem with undefined" and paying for it.
 */
export function checkPrompts(
  drawing: Drawing,
  {
    samples,
    paramsFile,
    rowOf,
  }: { samples: number; paramsFile: string; rowOf: (index: number) => RowDrawn | undefined },
): void {
  for (let index = 0; index < Math.min(samples, 20); index++) {
    const draw = drawSample(drawing, index, rowOf(index));
    const strict: Draw = {
      ...(draw.row
        ? {
            row: refusingMissing(draw.row, (name) => [
              `the input column "${name}", which the input does not have`,
              "check the spelling against the file's header",
            ]),
            kept: draw.kept!,
          }
        : {}),
      params: refusingMissing(
        Object.fromEntries(
          Object.entries(draw.params).map(([field, chosen]) => [
            field,
            refusingMissing(chosen, (name) => [
              `${field}.${name}, which ${paramsFile} does not have`,
              `add "${name}" with its values under "${field}"`,
            ]),
          ]),
        ),
        (field) => [
          `the field "${field}", which ${paramsFile} does not have`,
          `add "${field}" with its parameters`,
        ],
      ),
      values: refusingMissing(draw.values, (name) => [
        `the generated value "${name}", which its generate() does not make`,
        "make it in generate()",
      ]),
    };
    promptOf(drawing.dataset, strict, index);
  }
}

function refusingMissing<T extends object>(target: T, describe: (key: string) => [string, string]): T {
  return new Proxy(target, {
    get(object, key, receiver) {
      if (typeof key === "string" && !(key in object) && key !== "toJSON" && key !== "then") {
        const [what, fix] = describe(key);
        throw new UserError(
          `the spec uses ${what}`,
          `${fix}, or pass the params the spec was written for with -j`,
        );
      }
      return Reflect.get(object, key, receiver);
    },
  });
}

function sourceOf(dataset: PlannedStage): string {
  return dataset.source ?? "the spec";
}

function specCall<T>(dataset: Dataset, name: string, index: number, call: () => T): T {
  try {
    return call();
  } catch (error) {
    if (error instanceof UserError) throw error;
    const where = sourceOf(dataset);
    throw new UserError(
      `${where}: ${name}() threw for sample ${index + 1}: ${(error as Error)?.message ?? error}`,
      "fix the spec; `synthai preview` shows prompts without any API call",
    );
  }
}

/**
 * A faker for generated values in `locale` (e.g. "de", "fr", "es"), falling back to English.
 * Only that locale is loaded: all of faker's locales together take ~45 MB.
 */
export async function newFaker(locale = "en", stream: DrawStream = DRAW_STREAM): Promise<Faker> {
  const unknown = new UserError(
    `unknown locale "${locale}"`,
    "use one of faker's locales, e.g. en, de, fr, es, it, pt_BR, ja",
  );
  if (!/^[a-z]{2,3}(_[A-Za-z0-9]{2,4})*$/.test(locale) || locale === "base") throw unknown;
  const { faker } = await import(`@faker-js/faker/locale/${locale}`).catch(() => {
    throw unknown;
  });
  if (stream === 1) return faker as Faker;
  const FakerClass = faker.constructor as typeof Faker;
  return withFastFake(new FakerClass({ locale: faker.rawDefinitions, randomizer: xoroshiroRandomizer() }));
}

/** What each label a draw gives is: an input column kept, a parameter or a generated value. */
export function drawnNames(draw: Draw): Map<string, string> {
  const names = new Map<string, string>();
  for (const name of Object.keys(draw.kept ?? {})) names.set(name, "an input column");
  for (const chosen of Object.values(draw.params))
    for (const name of Object.keys(chosen)) names.set(name, "a parameter of params.json");
  for (const name of Object.keys(draw.values)) names.set(name, "a generated value");
  return names;
}

/** The label columns of a draw: its input's kept columns, then params.json's order, then generated values. */
export function labelsOf(draw: Draw): Record<string, string> {
  // The input's kept columns first, then parameters, then generated values.
  const labels: Record<string, string> = { ...draw.kept };
  for (const chosen of Object.values(draw.params)) Object.assign(labels, chosen);
  return Object.assign(labels, draw.values);
}
