// The fast helpers.fake (src/dataset/fake-template.ts) draws exactly what faker's own does: the same
// value for every pattern of a locale's data, and the random stream left where faker leaves it.
import { describe, expect, test } from "vitest";
import type { Faker } from "@faker-js/faker";
import { withFastFake } from "../src/dataset/fake-template.ts";
import { xoroshiroRandomizer } from "../src/dataset/randomizer.ts";

async function twoFakers(locale: string): Promise<{ plain: Faker; fast: Faker }> {
  const { faker } = await import(`@faker-js/faker/locale/${locale}`);
  const FakerClass = faker.constructor as typeof Faker;
  const make = () => new FakerClass({ locale: faker.rawDefinitions, randomizer: xoroshiroRandomizer() });
  return { plain: make(), fast: withFastFake(make()) };
}

/** Every text of a locale's data that is a pattern ("{{...}}"). */
function patternsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === "string") {
    if (value.includes("{{")) found.add(value);
  } else if (value && typeof value === "object") for (const v of Object.values(value)) patternsIn(v, found);
  return found;
}

/** What `draw` gives on each faker from the same seeds, and the next number of each stream after it. */
function bothDraw(fakers: { plain: Faker; fast: Faker }, draw: (faker: Faker) => unknown, seeds = 40) {
  const run = (faker: Faker) =>
    Array.from({ length: seeds }, (_, seed) => {
      faker.seed([7, seed]);
      let value: unknown;
      try {
        value = draw(faker);
      } catch (error) {
        value = `${(error as Error).constructor.name}: ${(error as Error).message}`;
      }
      return [value, faker.number.int(1e9)];
    });
  return { plain: run(fakers.plain), fast: run(fakers.fast) };
}

describe("helpers.fake, fast", () => {
  for (const locale of ["en", "de", "fr", "ja"]) {
    test(`draws what faker draws for every pattern of the ${locale} locale, and leaves the stream where faker does`, async () => {
      const fakers = await twoFakers(locale);
      const patterns = [...patternsIn(fakers.plain.rawDefinitions)];
      expect(patterns.length).toBeGreaterThan(20);
      for (const pattern of patterns) {
        const { plain, fast } = bothDraw(fakers, (faker) => faker.helpers.fake(pattern));
        expect(fast, pattern).toEqual(plain);
      }
    });
  }

  test("the methods that fill patterns (names, addresses, companies, phones) draw the same", async () => {
    const fakers = await twoFakers("en");
    const methods: ((faker: Faker) => unknown)[] = [
      (f) => f.location.streetAddress(),
      (f) => f.location.streetAddress({ useFullAddress: true }),
      (f) => f.location.city(),
      (f) => f.company.name(),
      (f) => f.phone.number({ style: "national" }),
      (f) => f.person.fullName(),
      (f) => f.person.lastName(),
      (f) => f.internet.email(),
      (f) => f.commerce.productName(),
      (f) => f.helpers.fake(["{{person.firstName}} {{person.lastName}}", "{{company.name}}"]),
    ];
    for (const method of methods) {
      const { plain, fast } = bothDraw(fakers, method, 200);
      expect(fast, method.toString()).toEqual(plain);
    }
  });

  test("calls, nested braces, unknown names and texts without a pattern are as faker has them, errors too", async () => {
    const fakers = await twoFakers("en");
    const patterns = [
      "{{number.int(9)}}-{{location.city}}",
      '{{helpers.arrayElement(["a","b"])}} {{person.firstName}}',
      "{{person.first{{name}}",
      "{{nothing.here}}",
      "{{location..city}}",
      "{{location.}}",
      "{{location.city.length}}",
      "{{Location.city}}",
      "no pattern at all",
      "{{ unclosed",
      "{{location.street_suffix}}",
    ];
    for (const pattern of patterns) {
      const { plain, fast } = bothDraw(fakers, (faker) => faker.helpers.fake(pattern));
      expect(fast, pattern).toEqual(plain);
    }
    expect(bothDraw(fakers, (f) => f.helpers.fake("{{nothing.here}}")).fast[0]![0]).toMatch(
      /^\w+: Cannot resolve expression 'nothing.here'$/,
    );
  });
});
