// Near duplicates by MinHash (src/pipeline/dedup.ts): texts that share most word 3-grams are
// found, and unrelated ones are not.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { duplicateFinder, type Candidate, type Duplicate } from "../src/pipeline/dedup.ts";
import { spilledNearDuplicates, type SpillLayout } from "../src/pipeline/dedup-spill.ts";
import { sampleHead } from "../src/pipeline/export.ts";
import { tempDir } from "./helpers.ts";

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

/**
 * Samples with every kind of repeat: originals, one-word edits of an earlier sample (some of an
 * edit, so a repeat of a repeat), exact copies (some of a repeat), half-changed texts, texts of
 * one or two words, and a sample with no fields.
 */
function mixedSamples(count: number, seed: number): Candidate[] {
  const random = seeded(seed);
  const texts: string[][] = [];
  for (let i = 0; i < count; i++) {
    const pick = texts[Math.floor(random() * texts.length)];
    const roll = random();
    let text: string[];
    if (!pick || roll < 0.4) text = randomText(random, 20 + Math.floor(random() * 60));
    else if (roll < 0.7)
      text = pick.map((word, w) => (w === Math.floor(random() * pick.length) ? `e${i}` : word));
    else if (roll < 0.8) text = [...pick];
    else if (roll < 0.9) text = pick.map((word, w) => (w % 2 ? word : `h${i}w${w}`));
    else text = randomText(random, 1 + Math.floor(random() * 2));
    texts.push(text);
  }
  return texts.map((text, i) => (i === 7 ? { custom_id: `s${i}`, sample: i } : sample(i, text)));
}

/** What each sample is found to repeat, by the in-memory finder and by the spilled one. */
async function bothWays(samples: Candidate[], threshold: number, layout?: Partial<SpillLayout>) {
  const find = duplicateFinder("near", threshold);
  const inMemory = samples.map((s) => find(s));
  const dir = join(await tempDir(), "dedup");
  const spilled = await spilledNearDuplicates(dir, async (add) => samples.forEach(add), {
    threshold,
    expected: samples.length,
    ...(layout ? { layout } : {}),
  });
  const found: (Duplicate | undefined)[] = samples.map((s) => spilled.find(s));
  spilled.close();
  expect(existsSync(dir)).toBe(false);
  return { inMemory, spilled: found };
}

describe("near duplicates spilled to the run folder", () => {
  test("the same samples are left out, as repeats of the same earlier ones, as in memory", async () => {
    const samples = mixedSamples(3000, 3);
    for (const threshold of [0.8, 0.5, 0.95]) {
      const { inMemory, spilled } = await bothWays(samples, threshold);
      expect(spilled).toEqual(inMemory);
      const kinds = new Set(inMemory.map((d) => d?.kind));
      expect([...kinds].sort()).toEqual(["exact", "near", undefined]);
    }
  });

  test("with keys in hundreds of partitions and samples in blocks of 16, repeats across them are found as in memory", async () => {
    const samples = mixedSamples(3000, 4);
    const { inMemory, spilled } = await bothWays(samples, 0.8, {
      recordsPerPartition: 32,
      blockSamples: 16,
      residentSamples: 40,
    });
    expect(spilled).toEqual(inMemory);
    expect(inMemory.filter((d) => d?.kind === "near").length).toBeGreaterThan(200);
  });

  test("a one-word edit 500 samples after its original, blocks of 16 apart, repeats it", async () => {
    const random = seeded(5);
    const original = randomText(random, 60);
    const edit = original.map((word, w) => (w === 30 ? "changed" : word));
    const samples = [
      sample(0, original),
      ...Array.from({ length: 499 }, (_, i) => sample(i + 1, randomText(random, 50))),
      sample(500, edit),
      sample(501, original),
    ];
    const { spilled } = await bothWays(samples, 0.8, {
      recordsPerPartition: 32,
      blockSamples: 16,
      residentSamples: 40,
    });
    expect(spilled.slice(0, 500)).toEqual(Array(500).fill(undefined));
    expect(spilled[500]).toMatchObject({ sample_id: "s500", duplicate_of: "s0", kind: "near" });
    expect(spilled[500]!.similarity).toBeGreaterThanOrEqual(0.8);
    expect(spilled[501]).toEqual({
      sample_id: "s501",
      sample: 501,
      duplicate_of: "s0",
      kind: "exact",
      similarity: 1,
    });
  });
});

describe("a samples line read up to its fields (--dedup near's own pass)", () => {
  const line = (sample: Record<string, unknown>) => JSON.stringify(sample);
  const written = {
    custom_id: "s1",
    sample: 1,
    status: "valid",
    fields: { Text: 'a "quoted" }, brace' },
    labels: { tone: "calm" },
    cost_usd: 0.001,
  };

  test("as synthai writes it: what comes before its labels, fields and all", () => {
    const { labels: _labels, cost_usd: _cost, ...head } = written;
    expect(sampleHead(line(written))).toEqual(head);
  });

  test("any other line is parsed whole, as JSON.parse reads it", () => {
    const { fields, labels, ...rest } = written;
    const others = [
      line({ ...rest, labels, fields }), // the fields after the labels
      line({ ...rest, extra: {}, labels, fields }), // an object ends before the labels: no fields in the head
      line(written).replace('"labels"', '"\\u006cabels"'), // a key written with an escape
      // A field that is an object ending just before a "labels" key of its own: the head is torn.
      line({ ...rest, fields: { Text: "x", inner: {}, labels: { a: "b" } }, labels }),
      line({ custom_id: "s2", sample: 2, status: "invalid", labels, answer: "not JSON" }), // no fields at all
    ];
    for (const other of others) {
      expect(sampleHead(other)).toEqual(JSON.parse(other));
      expect(sampleHead(other).labels).toEqual(labels); // whole: the fast path stops before the labels
    }
  });

  test("a line torn before its labels is refused as JSON.parse refuses it", () => {
    const torn = line(written).slice(0, line(written).indexOf("brace"));
    expect(() => JSON.parse(torn)).toThrow(SyntaxError);
    expect(() => sampleHead(torn)).toThrow(SyntaxError);
  });
});
