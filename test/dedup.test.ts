// Near duplicates by MinHash (src/pipeline/dedup.ts): texts that share most word 3-grams are
// found, and unrelated ones are not.
import { describe, expect, test } from "vitest";
import { duplicateFinder } from "../src/pipeline/dedup.ts";

const WORDS = Array.from({ length: 5000 }, (_, i) => `w${((i * 2654435761) >>> 0).toString(36)}`);

function randomText(random: () => number, length: number): string[] {
  return Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]!);
}

function seeded(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

const sample = (i: number, text: string[]) => ({
  custom_id: `s${i}`,
  sample: i,
  fields: { Text: text.join(" ") },
});

describe("near duplicates", () => {
  test("2,000 unrelated texts: none is taken for another", () => {
    const random = seeded(1);
    const find = duplicateFinder("near");
    const found = Array.from({ length: 2000 }, (_, i) => find(sample(i, randomText(random, 50)))).filter(
      Boolean,
    );
    expect(found).toEqual([]);
  });

  test("one word changed in sixty is a near repeat of its original; half the words changed is not", () => {
    const random = seeded(2);
    const find = duplicateFinder("near");
    let near = 0;
    let kept = 0;
    for (let i = 0; i < 300; i++) {
      const original = randomText(random, 60);
      expect(find(sample(3 * i, original))).toBeUndefined();
      const oneWord = [...original];
      oneWord[30] = "changed";
      // Jaccard of the word 3-grams: 55 shared of 61, 0.90.
      const found = find(sample(3 * i + 1, oneWord));
      if (found?.kind === "near" && found.duplicate_of === `s${3 * i}`) {
        near++;
        expect(found.similarity).toBeGreaterThanOrEqual(0.8);
      }
      const half = original.map((word, w) => (w % 2 ? word : `other${w}`));
      if (!find(sample(3 * i + 2, half))) kept++;
    }
    // LSH finds a pair at 0.9 with high probability, not certainty.
    expect(near).toBeGreaterThanOrEqual(290);
    expect(kept).toBe(300);
  });

  test("the same fields are an exact repeat, whatever the spacing of the near index", () => {
    const find = duplicateFinder("near");
    expect(find(sample(0, ["a", "b", "c", "d"]))).toBeUndefined();
    expect(find(sample(1, ["a", "b", "c", "d"]))).toMatchObject({
      kind: "exact",
      duplicate_of: "s0",
      similarity: 1,
    });
  });
});
