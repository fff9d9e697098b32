// `synthai stats`: how diverse a run's texts are and how balanced its labels, measured on every
// kept sample as it streams by, in bounded memory. Distinct n-grams are counted by HyperLogLog
// (an estimate within about 1%); what needs pairs of samples (repeated 8-grams, self-BLEU, near
// duplicates) is measured on a seeded or leading sample of them, and says so.
import { deflateRawSync } from "node:zlib";
import { duplicateFinder, hash32, mix } from "../pipeline/dedup.ts";
import { collectedSamples, eachValidSample } from "../pipeline/export.ts";
import type { SampleResult } from "../run/records.ts";
import { BEYOND_FILL, exportDataset, stagedSamples, usesOutcomes } from "../pipeline/stages.ts";
import { runView } from "../pipeline/context.ts";
import { loadParams, type Params } from "../dataset/params.ts";
import { datasetOf } from "../dataset/spec.ts";
import type { Manifest } from "../run/manifest.ts";
import { checkRunFiles, exportInputs } from "../run/files.ts";
import { table } from "./table.ts";

/** How many samples the pairwise measures look at. */
const SELF_BLEU_SAMPLE = 500;
const REPEAT_SAMPLE = 20_000;
const NEAR_SAMPLE = 20_000;
/** A label with more values than this is free text, not a label to balance. */
const MAX_LABEL_VALUES = 50;

export interface TextStats {
  field: string;
  samples: number;
  words: { mean: number; p50: number; p90: number; max: number };
  distinct: [number, number, number];
  compression: number;
  repeated8: { share: number; sampled: number };
  selfBleu: { score: number; sampled: number };
}

export interface LabelStats {
  label: string;
  shares: { value: string; count: number; share: number; expected?: number }[];
  /** The shares differ from those asked beyond chance (a chi-square test at p < 0.001). */
  unbalanced: boolean;
}

export interface ScoreStats {
  field: string;
  counts: Record<string, number>;
  /** Per parameter value: the share of samples with a valid first answer that were kept after every stage. */
  keepRate?: Record<string, Record<string, number>>;
}

export interface RunStats {
  samples: number;
  texts: TextStats[];
  labels: LabelStats[];
  scores: ScoreStats[];
  nearDuplicates: { share: number; sampled: number };
}

/** What the stats need to know of a run: its fields by kind, and the values each parameter may take. */
export interface StatsPlan {
  textFields: string[];
  scoreFields: string[];
  expected: Map<string, string[]>;
  seed: number;
}

/** A HyperLogLog of 2^14 registers: distinct counts of any size in 16 KB, within about 1%. */
export class DistinctCounter {
  private readonly registers = new Uint8Array(1 << 14);
  add(value: string): void {
    this.addHash(hash32(value));
  }
  /** Counts a value by its 32-bit hash, evenly spread (hash32's, gramHash's). */
  addHash(hash: number): void {
    const index = hash >>> 18;
    const rest = (hash << 14) >>> 0;
    const rank = rest === 0 ? 19 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }
  count(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const estimate = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
    return estimate <= 2.5 * m && zeros ? m * Math.log(m / zeros) : estimate;
  }
}

const wordsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];

/** Each word's hash, for its n-grams' (reused from text to text). */
let wordHashes = new Uint32Array(256);

function hashesOf(words: string[]): Uint32Array {
  if (words.length > wordHashes.length) wordHashes = new Uint32Array(words.length * 2);
  for (let i = 0; i < words.length; i++) wordHashes[i] = hash32(words[i]!);
  return wordHashes;
}

/**
 * The hash of the n-gram of `n` words from `from`, made from its words' hashes: the n-gram is
 * never joined into a string (making and hashing those strings took most of a report's time).
 */
export function gramHash(hashes: Uint32Array, from: number, n: number): number {
  let h = n;
  for (let i = from; i < from + n; i++) h = mix(h ^ hashes[i]!);
  return h;
}

function ngrams(words: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= words.length; i++) out.push(words.slice(i, i + n).join(" "));
  return out;
}

/** A seeded choice of which samples go into a measure on a sample: the same run, the same sample. */
function chosen(seed: number, id: string, share: number): boolean {
  return hash32(`${seed}:${id}`) / 2 ** 32 < share;
}

function textCollector(field: string, seed: number, expectedSamples: number) {
  const distinct = [new DistinctCounter(), new DistinctCounter(), new DistinctCounter()];
  const totals = [0, 0, 0];
  const lengths: number[] = [];
  let raw = 0;
  let packed = 0;
  let pending: string[] = [];
  const flush = () => {
    const text = pending.join("\n");
    raw += Buffer.byteLength(text);
    packed += deflateRawSync(text).length;
    pending = [];
  };
  // 8-gram (by its 32-bit hash: a few collisions among a million move the share by nothing) →
  // samples holding it, on the first REPEAT_SAMPLE.
  const eights = new Map<number, number>();
  let eightSamples = 0;
  const bleuTexts: string[][] = [];
  const bleuShare = Math.min(1, (SELF_BLEU_SAMPLE * 1.2) / Math.max(1, expectedSamples));
  return {
    add(text: string, id: string) {
      const words = wordsOf(text);
      lengths.push(words.length);
      const hashes = hashesOf(words);
      for (let n = 1; n <= 3; n++)
        for (let i = 0; i + n <= words.length; i++) {
          distinct[n - 1]!.addHash(gramHash(hashes, i, n));
          totals[n - 1]!++;
        }
      pending.push(text);
      if (pending.length >= 1000) flush();
      if (eightSamples < REPEAT_SAMPLE) {
        eightSamples++;
        const held = new Set<number>();
        for (let i = 0; i + 8 <= words.length; i++) held.add(gramHash(hashes, i, 8));
        for (const gram of held) eights.set(gram, (eights.get(gram) ?? 0) + 1);
      }
      if (bleuTexts.length < SELF_BLEU_SAMPLE && chosen(seed, id, bleuShare)) bleuTexts.push(words);
    },
    result(): TextStats {
      flush();
      const sorted = [...lengths].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      let repeated = 0;
      for (const n of eights.values()) if (n > 1) repeated++;
      return {
        field,
        samples: lengths.length,
        words: {
          mean: lengths.reduce((s, n) => s + n, 0) / Math.max(1, lengths.length),
          p50: at(0.5),
          p90: at(0.9),
          max: sorted.at(-1) ?? 0,
        },
        distinct: [0, 1, 2].map((i) => (totals[i] ? Math.min(1, distinct[i]!.count() / totals[i]!) : 0)) as [
          number,
          number,
          number,
        ],
        compression: packed ? raw / packed : 0,
        repeated8: { share: eights.size ? repeated / eights.size : 0, sampled: eightSamples },
        selfBleu: { score: selfBleu(bleuTexts), sampled: bleuTexts.length },
      };
    },
  };
}

/**
 * Self-BLEU: each text's BLEU-4 against all the others as references, averaged (1: every text
 * repeats the others; near 0: none shares phrases). The best and second-best count of each
 * n-gram over all texts give each text's references' best count without the text itself.
 */
export function selfBleu(texts: string[][]): number {
  if (texts.length < 2) return 0;
  const best = [new Map<string, [number, number]>(), new Map(), new Map(), new Map()];
  const counted = texts.map((words) =>
    [1, 2, 3, 4].map((n) => {
      const counts = new Map<string, number>();
      for (const gram of ngrams(words, n)) counts.set(gram, (counts.get(gram) ?? 0) + 1);
      for (const [gram, count] of counts) {
        const [first, second] = best[n - 1]!.get(gram) ?? [0, 0];
        best[n - 1]!.set(gram, count >= first ? [count, first] : [first, Math.max(second, count)]);
      }
      return counts;
    }),
  );
  let sum = 0;
  for (const counts of counted) {
    let logs = 0;
    for (let n = 0; n < 4; n++) {
      let matched = 0;
      let total = 0;
      for (const [gram, count] of counts[n]!) {
        const [first, second] = best[n]!.get(gram)!;
        const others = count === first ? second : first;
        matched += Math.min(count, others);
        total += count;
      }
      logs += Math.log(total ? Math.max(matched, 1e-9) / total : 1e-9);
    }
    sum += Math.exp(logs / 4);
  }
  return sum / texts.length;
}

/** Chi-square of counts against expected shares, with the Wilson–Hilferty normal approximation. */
function unbalanced(counts: number[], expected: number[]): boolean {
  const total = counts.reduce((s, n) => s + n, 0);
  const df = counts.length - 1;
  if (df < 1 || total < 5 * counts.length) return false;
  const chi = counts.reduce((s, n, i) => s + (n - total * expected[i]!) ** 2 / (total * expected[i]!), 0);
  const z = ((chi / df) ** (1 / 3) - (1 - 2 / (9 * df))) / Math.sqrt(2 / (9 * df));
  return z > 3.09;
}

/** Each label's share of every value, against the share asked where params.json lists its values. */
function labelStatsOf(
  labels: Map<string, Map<string, number>>,
  expected: StatsPlan["expected"],
): LabelStats[] {
  const labelStats: LabelStats[] = [];
  for (const [label, counts] of labels) {
    if (counts.size > MAX_LABEL_VALUES) continue; // free text: a generated value, a unique column
    const asked = expected.get(label);
    const total = [...counts.values()].reduce((s, n) => s + n, 0);
    const values = asked ?? [...counts.keys()].sort();
    const shares = values.map((value) => ({
      value,
      count: counts.get(value) ?? 0,
      share: (counts.get(value) ?? 0) / Math.max(1, total),
      ...(asked ? { expected: 1 / asked.length } : {}),
    }));
    labelStats.push({
      label,
      shares,
      unbalanced: asked
        ? unbalanced(
            shares.map((s) => s.count),
            shares.map(() => 1 / asked.length),
          )
        : false,
    });
  }
  return labelStats;
}

/** Gathers every measure over the samples handed to `add` (kept ones, and dropped ones for keep rates). */
function statsCollector(plan: StatsPlan, expectedSamples: number) {
  const texts = plan.textFields.map((field) => textCollector(field, plan.seed, expectedSamples));
  const labels = new Map<string, Map<string, number>>();
  const scores = new Map<string, Map<string, number>>();
  const keep = new Map<string, Map<string, [number, number]>>(); // label → value → [kept, all]
  const isNear = duplicateFinder("near");
  let near = 0;
  let nearSampled = 0;
  let samples = 0;
  return {
    add(sample: SampleResult, dropped: boolean) {
      for (const [label, value] of Object.entries(sample.labels)) {
        if (!plan.expected.has(label)) continue;
        const byValue = keep.get(label) ?? keep.set(label, new Map()).get(label)!;
        const [k, all] = byValue.get(value) ?? [0, 0];
        byValue.set(value, [k + (dropped ? 0 : 1), all + 1]);
      }
      if (dropped) return;
      samples++;
      for (const [i, text] of texts.entries())
        text.add(String(sample.fields?.[plan.textFields[i]!] ?? ""), sample.custom_id);
      for (const [label, value] of Object.entries(sample.labels)) {
        const counts = labels.get(label) ?? labels.set(label, new Map()).get(label)!;
        if (counts.size <= MAX_LABEL_VALUES || counts.has(value))
          counts.set(value, (counts.get(value) ?? 0) + 1);
      }
      for (const field of plan.scoreFields) {
        const counts = scores.get(field) ?? scores.set(field, new Map()).get(field)!;
        const value = String(sample.fields?.[field] ?? "");
        counts.set(value, (counts.get(value) ?? 0) + 1);
      }
      if (nearSampled < NEAR_SAMPLE) {
        nearSampled++;
        if (isNear(sample)) near++;
      }
    },
    result(): RunStats {
      const labelStats = labelStatsOf(labels, plan.expected);
      const keepRate: Record<string, Record<string, number>> = {};
      for (const [label, byValue] of keep)
        keepRate[label] = Object.fromEntries(
          [...byValue].map(([value, [k, all]]) => [value, all ? k / all : 0]),
        );
      return {
        samples,
        texts: texts.map((t) => t.result()),
        labels: labelStats,
        scores: [...scores].map(([field, counts], i) => ({
          field,
          counts: Object.fromEntries(
            [...counts].sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b)),
          ),
          ...(i === 0 && Object.keys(keepRate).length ? { keepRate } : {}),
        })),
        nearDuplicates: { share: nearSampled ? near / nearSampled : 0, sampled: nearSampled },
      };
    },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * The stats of one run, or of several side by side (a column each, headed by its whole id), as
 * text that fits `width` columns: a measure's name gives way before a figure is cut.
 */
export function formatStats(runs: { id: string; stats: RunStats }[], width = 80): string {
  const rows: string[][] = [["", ...runs.map((r) => r.id)]];
  const row = (name: string, values: string[]) => rows.push([`  ${name}`, ...values]);
  const heading = (text: string) => rows.push([text]);
  row(
    "kept samples",
    runs.map((r) => String(r.stats.samples)),
  );
  const fields = [...new Set(runs.flatMap((r) => r.stats.texts.map((t) => t.field)))];
  for (const field of fields) {
    heading(field);
    const of = (r: { stats: RunStats }) => r.stats.texts.find((t) => t.field === field);
    row(
      "words (mean / p90 / max)",
      runs.map((r) => {
        const t = of(r);
        return t ? `${t.words.mean.toFixed(0)} / ${t.words.p90} / ${t.words.max}` : "-";
      }),
    );
    for (const n of [0, 1, 2])
      row(
        `distinct ${n + 1}-grams`,
        runs.map((r) => (of(r) ? pct(of(r)!.distinct[n]!) : "-")),
      );
    row(
      "compression (higher: repetitive)",
      runs.map((r) => (of(r) ? of(r)!.compression.toFixed(2) : "-")),
    );
    row(
      "8-grams repeated across samples",
      runs.map((r) => (of(r) ? `${pct(of(r)!.repeated8.share)} of ${of(r)!.repeated8.sampled}` : "-")),
    );
    row(
      "self-BLEU (seeded sample)",
      runs.map((r) => (of(r) ? `${of(r)!.selfBleu.score.toFixed(3)} of ${of(r)!.selfBleu.sampled}` : "-")),
    );
  }
  row(
    "near duplicates (leading sample)",
    runs.map((r) => `${pct(r.stats.nearDuplicates.share)} of ${r.stats.nearDuplicates.sampled}`),
  );
  const labels = [...new Set(runs.flatMap((r) => r.stats.labels.map((l) => l.label)))];
  for (const label of labels) {
    const of = (r: { stats: RunStats }) => r.stats.labels.find((l) => l.label === label);
    heading(`${label}${runs.some((r) => of(r)?.unbalanced) ? "  (unbalanced: beyond chance)" : ""}`);
    const values = [...new Set(runs.flatMap((r) => of(r)?.shares.map((s) => s.value) ?? []))];
    for (const value of values)
      row(
        value,
        runs.map((r) => {
          const share = of(r)?.shares.find((s) => s.value === value);
          return share ? `${pct(share.share)}${share.expected ? ` (${pct(share.expected)})` : ""}` : "-";
        }),
      );
  }
  for (const field of [...new Set(runs.flatMap((r) => r.stats.scores.map((s) => s.field)))]) {
    heading(`${field} (scores)`);
    const of = (r: { stats: RunStats }) => r.stats.scores.find((s) => s.field === field);
    const values = [...new Set(runs.flatMap((r) => Object.keys(of(r)?.counts ?? {})))];
    for (const value of values)
      row(
        value,
        runs.map((r) => String(of(r)?.counts[value] ?? "-")),
      );
    const rates = runs.map((r) => of(r)?.keepRate);
    for (const label of [...new Set(rates.flatMap((k) => Object.keys(k ?? {})))]) {
      row(`keep rate by ${label}`, []);
      for (const value of [...new Set(rates.flatMap((k) => Object.keys(k?.[label] ?? {})))])
        row(
          `  ${value}`,
          rates.map((k) => (k?.[label]?.[value] !== undefined ? pct(k[label]![value]!) : "-")),
        );
    }
  }
  return table(rows, { right: true, width });
}

/** A run's stats, read from its folder: the same samples its export writes (kept, with every stage's fields). */
export async function statsOfRun(runDir: string, manifest: Manifest): Promise<RunStats> {
  const { config } = manifest;
  const dataset = exportDataset(await datasetOf(config));
  const params = await loadParams(config.paramsFile, { optional: true }).catch(() => ({}) as Params);
  const expected = new Map<string, string[]>();
  for (const parameters of Object.values(params))
    for (const [name, values] of Object.entries(parameters)) expected.set(name, values);
  const properties = (dataset.schema?.properties ?? {}) as Record<
    string,
    { type?: string; enum?: unknown[] }
  >;
  const isScore = (field: string) =>
    ["integer", "number", "boolean"].includes(properties[field]?.type ?? "") ||
    Array.isArray(properties[field]?.enum);
  const plan: StatsPlan = {
    textFields: dataset.fields.filter((f) => !isScore(f)),
    scoreFields: dataset.fields.filter(isScore),
    expected,
    seed: config.seed,
  };
  const collector = statsCollector(plan, config.samples);
  // Figures from a damaged file would be wrong without a word: it is one line instead, with the way out.
  await checkRunFiles(runDir, manifest, exportInputs(manifest, { judgeAgain: false }));
  if (usesOutcomes(config, dataset)) {
    const counts = { kept: 0, dropped: {} };
    // As the export counts them: past --fill's target is not written, nor dropped by any stage.
    await stagedSamples(runView(runDir, manifest, dataset), counts, { includeDropped: true })((s) => {
      if (s.fields?.dropped_by !== BEYOND_FILL) collector.add(s, Boolean(s.fields?.dropped_by));
    });
  } else await eachValidSample(manifest, collectedSamples(runDir, manifest), (s) => collector.add(s, false));
  return collector.result();
}

/** The same figures for a dataset card: a short Markdown section. */
export function statsMarkdown(stats: RunStats): string {
  const lines = [
    "## Diversity and balance",
    "",
    `Measured by \`synthai stats\` on the run's ${stats.samples} kept samples (pairwise measures on a sample ` +
      "of them, as said).",
    "",
  ];
  if (stats.texts.length)
    lines.push(
      "| field | words (mean / p90) | distinct 1- / 2- / 3-grams | compression ratio | " +
        "8-grams repeated | self-BLEU |",
      "|---|---|---|---|---|---|",
      ...stats.texts.map(
        (t) =>
          `| \`${t.field}\` | ${t.words.mean.toFixed(0)} / ${t.words.p90} | ` +
          `${t.distinct.map(pct).join(" / ")} | ${t.compression.toFixed(2)} | ` +
          `${pct(t.repeated8.share)} (of ${t.repeated8.sampled}) | ` +
          `${t.selfBleu.score.toFixed(3)} (of ${t.selfBleu.sampled}) |`,
      ),
      "",
    );
  lines.push(
    `Near duplicates: ${pct(stats.nearDuplicates.share)} of the first ${stats.nearDuplicates.sampled} samples.`,
    "",
  );
  for (const label of stats.labels) {
    const shares = label.shares
      .map((s) => `${s.value} ${pct(s.share)}${s.expected ? ` (asked ${pct(s.expected)})` : ""}`)
      .join(", ");
    lines.push(
      `- **${label.label}**${label.unbalanced ? " (differs from what was asked beyond chance)" : ""}: ${shares}`,
    );
  }
  for (const score of stats.scores) {
    const counts = Object.entries(score.counts)
      .map(([value, n]) => `${value}: ${n}`)
      .join(", ");
    lines.push(`- **${score.field}** (judge's scores): ${counts}`);
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
