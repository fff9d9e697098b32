// faker's helpers.fake ("{{location.buildingNumber}} {{location.street}}"), as faker 10 evaluates
// it, at a fraction of the cost: each "{{a.b.c}}" is resolved by the same steps, making the same
// random draws in the same order, so a seed draws the same values; but a pattern is split once,
// not parsed again at every use, and without the arrays faker makes at each step. A build spent
// most of its drawing in faker's parser, not in drawing. An expression with a call in it
// ("{{number.int(9)}}"), or one faker would refuse, is left to faker itself.
import type { Faker } from "@faker-js/faker";

type Fake = (pattern: string | ReadonlyArray<string>) => string;

/** Dotted names, none empty, no call, no brace: what is resolved here. */
const PLAIN = /^[^.({}]+(?:\.[^.({}]+)*$/;
/** Where a pattern's next expression starts. */
const OPENING = /{{[a-z]/;
/** Patterns remembered as templates (or undefined: scanned as faker does); a spec's own could be many. */
const MAX_REMEMBERED = 4096;

/**
 * A pattern split once into its texts and expressions, where faker's scan of it again after each
 * value put in can find nothing else: no brace in its texts, every expression plain. `rests[i]`:
 * the pattern after expression i, where a value with a brace in it sends faker's scan on from.
 */
interface Template {
  texts: string[];
  parts: string[][];
  expressions: string[];
  rests: string[];
}

/** Makes `faker.helpers.fake` (and so every faker method that fills a pattern) the fast one. */
export function withFastFake(faker: Faker): Faker {
  const helpers = faker.helpers;
  // Bound by faker: called on a text, it resolves the first expression, then calls helpers.fake (this one) on the rest.
  const original: Fake = helpers.fake;
  const raw: unknown = faker.definitions.raw;
  const templates = new Map<string, Template | undefined>();
  /** faker's own loop: the first expression of the text resolved, then the text scanned again from its start. */
  const scan = (pattern: string): string => {
    let text = pattern;
    for (;;) {
      const start = text.search(OPENING);
      const end = text.indexOf("}}", start);
      if (start === -1 || end === -1) return text;
      const expression = text.substring(start + 2, end);
      const parts = PLAIN.test(expression) ? expression.split(".") : undefined;
      if (!parts) return original(text);
      text =
        text.substring(0, start) + String(resolve(faker, raw, parts, expression)) + text.substring(end + 2);
    }
  };
  const fake: Fake = (pattern) => {
    const text = typeof pattern === "string" ? pattern : helpers.arrayElement(pattern);
    let template = templates.get(text);
    if (template === undefined && !templates.has(text)) {
      template = templateOf(text);
      if (templates.size < MAX_REMEMBERED) templates.set(text, template);
    }
    if (!template) return scan(text);
    let filled = template.texts[0]!;
    for (let i = 0; i < template.parts.length; i++) {
      const value = String(resolve(faker, raw, template.parts[i]!, template.expressions[i]!));
      if (value.includes("{") || value.includes("}")) return scan(filled + value + template.rests[i]);
      filled += value + template.texts[i + 1];
    }
    return filled;
  };
  helpers.fake = fake;
  return faker;
}

/** A pattern as a template, or undefined where faker's scan must go its own way (see Template). */
function templateOf(pattern: string): Template | undefined {
  const template: Template = { texts: [], parts: [], expressions: [], rests: [] };
  let from = 0;
  for (;;) {
    const start = pattern.indexOf("{{", from);
    const end = start < 0 ? -1 : pattern.indexOf("}}", start);
    if (start < 0 || end < 0) break;
    const expression = pattern.substring(start + 2, end);
    if (!PLAIN.test(expression) || !/^[a-z]/.test(expression)) return undefined;
    template.texts.push(pattern.substring(from, start));
    template.parts.push(expression.split("."));
    template.expressions.push(expression);
    template.rests.push(pattern.substring(end + 2));
    from = end + 2;
  }
  template.texts.push(pattern.substring(from));
  return template.texts.some((text) => text.includes("{") || text.includes("}")) ? undefined : template;
}

/**
 * faker's evaluation of a dotted expression: from the faker and its locale's data, each name taken
 * in turn of every entry still standing (a function called first), those with none dropped, a list
 * replaced by one of its elements, drawn; the first entry left is the value (a function: called).
 * Two entries at most, kept apart, not in arrays made at each step.
 */
function resolve(faker: Faker, raw: unknown, parts: string[], expression: string): unknown {
  let first: unknown = faker;
  let second: unknown = raw;
  let standing = 2;
  for (const part of parts) {
    const a = property(first, part);
    const b = standing === 2 ? property(second, part) : undefined;
    if (a != null) [first, second, standing] = [a, b, b != null ? 2 : 1];
    else [first, second, standing] = [b, undefined, b != null ? 1 : 0];
    if (standing === 0) throw new (fakerError(faker))(`Cannot resolve expression '${expression}'`);
    if (Array.isArray(first)) first = faker.helpers.arrayElement(first);
    if (standing === 2 && Array.isArray(second)) second = faker.helpers.arrayElement(second);
  }
  return typeof first === "function" ? first() : first;
}

/** A name of an entry, as faker takes it: of a function, of what calling it gives (nothing if it throws). */
function property(entry: unknown, name: string): unknown {
  switch (typeof entry) {
    case "function": {
      let value: unknown;
      try {
        value = entry();
      } catch {
        return undefined;
      }
      return property(value, name);
    }
    case "object":
      return (entry as Record<string, unknown> | null)?.[name];
    default:
      return undefined;
  }
}

/** faker's own error class (only its locale's module is loaded, which does not export it): what it throws for an empty list. */
function fakerError(faker: Faker): new (message: string) => Error {
  try {
    faker.helpers.arrayElement([]);
  } catch (error) {
    return (error as Error).constructor as new (message: string) => Error;
  }
  return Error;
}
