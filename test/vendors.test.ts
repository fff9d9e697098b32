// Several vendors in one run: whose service runs a model, what it costs as that vendor bills it,
// the key it needs, and what a batch that tells no counts until it ends shows while it runs.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { bareModel, modelInfo } from "../src/api/models.ts";
import { costUsd, priceFor } from "../src/api/pricing.ts";
import { vendorOfModel } from "../src/api/providers/index.ts";
import { makeService } from "../src/api/services/index.ts";
import { worstCase } from "../src/pipeline/budget.ts";
import { progressLine, progressOf } from "../src/pipeline/progress.ts";
import { checkVendorKeys, resolveStageSettings } from "../src/run/config.ts";
import type { Manifest, RunConfig } from "../src/run/manifest.ts";
import { RUN_DEFAULTS } from "../src/run/settings.ts";
import { formatRunDetail } from "../src/views/status.ts";
import { stageRows, summarize } from "../src/run/totals.ts";
import { UserError } from "../src/errors.ts";
import {
  API_KEY,
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

/** The one line a user sees for what `act` throws. */
function lineOf(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    if (error instanceof UserError) return error.toLine();
    throw error;
  }
  return "nothing thrown";
}

describe("whose service runs a model", () => {
  test.each([
    ["claude-haiku-5-5", "openai", "anthropic"],
    ["anthropic/claude-sonnet-5-5", "openai", "anthropic"],
    ["gemini/gemini-3-flash", "openai", "gemini"],
    ["gpt-6-luna", "openai", "openai"],
    // A model the catalogue does not hold is the run's provider's vendor's.
    ["gemini-3-flash", "gemini", "gemini"],
    ["meta-llama/Llama-3.3-70B-Instruct-Turbo", "together", "openai"],
    // `openai/` is part of a served model's name on Groq, not a vendor's prefix.
    ["openai/gpt-oss-20b", "groq", "openai"],
    // A catalogued Claude model is Anthropic's whatever the run's provider.
    ["claude-opus-5-5", "groq", "anthropic"],
  ] as const)("%s in a --provider %s run → %s", (model, provider, vendor) => {
    expect(vendorOfModel(model, provider)).toBe(vendor);
  });

  test("a vendor's prefix is stripped from what is sent; other slashes stay", () => {
    expect(bareModel("anthropic/claude-haiku-5-5")).toBe("claude-haiku-5-5");
    expect(bareModel("gemini/gemini-3-flash")).toBe("gemini-3-flash");
    expect(bareModel("openai/gpt-oss-20b")).toBe("openai/gpt-oss-20b");
    expect(modelInfo("anthropic/claude-haiku-5-5")?.vendor).toBe("anthropic");
    // Another vendor's model of an OpenAI model's name is not OpenAI's.
    expect(modelInfo("gemini/gpt-6-luna")).toBeUndefined();
  });
});

describe("prices as the vendors bill them", () => {
  test("Claude models at Anthropic's batch share, with cache writes (1h) and reads", () => {
    expect(priceFor("claude-sonnet-5-5", "batch")).toEqual({
      input: 1,
      output: 5,
      cachedInput: 0.1,
      cacheWrite: 2,
    });
    expect(priceFor("anthropic/claude-opus-5-5", "sync")).toEqual({
      input: 4,
      output: 20,
      cachedInput: 0.2,
      cacheWrite: 8,
    });
    // No cache prices are published for Haiku: reads and writes at its input price.
    expect(priceFor("claude-haiku-5-5", "batch")).toEqual({ input: 0.05, output: 0.25 });
  });

  test("a Claude stage pays Anthropic's share, not the run's provider's (Kimi bills 60%)", () => {
    expect(priceFor("claude-haiku-5-5", "batch", {}, "kimi").input).toBeCloseTo(0.05, 12);
    expect(priceFor("kimi-k2.6", "batch", { listInput: 1, listOutput: 2 }, "kimi").input).toBeCloseTo(
      0.6,
      12,
    );
  });

  test("cache reads and writes are priced apart from the rest of the prompt", () => {
    const sonnet = priceFor("claude-sonnet-5-5", "batch");
    // 1M prompt tokens: 200k read from the cache, 100k written to it, 700k plain; 50k out.
    expect(costUsd(sonnet, 1_000_000, 50_000, 200_000, 100_000)).toBeCloseTo(
      (700_000 * 1 + 200_000 * 0.1 + 100_000 * 2 + 50_000 * 5) / 1e6,
      12,
    );
    // OpenAI bills no cache write above the input price (gpt-6-luna: no write price).
    const luna = priceFor("gpt-6-luna", "batch");
    expect(costUsd(luna, 1_000, 0, 400, 300)).toBeCloseTo((300 * 0.05 + 400 * 0.005 + 300 * 0.05) / 1e6, 15);
    // Never more tokens read or written than the prompt had.
    expect(costUsd(sonnet, 100, 0, 80, 80)).toBeCloseTo((80 * 0.1 + 20 * 2) / 1e6, 15);
  });

  test("a model name a typo away from a Claude model is answered with it", () => {
    expect(lineOf(() => priceFor("claude-haiku-5.5", "batch"))).toMatch(/did you mean claude-haiku-5-5\?/);
  });
});

const run = {
  ...RUN_DEFAULTS,
  model: "gpt-6-luna",
  samples: 10,
  batches: 1,
  output: "out.csv",
  paramsFile: "params.json",
  seed: 1,
  maxTokens: 100,
  price: { input: 0.05, output: 0.25, cachedInput: 0.005 },
  metrics: true,
  maxAttempts: 2,
  pollIntervalSeconds: 1,
} satisfies RunConfig;

describe("a stage of another vendor", () => {
  test("records the bare model, its vendor and that vendor's batch price", () => {
    expect(resolveStageSettings({ model: "anthropic/claude-haiku-5-5" }, run, "judge.md")).toEqual({
      model: "claude-haiku-5-5",
      vendor: "anthropic",
      maxTokens: 100,
      reasoningEffort: "none",
      price: { input: 0.05, output: 0.25 },
    });
    expect(resolveStageSettings({}, run, "judge.md")).not.toHaveProperty("vendor");
  });

  test("the budget's worst case of its batch is at its vendor's price, cache writes included", () => {
    const config: RunConfig = {
      ...run,
      stages: [
        {
          model: "claude-opus-5-5",
          vendor: "anthropic",
          maxTokens: 1000,
          price: priceFor("claude-opus-5-5", "batch"),
        },
      ],
    };
    const record = {
      stage: 2,
      chunk: 0,
      attempt: 1,
      requestsFile: "",
      requests: 10,
      promptTokens: 5000,
      step: "pending",
    } as const;
    // 5,000 prompt tokens at their dearest, the 1-hour cache write ($4: a marked system prompt may
    // be written by every request), and 10 × 1,000 out at $10 per 1M.
    expect(worstCase({ config } as Manifest, record)).toBeCloseTo((5000 * 4 + 10_000 * 10) / 1e6, 12);
  });

  test("its key comes from its vendor's variables; a missing one names them and the stage", () => {
    const config: RunConfig = {
      ...run,
      stages: [
        { model: "claude-haiku-5-5", vendor: "anthropic", maxTokens: 100, price: run.price },
        { model: "gemini-3-flash", vendor: "gemini", maxTokens: 100, price: run.price },
      ],
    };
    expect(lineOf(() => checkVendorKeys(config, { GEMINI_API_KEY: "g" }))).toMatch(
      /no Anthropic API key for stage 2 \(claude-haiku-5-5\).*set ANTHROPIC_API_KEY/,
    );
    expect(lineOf(() => checkVendorKeys(config, { ANTHROPIC_API_KEY: "a" }))).toMatch(
      /stage 3 \(gemini-3-flash\).*set GOOGLE_API_KEY or GEMINI_API_KEY/,
    );
    expect(() => checkVendorKeys(config, { ANTHROPIC_API_KEY: "a", GOOGLE_API_KEY: "g" })).not.toThrow();
    // The run's own vendor's key is -k's or its provider's variable, checked as its client is made.
    expect(() => checkVendorKeys(run, {})).not.toThrow();
  });

  test("a missing key is said in one way, found before anything is built or as the vendor's service is made", () => {
    const config: RunConfig = {
      ...run,
      stages: [{ model: "gemini-3-flash", vendor: "gemini", maxTokens: 100, price: run.price }],
    };
    const saved = { ...process.env };
    for (const name of ["GOOGLE_API_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY"]) delete process.env[name];
    try {
      const said =
        "no Gemini API key — set GOOGLE_API_KEY or GEMINI_API_KEY (the first wins when both are set)";
      expect(lineOf(() => makeService("gemini", {}))).toBe(`error: ${said}`);
      expect(lineOf(() => checkVendorKeys(config, {}))).toBe(
        `error: ${said.replace(" —", " for stage 2 (gemini-3-flash) —")}: a model of another vendor than --provider's takes its key from there`,
      );
      expect(lineOf(() => makeService("anthropic", {}))).toBe(
        "error: no Anthropic API key — set ANTHROPIC_API_KEY",
      );
    } finally {
      process.env = saved;
    }
  });
});

describe("models of two vendors in one run, through the CLI", () => {
  const server = useFake();
  const PAIRS = join(ROOT, "examples", "preference-pairs");

  async function pairsWith(models: string): Promise<{ cwd: string; args: string[] }> {
    const cwd = await tempDir();
    const answer = await readFile(join(PAIRS, "answer.md"), "utf8");
    await writeFile(join(cwd, "answer.md"), answer.replace(/^models: .*$/m, `models: [${models}]`));
    const args = [
      "--prompt",
      join(PAIRS, "ask.md"),
      "--prompt",
      "answer.md",
      "-j",
      join(PAIRS, "params.json"),
    ];
    return { cwd, args: [...args, "-n", "4", "--poll-interval", "0.02"] };
  }

  test("a key missing for the Claude model is one line before anything is built", async () => {
    const url = await server.start();
    const { cwd, args } = await pairsWith("gpt-6-luna, claude-haiku-5-5");
    const result = await runCli([...args, "--base-url", url], { cwd, env: { ANTHROPIC_API_KEY: undefined } });
    expect(result.code).toBe(2);
    expectOneLineError(
      result.stderr,
      /no Anthropic API key for stage 3 \(claude-haiku-5-5\) — set ANTHROPIC_API_KEY/,
    );
    expect(result.stderr).not.toContain(API_KEY);
    expect(await readdir(cwd)).toEqual(["answer.md"]);
    expect(server.fake.batches).toHaveLength(0);
  });

  test("`anthropic/…` names the stage's vendor; the run records the bare id at Anthropic's price", async () => {
    const { cwd, args } = await pairsWith("gpt-6-luna, anthropic/claude-haiku-5-5");
    const result = await runCli([...args, "--dry-run"], { cwd, env: { ANTHROPIC_API_KEY: undefined } });
    expect(result.code, result.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const manifest = await readManifest(runDir);
    expect(manifest.config.stages[1]).toMatchObject({
      model: "claude-haiku-5-5",
      vendor: "anthropic",
      price: { input: 0.05, output: 0.25 },
    });
    expect(manifest.config.stages[0]).not.toHaveProperty("vendor");
    const status = await runCli(["status", manifest.id], { cwd });
    expect(status.stdout).toMatch(/model gpt-6-luna on OpenAI/);
  });

  test("a typo of a Claude model is answered with the right name", async () => {
    const { cwd, args } = await pairsWith("gpt-6-luna, claude-haiku-5.5");
    const result = await runCli([...args, "--dry-run"], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(
      result.stderr,
      /no price is known for model "claude-haiku-5\.5" — did you mean claude-haiku-5-5\?/,
    );
  });
});

describe("a batch whose vendor tells no counts until it ends", () => {
  const claudeStage = {
    model: "claude-haiku-5-5",
    vendor: "anthropic" as const,
    maxTokens: 100,
    price: { input: 0.05, output: 0.25 },
  };
  const batch = (extra: object) => ({
    chunk: 0,
    attempt: 1,
    requestsFile: "requests/x.jsonl",
    requests: 500,
    promptTokens: 0,
    step: "submitted",
    status: "in_progress",
    batchId: "msgbatch_1",
    createdAt: 1000,
    ...extra,
  });
  const manifest = (batches: object[]) =>
    ({
      version: 2,
      id: "run",
      createdAt: "2026-12-07T08:00:00Z",
      state: "running",
      config: { ...run, samples: 500, stages: [claudeStage] },
      chunks: [],
      batches,
    }) as unknown as Manifest;

  test("the progress line says unknown, never 0, and an ETA from the vendor's typical hour, as an estimate", () => {
    // Anthropic counts nothing but `processing` until the batch ends.
    const running = manifest([
      batch({ stage: 2 }),
      batch({ stage: 2, chunk: 1, requestCounts: { total: 500, completed: 0, failed: 0 } }),
    ]);
    const { line } = progressLine(progressOf(running, 1000 + 900));
    expect(line).toBe(
      "waiting: 0/500 valid · spent $0.0000 · ETA ~45m00s (an estimate) · " +
        "1000 requests unknown until the batch ends · 2 batch(es): 2 in_progress · 15m00s",
    );
    expect(line).not.toMatch(/\b0\/\d+ requests|0%/);
  });

  test("beside an OpenAI batch with counts, each is shown as it is", () => {
    const mixed = manifest([
      batch({ batchId: "batch_1", requestCounts: { total: 900, completed: 400, failed: 50 } }),
      batch({ stage: 2 }),
    ]);
    const progress = progressOf(mixed, 1000 + 600);
    expect(progressLine(progress).line).toContain(
      "450/900 requests (50 failed), 500 requests unknown until the batch ends",
    );
    expect(progress.etaEstimated).toBe(true);
  });

  test("status says so in the batch's row and gives the estimate", () => {
    const detail = formatRunDetail(manifest([batch({ stage: 2 })]), 1000 + 900);
    expect(detail).toContain(
      "in flight: 500 requests unknown until the batch ends · ETA ~45m00s (an estimate)",
    );
    expect(detail).toMatch(/s2-c0 .* 500, unknown until the batch ends/);
  });

  test("each stage's row (status, the report, the card) names its vendor; the run's first, the provider's", () => {
    const rows = stageRows(summarize(manifest([batch({ stage: 2 }), batch({ batchId: "batch_1" })])));
    const cache = "; 0 of 0 prompt tokens cached (0.0%, saved $0.0000)";
    expect(rows[0]).toEqual([
      "stage 1",
      `gpt-6-luna on OpenAI: 500 asked, 0 valid, 0 given up, $0.0000${cache}`,
    ]);
    expect(rows[1]).toEqual([
      "stage 2",
      `claude-haiku-5-5 on Anthropic: 500 asked, 0 valid, 0 given up, $0.0000${cache}`,
    ]);
  });

  test("a batch that has ended without counts (Gemini gives none) has run all its requests: never 0 done", () => {
    const ended = manifest([
      batch({ batchId: "batches/1", status: "completed", step: "finished", finishedAt: 1100 }),
      batch({ stage: 2, chunk: 1, status: "ended", step: "collected", finishedAt: 1200 }),
    ]);
    const progress = progressOf({ ...ended, state: "done" }, 1300);
    expect(progress).toMatchObject({ requestsDone: 1000, requestsTotal: 1000, requestsUnknown: 0 });
    expect(progress.etaSeconds).toBeUndefined();
    // While the run goes on, the batch in flight: ended, all of its requests run.
    expect(progressLine(progressOf(ended, 1300)).line).toContain("· 500/500 requests ·");
  });

  test("past the typical time there is no ETA to give, and OpenAI's batch without counts yet is not unknown", () => {
    const late = progressOf(manifest([batch({ stage: 2 })]), 1000 + 7200);
    expect(late.etaSeconds).toBeUndefined();
    expect(late.requestsUnknown).toBe(500);
    const openai = progressOf(manifest([batch({ batchId: "batch_1", status: "validating" })]), 1010);
    expect(openai.requestsUnknown).toBe(0);
  });
});
