// faker's helpers.fake ("{{location.buildingNumber}} {{location.street}}"), as faker 10 evaluates
// it, at a fraction of the cost: each "{{a.b.c}}" is resolved by the same steps, making the same
// random draws in the same order, so a seed draws the same values; but an expression is split once,
// not parsed again at every use, and without the arrays faker makes at each step. A build spent
// most of its drawing in faker's parser, not in drawing. An expression with a call in it
// ("{{number.int(9)}}"), or one faker would refuse, is left to faker itself.
import type { Faker } from "@faker-js/faker";

type Fake = (pattern: string | ReadonlyArray<string>) => string;

/** Dotted names, none empty, no call: what is resolved here. */
const PLAIN = /^[^.(]+(?:\.[^.(]+)*$/;
/** Where a pattern's next expression starts. */
const OPENING = /{{[a-z]/;
/** Expressions remembered, split (or undefined: left to faker); a spec's own patterns could be many. */
const MAX_REMEMBERED = 4096;

/** Makes `faker.helpers.fake` (and so every faker method that fills a pattern) the fast one. */
export function withFastFake(faker: Faker): Faker {
  const helpers = faker.helpers;
  // Bound by faker: called on a text, it resolves the first expression, then calls helpers.fake (this one) on the rest.
  const original: Fake = helpers.fake;
  const raw: unknown = faker.definitions.raw;
  const remembered = new Map<string, string[] | undefined>();
  const partsOf = (expression: string) => {
    if (remembered.has(expression)) return remembered.get(expression);
    const parts = PLAIN.test(expression) ? expression.split(".") : undefined;
    if (remembered.size < MAX_REMEMBERED) remembered.set(expression, parts);
    return parts;
  };
  const fake: Fake = (pattern) => {
    let text = typeof pattern === "string" ? pattern : helpers.arrayElement(pattern);
    for (;;) {
      const start = text.search(OPENING);
      const end = text.indexOf("}}", start);
      if (start === -1 || end === -1) return text;
      const expression = text.substring(start + 2, end);
      const parts = expression.includes("{{") ? undefined : partsOf(expression);
      if (!parts) return original(text);
      const value = resolve(faker, raw, parts, expression);
      text = text.substring(0, start) + String(value) + text.substring(end + 2);
    }
  };
  helpers.fake = fake;
  return faker;
}

/**
 * faker's evaluation of a dotted expression: from the faker and its locale's data, each name taken
 * in turn of every entry still standing (a function called first), those with none dropped, a list
 * replaced by one of its elements, drawn; the first entry left is the value (a function: called).
 */
function resolve(faker: Faker, raw: unknown, parts: string[], expression: string): unknown {
  let entries: unknown[] = [faker, raw];
  for (const part of parts) {
    const next: unknown[] = [];
    for (const entry of entries) {
      const value = property(entry, part);
      if (value != null) next.push(value);
    }
    for (let i = 0; i < next.length; i++)
      if (Array.isArray(next[i])) next[i] = faker.helpers.arrayElement(next[i] as unknown[]);
    entries = next;
    if (entries.length === 0) throw new (fakerError(faker))(`Cannot resolve expression '${expression}'`);
  }
  const value = entries[0];
  return typeof value === "function" ? value() : value;
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
