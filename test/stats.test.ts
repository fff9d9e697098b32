// synthai stats: diversity, balance and judge scores, measured from the run folder.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { hash32 } from "../src/pipeline/dedup.ts";
import { DistinctCounter, gramHash, selfBleu } from "../src/views/stats.ts";
import { PARAMS, ROOT, onlyRunDir, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-p", "out.csv"];

describe("synthai stats", () => {
  test("distinct counts by HyperLogLog are within a few percent, whatever the size", () => {
    for (const n of [1_000, 50_000, 300_000]) {
      const counter = new DistinctCounter();
      for (let i = 0; i < n; i++) counter.add(`gram ${i} of ${n}`);
      for (let i = 0; i < n; i += 3) counter.add(`gram ${i} of ${n}`); // repeats count once
      expect(Math.abs(counter.count() / n - 1)).toBeLessThan(0.04);
    }
  });

  test("an n-gram's hash, made from its words' hashes, tells n-grams apart as their text does", () => {
    // 3,000 texts over a small vocabulary: many n-grams repeat, many differ by one word.
    const vocabulary = Array.from({ length: 40 }, (_, i) => `w${i}`);
    let state = 7;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) % vocabulary.length;
    const texts = Array.from({ length: 3_000 }, () => Array.from({ length: 12 }, () => vocabulary[next()]!));
    for (const n of [1, 2, 3, 8]) {
      const byText = new Map<string, number>();
      for (const words of texts) {
        const hashes = Uint32Array.from(words, hash32);
        for (let i = 0; i + n <= words.length; i++) {
          const text = words.slice(i, i + n).join(" ");
          const hash = gramHash(hashes, i, n);
          expect(byText.get(text) ?? hash, text).toBe(hash); // the same n-gram, the same hash
          byText.set(text, hash);
        }
      }
      expect(new Set(byText.values()).size, `${n}-grams`).toBe(byText.size); // different ones, different hashes
    }
  });

  test("self-BLEU: 1 for texts that repeat each other, near 0 for texts sharing no phrase", () => {
    const same = "the quick brown fox jumps over the lazy dog".split(" ");
    expect(selfBleu([same, same, same])).toBeCloseTo(1, 6);
    const apart = [0, 1, 2].map((i) => Array.from({ length: 12 }, (_, w) => `w${i}x${w}`));
    expect(selfBleu(apart)).toBeLessThan(0.01);
  });

  test("a run of the built-in dataset: every figure, for each text field and each parameter", async () => {
    const url = await server.start({ seed: 3 });
    const cwd = await tempDir();
    expect((await runCli(["-n", "120", "-j", PARAMS, "--base-url", url, ...fast], { cwd })).code).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const result = await runCli(["stats", id, "--json"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const { stats } = JSON.parse(result.stdout);
    expect(stats.samples).toBe(120);
    expect(stats.texts.map((t: any) => t.field)).toEqual(["Call", "Summary"]);
    for (const text of stats.texts) {
      expect(text.words.mean).toBeGreaterThan(5);
      for (const share of text.distinct) expect(share).toBeGreaterThan(0);
      expect(text.distinct[0]).toBeLessThan(text.distinct[2]); // more words repeat than 3-grams do
      expect(text.compression).toBeGreaterThan(1);
      expect(text.selfBleu.sampled).toBeGreaterThan(1);
      expect(text.repeated8.sampled).toBe(120);
    }
    const attitude = stats.labels.find((l: any) => l.label === "Attitude");
    expect(attitude.shares).toHaveLength(5);
    expect(attitude.shares.reduce((s: number, v: any) => s + v.count, 0)).toBe(120);
    for (const share of attitude.shares) expect(share.expected).toBeCloseTo(0.2, 6);
    // Generated values (a phone number per sample) are no label to balance.
    expect(stats.labels.find((l: any) => l.label === "Phone")).toBeUndefined();
    const text = await runCli(["stats", id], { cwd });
    expect(text.stdout).toMatch(/distinct 3-grams/);
    expect(text.stdout).toMatch(/self-BLEU \(seeded sample\)/);
  });

  test("a judged run: the judge's scores and the keep rate by parameter value", async () => {
    const url = await server.start({ seed: 5 });
    const cwd = await tempDir();
    const example = join(ROOT, "examples", "judged-calls");
    const prompts = ["write.md", "judge.md"].flatMap((f) => ["--prompt", join(example, f)]);
    const made = await runCli(
      [...prompts, "-n", "40", "-j", join(example, "params.json"), "--base-url", url, ...fast],
      {
        cwd,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    const { id, stageCounts } = await readManifest(await onlyRunDir(cwd));
    const { stats } = JSON.parse((await runCli(["stats", id, "--json"], { cwd })).stdout);
    expect(stats.samples).toBe(stageCounts.kept);
    const score = stats.scores.find((s: any) => s.field === "Score");
    expect(Object.keys(score.counts).every((v) => Number(v) >= 2)).toBe(true);
    const byAttitude = score.keepRate.Attitude;
    expect(Object.keys(byAttitude).sort()).toEqual([
      "aggresive",
      "assertive",
      "negative",
      "neutral",
      "positive",
    ]);
    for (const rate of Object.values(byAttitude) as number[]) expect(rate).toBeGreaterThanOrEqual(0);
  });

  test("two runs side by side: each figure once per run", async () => {
    const url = await server.start({ seed: 7 });
    const cwd = await tempDir();
    await writeFile(
      join(cwd, "a.md"),
      "---\nfields: [Call, Summary]\n---\nA {{Attitude}} call. Write [Call] then [Summary].\n",
    );
    await writeFile(
      join(cwd, "b.md"),
      "---\nfields: [Call, Summary]\n---\nA long {{Problem}} call. Write [Call] then [Summary].\n",
    );
    const ids: string[] = [];
    for (const prompt of ["a.md", "b.md"]) {
      const run = await runCli(
        ["--prompt", prompt, "-n", "30", "-j", PARAMS, "--detach", "--base-url", url],
        { cwd },
      );
      const id = run.stdout.trim();
      expect((await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd })).code).toBe(
        0,
      );
      ids.push(id);
    }
    const both = await runCli(["stats", ids[0]!, ids[1]!], { cwd });
    expect(both.code, both.stderr).toBe(0);
    // Each id whole, apart from the other, and every line within 80 columns.
    expect(both.stdout.split("\n")[0]).toMatch(new RegExp(`\\s${ids[0]}\\s+${ids[1]}$`));
    for (const line of both.stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(both.stdout).toMatch(/distinct 2-grams\s+\d+\.\d%\s+\d+\.\d%/);
    const json = JSON.parse((await runCli(["stats", ids[0]!, ids[1]!, "--json"], { cwd })).stdout);
    expect(json).toHaveLength(2);
  });
});
