// examples/judged-calls across three vendors' batch services: the writer on OpenAI, the judge on
// Anthropic, the rewrite on Gemini. What the run records is what each vendor's fake billed, and a
// kill -9 at any step of a stage on Anthropic or Gemini resumes with no batch made twice.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { FakeAnthropic } from "../src/fake/anthropic.ts";
import { FakeGemini } from "../src/fake/gemini.ts";
import { FakeOpenAI } from "../src/fake/server.ts";
import {
  API_KEY,
  ROOT,
  billedAtModelPrices,
  filesUnder,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const EXAMPLE = join(ROOT, "examples", "judged-calls");
const prompts = ["write.md", "judge.md", "rewrite.md"].flatMap((f) => ["--prompt", join(EXAMPLE, f)]);
const fast = ["--poll-interval", "0.02", "-j", join(EXAMPLE, "params.json"), "-p", "calls.csv"];
const run = (url: string) => [...prompts, "-n", "12", "-b", "2", "--seed", "3", "--base-url", url, ...fast];
const SEED = 5;

/** The stage each vendor serves in the example, and its model. */
const STAGES = {
  openai: { stage: 1, model: "gpt-6-luna" },
  anthropic: { stage: 2, model: "claude-haiku-5-5" },
  gemini: { stage: 3, model: "gemini-3-flash" },
} as const;

const stageOf = (b: { stage?: number }) => b.stage ?? 1;

/** What the canary, sent directly to OpenAI, was billed: gpt-6-luna's list price (twice its batch price). */
function billedDirectly(fake: FakeOpenAI): number {
  return fake.directUsage.reduce((s, u) => s + (u.prompt_tokens * 0.1 + u.completion_tokens * 0.5) / 1e6, 0);
}

/** The run's recorded cost, per stage (`status --json`) and in all, against what each vendor's fake billed. */
async function expectCostAsBilled(cwd: string): Promise<void> {
  const manifest = await readManifest(await onlyRunDir(cwd));
  const status = await runCli(["status", manifest.id, "--json"], { cwd });
  expect(status.code, status.stderr).toBe(0);
  const stages = JSON.parse(status.stdout).stages as { stage: number; costUsd: number; service: string }[];
  const billed = {
    openai: billedAtModelPrices(server.fake),
    anthropic: billedAtModelPrices(server.anthropic),
    gemini: billedAtModelPrices(server.gemini),
  };
  for (const [vendor, { stage }] of Object.entries(STAGES)) {
    const recorded = manifest.batches
      .filter((b: any) => stageOf(b) === stage)
      .reduce((s: number, b: any) => s + (b.collected?.costUsd ?? 0), 0);
    expect(billed[vendor as keyof typeof billed], vendor).toBeGreaterThan(0);
    expect(recorded, vendor).toBeCloseTo(billed[vendor as keyof typeof billed], 12);
    expect(stages.find((s) => s.stage === stage)!.costUsd, vendor).toBeCloseTo(recorded, 12);
  }
  const total = Object.values(billed).reduce((s, x) => s + x, 0) + billedDirectly(server.fake);
  const spent = manifest.batches.reduce((s: number, b: any) => s + (b.collected?.costUsd ?? 0), 0);
  expect(spent + (manifest.canary?.costUsd ?? 0)).toBeCloseTo(total, 12);
}

/** One batch on each vendor's fake per request file of its stage with something to ask; no upload twice. */
async function expectOneBatchPerFile(cwd: string): Promise<void> {
  const manifest = await readManifest(await onlyRunDir(cwd));
  const files = (stage: number) =>
    manifest.batches.filter((b: any) => stageOf(b) === stage && b.requests > 0).length;
  expect(server.fake.batchesCreated).toBe(files(1));
  expect(server.anthropic.batchesCreated).toBe(files(2));
  const ids = server.anthropic.requestedIds();
  expect(new Set(ids).size).toBe(ids.length);
  expect(server.gemini.jobsMade).toHaveLength(files(3));
  expect(server.gemini.filesUploaded).toHaveLength(files(3));
}

/** The rows of the same run (`args`, writing `out`), uninterrupted, on fresh fakes of the same seed. */
async function uninterruptedRows(args = run, out = "calls.csv"): Promise<Record<string, string>[]> {
  const fakes = [
    new FakeOpenAI({ apiKey: API_KEY, seed: SEED }),
    new FakeAnthropic({ apiKey: API_KEY, seed: SEED }),
    new FakeGemini({ apiKey: API_KEY, seed: SEED }),
  ] as const;
  const [url, anthropic, gemini] = await Promise.all(fakes.map((f) => f.start()));
  try {
    const cwd = await tempDir();
    const env = { ANTHROPIC_BASE_URL: anthropic, ANTHROPIC_API_KEY: API_KEY };
    const result = await runCli(args(url!), {
      cwd,
      env: { ...env, GOOGLE_GEMINI_BASE_URL: gemini, GEMINI_API_KEY: API_KEY },
    });
    expect(result.code, result.stderr).toBe(0);
    return await readCsv(join(cwd, out));
  } finally {
    await Promise.all(fakes.map((f) => f.stop()));
  }
}

describe("examples/judged-calls: the writer on OpenAI, the judge on Anthropic, the rewrite on Gemini", () => {
  test("each stage runs on its vendor's batch service, and the cost recorded is what each vendor's fake billed", async () => {
    const url = await server.start({ seed: SEED });
    const cwd = await tempDir();
    const result = await runCli(run(url), { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/done: \d+ of 12 samples/);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.config.stages.map((s: any) => [s.model, s.vendor])).toEqual([
      ["claude-haiku-5-5", "anthropic"],
      ["gemini-3-flash", "gemini"],
    ]);
    // Each vendor's fake answered its own stage: the rewrite is asked only where the judge scored low.
    expect(server.anthropic.batches.length).toBeGreaterThan(0);
    expect(server.gemini.jobsMade.length).toBeGreaterThan(0);
    await expectOneBatchPerFile(cwd);
    await expectCostAsBilled(cwd);
    // inspect shows each stage's prompt as its vendor's request carries it (Gemini's as contents).
    const shown = await runCli(["inspect", manifest.id, "--json", "--limit", "0"], { cwd });
    expect(shown.code, shown.stderr).toBe(0);
    const samples = shown.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const promptOfStage = (stage: number) => samples.find((s) => (s.stage ?? 1) === stage)?.prompt;
    expect(promptOfStage(1)).toMatch(/\S/);
    expect(promptOfStage(2)).toMatch(/^Rate a customer-service call transcript/);
    expect(promptOfStage(3)).toMatch(/^Rewrite a call transcript that was rated low/);
  });
});

describe("settings a vendor takes otherwise", () => {
  test("--temperature with a judge on Claude: one note says it is not sent there, and no Claude request carries it", async () => {
    const url = await server.start({ seed: SEED });
    const cwd = await tempDir();
    const result = await runCli([...run(url), "--temperature", "0.7"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/note: stage 2: temperature 0\.7 is not sent to claude-haiku-5-5/);
    expect(result.stderr.match(/is not sent to/g)).toHaveLength(1);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.batches.some((b: any) => b.stage === 2 && b.collected?.ok > 0)).toBe(true);
  });

  test("a Claude model synthai does not know is one line before anything is built", async () => {
    const url = await server.start({ seed: SEED });
    const cwd = await tempDir();
    const result = await runCli(
      ["--model", "anthropic/claude-nonesuch-9", "-n", "2", "--base-url", url, ...fast],
      {
        cwd,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^error: .*claude-nonesuch-9.* — /);
    expect(existsSync(join(cwd, "runs"))).toBe(false);
  });
});

describe("Claude's prompt cache: a judge with a long shared rubric", () => {
  test("the rubric is written to the cache once for an hour, then read; the cost recorded is what the fake billed", async () => {
    const url = await server.start({ seed: SEED });
    const cwd = await tempDir();
    // The example's judge on Sonnet (it has cache prices), its rubric a long system prompt every request shares.
    const rubric = Array.from(
      { length: 100 },
      (_, i) => `Rule ${i + 1}: a score of 5 needs the call and its summary to agree.`,
    );
    const judge = (await readFile(join(EXAMPLE, "judge.md"), "utf8")).replace(
      "model: claude-haiku-5-5",
      `model: claude-sonnet-5-5\nsystem: |\n  ${rubric.join("\n  ")}`,
    );
    await writeFile(join(cwd, "judge.md"), judge);
    const args = ["--prompt", join(EXAMPLE, "write.md"), "--prompt", join(cwd, "judge.md")];
    const result = await runCli([...args, "-n", "12", "-b", "2", "--seed", "3", "--base-url", url, ...fast], {
      cwd,
    });
    expect(result.code, result.stderr).toBe(0);
    const usages = server.anthropic.batches
      .flatMap((b) => (b.results ?? "").split("\n").filter(Boolean))
      .map((line) => JSON.parse(line).result.message.usage);
    expect(usages.length).toBeGreaterThan(1);
    const sum = (pick: (u: any) => number) => usages.reduce((s, u) => s + pick(u), 0);
    expect(sum((u) => u.cache_creation.ephemeral_1h_input_tokens)).toBeGreaterThan(0);
    expect(sum((u) => u.cache_creation.ephemeral_5m_input_tokens)).toBe(0);
    expect(usages.filter((u) => u.cache_read_input_tokens > 0)).toHaveLength(usages.length - 1);
    const manifest = await readManifest(await onlyRunDir(cwd));
    const recorded = manifest.batches
      .filter((b: any) => stageOf(b) === 2)
      .reduce((s: number, b: any) => s + (b.collected?.costUsd ?? 0), 0);
    expect(recorded).toBeCloseTo(billedAtModelPrices(server.anthropic), 12);
  });
});

describe("--provider anthropic or gemini: a run on that vendor alone, with its key only", () => {
  test.each([
    ["anthropic", "claude-haiku-5-5"],
    ["gemini", "gemini-2.5-flash"],
  ] as const)(
    "--provider %s --model %s runs to the end on that vendor's fake, no OpenAI key set",
    async (vendor, model) => {
      await server.start({ seed: SEED });
      const cwd = await tempDir();
      const result = await runCli(
        ["--provider", vendor, "--model", model, "-n", "6", "--poll-interval", "0.02", "-p", "out.csv"],
        { cwd, env: { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined } },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(6);
      expect(server.fake.batchesCreated).toBe(0);
      const made = vendor === "anthropic" ? server.anthropic.batchesCreated : server.gemini.jobsMade.length;
      expect(made).toBe(1);
    },
  );
});

describe("synthai gc --provider anthropic or gemini", () => {
  test.each([
    [
      "anthropic",
      "claude-haiku-5-5",
      /^1 ended synthai batch\(es\) found$/m,
      /^0 ended synthai batch\(es\) found$/m,
    ],
    [
      "gemini",
      "gemini-2.5-flash",
      /^[1-9]\d* orphaned synthai file\(s\) found$/m,
      /^0 orphaned synthai file\(s\) found$/m,
    ],
  ] as const)(
    "on %s's account (%s), with its own key and address: lists what a run kept there, then deletes it",
    async (vendor, model, found, none) => {
      await server.start({ seed: SEED });
      const cwd = await tempDir();
      const env = { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined };
      const made = await runCli(
        [
          "--provider",
          vendor,
          "--model",
          model,
          "-n",
          "3",
          "--poll-interval",
          "0.02",
          "-p",
          "out.csv",
          "--keep-remote",
        ],
        { cwd, env },
      );
      expect(made.code, made.stderr).toBe(0);
      const listed = await runCli(["gc", "--provider", vendor, "--dry-run"], { cwd, env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stderr).toMatch(found);
      expect((await runCli(["gc", "--provider", vendor], { cwd, env })).code).toBe(0);
      const after = await runCli(["gc", "--provider", vendor, "--dry-run"], { cwd, env });
      expect(after.stderr).toMatch(none);
    },
  );
});

describe("kill -9 during a stage on Anthropic or Gemini, then synthai resume", () => {
  let reference: Record<string, string>[];
  beforeAll(async () => {
    reference = await uninterruptedRows();
  });
  // At upload (the file made, its name not recorded), at create (the moment recorded, nothing
  // asked yet; then the batch made, its id not recorded), after create, after the batch ends and
  // after collect. Anthropic takes requests inline in the create call: it has no upload to be killed at.
  const POINTS = {
    anthropic: ["before-create", "after-create", "after-submit", "after-finished", "after-collect"],
    gemini: [
      "after-upload",
      "before-create",
      "after-create",
      "after-submit",
      "after-finished",
      "after-collect",
    ],
  };
  for (const [vendor, points] of Object.entries(POINTS))
    for (const point of points)
      test(`${vendor}, killed ${point}: one batch per request file, the rows of an uninterrupted run, cost as billed`, async () => {
        const url = await server.start({ seed: SEED });
        const cwd = await tempDir();
        const crash = `${point}@s${STAGES[vendor as "anthropic" | "gemini"].stage}`;
        const killed = await runCli(run(url), { cwd, env: { SYNTHAI_CRASH_AT: crash } });
        expect(killed.signal, killed.stderr).toBe("SIGKILL");
        const { id } = await readManifest(await onlyRunDir(cwd));
        const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
        expect(resumed.code, resumed.stderr).toBe(0);
        await expectOneBatchPerFile(cwd);
        expect(await readCsv(join(cwd, "calls.csv"))).toEqual(reference);
        await expectCostAsBilled(cwd);
      });
});

describe("kill -9 during a Gemini download, then synthai resume", () => {
  // A run on Gemini alone, so the download killed is Gemini's (OpenAI's has the same point).
  const alone = () => [
    "--provider",
    "gemini",
    "--model",
    "gemini-3-flash",
    "-n",
    "6",
    "-b",
    "2",
    "--seed",
    "3",
  ];
  const args = () => [...alone(), "--poll-interval", "0.02", "-p", "out.csv"];

  test("one job per request file, the rows of an uninterrupted run, cost as billed, nothing left in the run folder", async () => {
    const reference = await uninterruptedRows(args, "out.csv");
    await server.start({ seed: SEED });
    const cwd = await tempDir();
    const killed = await runCli(args(), { cwd, env: { SYNTHAI_CRASH_AT: "during-download" } });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const dir = await onlyRunDir(cwd);
    const { id } = await readManifest(dir);
    const resumed = await runCli(["resume", id, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toEqual(reference);
    const manifest = await readManifest(dir);
    const files = manifest.batches.filter((b: any) => b.requests > 0);
    expect(server.gemini.jobsMade).toHaveLength(files.length);
    expect(server.gemini.filesUploaded).toHaveLength(files.length);
    expect(server.fake.batchesCreated).toBe(0);
    const spent = manifest.batches.reduce((s: number, b: any) => s + (b.collected?.costUsd ?? 0), 0);
    expect(spent).toBeCloseTo(billedAtModelPrices(server.gemini), 12);
    expect((await filesUnder(dir)).filter((f) => f.endsWith(".gemini.jsonl"))).toEqual([]);
  });
});
