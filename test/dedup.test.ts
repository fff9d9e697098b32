// Near duplicates by MinHash (src/pipeline/dedup.ts): texts that share most word 3-grams are
// found, and unrelated ones are not.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  agreement,
  asWords,
  duplicateFinder,
  exactHash,
  missesAllowed,
  signatureOf,
  signatureOfBytes,
  valuesOf,
  type Candidate,
  type Duplicate,
} from "../src/pipeline/dedup.ts";
import { eachSignedSample, NotInOrder } from "../src/pipeline/dedup-lines.ts";
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
async function bothWays(
  samples: Candidate[],
  threshold: number,
  layout?: Partial<SpillLayout>,
  files?: { paths: string[]; chunks: { firstSample: number; samples: number }[] },
) {
  const find = duplicateFinder("near", threshold);
  const inMemory = samples.map((s) => find(s));
  const dir = join(await tempDir(), "dedup");
  const spilled = await spilledNearDuplicates(dir, async (add) => samples.forEach(add), {
    threshold,
    expected: samples.length,
    ...(layout ? { layout } : {}),
    ...(files ? { files } : {}),
  });
  const found: (Duplicate | undefined)[] = samples.map((s) => spilled.find(s));
  spilled.close();
  expect(existsSync(dir)).toBe(false);
  return { inMemory, spilled: found };
}

describe("how much two signatures agree", () => {
  test("the share of bins alike wherever it reaches the threshold, and below it wherever it does not", () => {
    const a = Uint8Array.from({ length: 64 }, (_, i) => i);
    for (const threshold of [0.8, 0.5, 0.95, 1 / 3, 1]) {
      const misses = missesAllowed(threshold);
      for (let differ = 0; differ <= 64; differ++) {
        // `differ` bins changed, spread over the signature (the last ones first, then every other).
        const b = a.map((v, i) => ((i * 37) % 64 < differ ? v + 100 : v));
        const share = (64 - differ) / 64;
        const found = agreement(asWords(a), 0, asWords(b), 0, misses);
        if (share >= threshold) expect(found).toBe(share);
        else expect(found).toBeLessThan(threshold);
        expect(agreement(asWords(a), 0, asWords(b), 0)).toBe(share);
      }
    }
  });
});

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

/** Samples lines as synthai writes them (the keys in its order), `chunkSize` samples a chunk. */
function samplesLine(s: Candidate, chunkSize: number, status = "ok"): string {
  const chunk = Math.floor(s.sample / chunkSize);
  return JSON.stringify({
    custom_id: s.custom_id,
    sample: s.sample + 1,
    chunk,
    attempt: 1,
    batch_id: `b${chunk}`,
    status,
    ...(s.fields ? { fields: s.fields } : { answer: "no fields" }),
    labels: { tone: "calm" },
    cost_usd: 0.001,
  });
}

/** Texts whose JSON has escapes, and characters of two, three and four bytes of UTF-8. */
const TRICKY = [
  'She said "refund" \\ then left\n\ttab and /slash/ \u0001 control',
  "Café naïve résumé — 東京 office 😀 emoji 𝔘 and more words here",
  "Upper CASE Words_with_underscores and digits 12345 mixed in",
  "\u2028 line separator \ud800 lone surrogate \udc00 words after them",
];

describe("near duplicates read from the samples files' bytes", () => {
  test("each sample's id, signature and exact hash are those of its parsed fields, escapes and UTF-8 alike", async () => {
    const random = seeded(6);
    const samples: Candidate[] = Array.from({ length: 400 }, (_, i) => {
      const fields: Record<string, string> =
        i % 4 === 0
          ? { Text: TRICKY[(i / 4) % TRICKY.length]!, Other: TRICKY[(i / 4 + 1) % TRICKY.length]! }
          : i % 4 === 1
            ? { Text: randomText(random, 30).join(" ") }
            : i % 4 === 2
              ? { "2": "a key that is a number comes first", Text: "short" } // parsed: Object.values' order
              : { Text: "one two" }; // fewer than three words: parsed
      // Ids as synthai makes them, and ids the head must be parsed for (an escape, a letter past ASCII).
      return { custom_id: i % 8 < 4 ? `${i}`.padStart(6, "0") : `id-${i}-\u00e9"`, sample: i, fields };
    });
    const path = join(await tempDir(), "c0000-a1.jsonl");
    // Escapes JSON.stringify does not write (\/, \u00e9) as well; no newline after the last line.
    const lines = samples.map((s) => samplesLine(s, 1000).replaceAll("/", "\\/").replaceAll("é", "\\u00e9"));
    writeFileSync(path, lines.join("\n"));
    const seen: { id: string; signature: number[]; digest: number[] }[] = [];
    eachSignedSample([path], [{ firstSample: 0, samples: 1000 }], (id, signature, digest) =>
      seen.push({ id, signature: [...signature], digest: [...digest] }),
    );
    const expected = samples.map((s) => {
      const [signature, digest] = [new Uint32Array(64), new Uint32Array(2)];
      signatureOf(valuesOf(s), signature);
      exactHash(valuesOf(s), digest);
      return { id: s.custom_id, signature: [...signature], digest: [...digest] };
    });
    expect(seen).toEqual(expected);
    // Read from the bytes, not parsed, but for the key that is a number and the two-word text.
    const read = lines.map((line) => {
      const bytes = Buffer.from(line);
      const at = bytes.indexOf(',"fields":{') + 10;
      return signatureOfBytes(bytes, at, new Uint32Array(64), new Uint32Array(2));
    });
    expect(read).toEqual(samples.map((_, i) => i % 4 < 2));
  });

  test("lines out of sample order, or a sample's second ok line, are left to the export's own reading", async () => {
    const [a, b, c] = [0, 1, 2].map((i) => ({
      custom_id: `s${i}`,
      sample: i,
      fields: { Text: `text number ${i} here` },
    }));
    const dir = await tempDir();
    const chunks = [{ firstSample: 0, samples: 3 }];
    const read = (name: string, lines: string[]) => {
      writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
      const ids: string[] = [];
      eachSignedSample([join(dir, name)], chunks, (id) => ids.push(id));
      return ids;
    };
    // A failed line, and blank lines, are passed over as the export passes them.
    expect(
      read("in-order", [samplesLine(a!, 3), samplesLine(b!, 3, "malformed"), "", samplesLine(c!, 3)]),
    ).toEqual(["s0", "s2"]);
    expect(() => read("reversed", [samplesLine(b!, 3), samplesLine(a!, 3)])).toThrow(NotInOrder);
    expect(() => read("twice", [samplesLine(a!, 3), samplesLine(a!, 3)])).toThrow(NotInOrder);
  });

  test("the same samples are left out as in memory, whether the files are in order or not", async () => {
    const samples = mixedSamples(3000, 7);
    const dir = await tempDir();
    const lines = samples.map((s) => samplesLine(s, 1000));
    const inOrder = join(dir, "in-order.jsonl");
    writeFileSync(inOrder, `${lines.join("\n")}\n`);
    // Chunk 1's lines reversed: the export sorts them back; the byte reader leaves them to it.
    const shuffled = join(dir, "shuffled.jsonl");
    writeFileSync(
      shuffled,
      `${[...lines.slice(0, 1000), ...lines.slice(1000, 2000).reverse(), ...lines.slice(2000)].join("\n")}\n`,
    );
    const chunks = [0, 1, 2].map((c) => ({ firstSample: c * 1000, samples: 1000 }));
    for (const path of [inOrder, shuffled]) {
      const { inMemory, spilled } = await bothWays(samples, 0.8, undefined, { paths: [path], chunks });
      expect(spilled).toEqual(inMemory);
      expect(inMemory.filter((d) => d?.kind === "near").length).toBeGreaterThan(200);
    }
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
