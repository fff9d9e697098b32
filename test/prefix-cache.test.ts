// Prompts laid out for the service's prefix cache, through the CLI against the fake (which bills
// a prefix seen before as OpenAI documents it): what the dry run and preview say of each stage's
// shared prefix, and what a judge laid out prefix-first pays against the same judge placeholder-first.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT, onlyRunDir, runCli, tempDir, useFake } from "./helpers.ts";
import { costUsd } from "../src/api/pricing.ts";

const server = useFake();
const EXAMPLE = join(ROOT, "examples", "judged-calls");
const write = ["-j", join(EXAMPLE, "params.json"), "--prompt", join(EXAMPLE, "write.md")];
/** gpt-6.1-terra's batch price, the judge's model. */
const JUDGE_PRICE = { input: 0.5, output: 2.5, cachedInput: 0.025 };

/** A rubric long enough to be cached: well over 1,024 tokens, by the fake's count and the tokenizer's. */
const RUBRIC = Array.from(
  { length: 60 },
  (_, i) =>
    `${i + 1}. Criterion ${i + 1}: the agent states the account, the tariff and the next step ` +
    `clearly, and the customer's words fit their attitude (check ${i % 7} of the call).`,
).join("\n");

const FRONT = `---
fields: [Score, Critique]
model: gpt-6.1-terra
max_tokens: 300
schema:
  type: object
  properties:
    Score: { type: integer, minimum: 1, maximum: 5 }
    Critique: { type: string }
  required: [Score, Critique]
  additionalProperties: false
---
`;
const TASK = `Rate this customer-service call transcript from 1 to 5 by this rubric, with a one-sentence critique.\n${RUBRIC}\n`;
const JUDGES = {
  prefixFirst: `${FRONT}${TASK}\nTranscript:\n{{Call}}\n`,
  placeholderFirst: `${FRONT}Transcript:\n{{Call}}\n\n${TASK}`,
};

async function judgeIn(cwd: string, layout: keyof typeof JUDGES): Promise<string[]> {
  await writeFile(join(cwd, `${layout}.md`), JUDGES[layout]);
  return ["--prompt", join(cwd, `${layout}.md`)];
}

/** The judge stage's prompt and cached tokens as the run's ledger has them, and what its input cost. */
async function judgeInput(cwd: string) {
  const id = (await onlyRunDir(cwd)).split(/[\\/]/).at(-1)!;
  const status = await runCli(["status", id, "--json"], { cwd });
  const summary = JSON.parse(status.stdout);
  const judge = summary.stages[1];
  // Each stage's savings at its own model's price, the run's their sum.
  expect(judge.cacheSavedUsd).toBeCloseTo((judge.cachedTokens * (0.5 - 0.025)) / 1e6, 12);
  expect(summary.cacheSavedUsd).toBeCloseTo(summary.stages[0].cacheSavedUsd + judge.cacheSavedUsd, 12);
  return { ...judge, inputUsd: costUsd(JUDGE_PRICE, judge.promptTokens, 0, judge.cachedTokens), id };
}

describe("prompts laid out for the prefix cache", () => {
  test("a judge laid out prefix-first pays at least 30% less for its input than the same judge placeholder-first, as the fake bills the cache", async () => {
    const url = await server.start({ seed: 3 });
    const paid: Record<string, Awaited<ReturnType<typeof judgeInput>>> = {};
    for (const layout of ["prefixFirst", "placeholderFirst"] as const) {
      const cwd = await tempDir();
      const args = [...write, ...(await judgeIn(cwd, layout)), "-n", "20", "--base-url", url];
      const run = await runCli([...args, "--poll-interval", "0.02", "-p", "calls.csv"], { cwd });
      expect(run.code, run.stderr).toBe(0);
      paid[layout] = await judgeInput(cwd);
      // The ledger's stage figures are the service's own: every judge batch's cached tokens.
      const status = await runCli(["status", paid[layout]!.id], { cwd });
      expect(status.stdout).toMatch(
        new RegExp(
          `^stage 2: gpt-6\\.1-terra on OpenAI: 20 asked.*; ${paid[layout]!.cachedTokens} of \\d+ prompt tokens cached \\(`,
          "m",
        ),
      );
      // The report says the same of each stage.
      expect((await runCli(["report", paid[layout]!.id], { cwd })).code).toBe(0);
      expect(await readFile(join(await onlyRunDir(cwd), "report.html"), "utf8")).toContain(
        `${paid[layout]!.cachedTokens} of ${paid[layout]!.promptTokens} prompt tokens cached`,
      );
    }
    const judged = server.fake.batches.filter((b) => b.batch.model === "gpt-6.1-terra");
    const billedCached = judged.reduce((s, b) => s + b.batch.usage.input_tokens_details.cached_tokens, 0);
    expect(paid.prefixFirst!.cachedTokens + paid.placeholderFirst!.cachedTokens).toBe(billedCached);
    expect(paid.placeholderFirst!.cachedTokens).toBe(0);
    // The first request with the rubric is a miss; the 19 after it hit.
    expect(paid.prefixFirst!.cachedTokens).toBeGreaterThanOrEqual(19 * 1024);
    expect(paid.prefixFirst!.inputUsd).toBeLessThanOrEqual(0.7 * paid.placeholderFirst!.inputUsd);
  });

  test("the dry run shows each stage's shared prefix and what it saves, and warns of a placeholder before the rubric", async () => {
    const cwd = await tempDir();
    const dry = async (layout: keyof typeof JUDGES) =>
      runCli([...write, ...(await judgeIn(cwd, layout)), "-n", "30", "--dry-run", "-p", "calls.csv"], {
        cwd,
      });
    const first = await dry("prefixFirst");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(
      /stage 1 \(gpt-6-luna\): \d+ prompt tokens are a prefix shared by all requests; the service caches from 1024/,
    );
    const line =
      /stage 2 \(gpt-6\.1-terra\): (\d+) prompt tokens are a prefix shared by all requests; (\d+) of them billed at the cached price after the first request: saves \$([\d.]+) over 30 requests/;
    const [, shared, cached, saved] = first.stderr.match(line)!;
    expect(Number(shared)).toBeGreaterThan(1024);
    expect(Number(cached) % 128).toBe(0);
    expect(Number(saved)).toBeCloseTo((Number(cached) * 29 * (0.5 - 0.025)) / 1e6, 4);
    expect(first.stderr).not.toMatch(/warning: stage 2/);
    const last = await dry("placeholderFirst");
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(
      /stage 2 \(gpt-6\.1-terra\): \d+ prompt tokens are a prefix shared by all requests; the service caches from 1024/,
    );
    expect(last.stderr).toMatch(
      /warning: stage 2: \{\{Call\}\} at token \d+ comes before \d{4} tokens of static text/,
    );
  });

  test("on a Claude stage the dry run prices the system prompt alone, a write then reads, and hints where the rubric sits in the body", async () => {
    const cwd = await tempDir();
    const claude = FRONT.replace("model: gpt-6.1-terra", "model: claude-sonnet-5-5");
    const system = claude.replace(/\n---\n$/, `\nsystem: |\n  ${TASK.trim().replace(/\n/g, "\n  ")}\n---\n`);
    const layouts = {
      system: `${system}Transcript:\n{{Call}}\n`,
      body: `${claude}${TASK}\nTranscript:\n{{Call}}\n`,
    };
    const dry = async (layout: keyof typeof layouts) => {
      await writeFile(join(cwd, `${layout}.md`), layouts[layout]);
      const args = [
        ...write,
        "--prompt",
        join(cwd, `${layout}.md`),
        "-n",
        "30",
        "--dry-run",
        "-p",
        "calls.csv",
      ];
      const run = await runCli(args, { cwd });
      expect(run.code, run.stderr).toBe(0);
      return run.stderr;
    };
    const inSystem = await dry("system");
    const line =
      /stage 2 \(claude-sonnet-5-5\): \d+ prompt tokens are a prefix shared by all requests; the system prompt's (\d+) billed at the cached price after the first request, which writes them at the cache-write price: saves \$([\d.]+) over 30 requests/;
    const [, cached, saved] = inSystem.match(line) ?? [];
    expect(Number(cached)).toBeGreaterThan(1024);
    // Sonnet 5.5 at batch price: input 1, cache read 0.1, the hour's write 2 (per 1M tokens).
    expect(Number(saved)).toBeCloseTo((Number(cached) * (29 * (1 - 0.1) - (2 - 1))) / 1e6, 4);
    expect(inSystem).not.toMatch(/hint: stage 2/);
    const inBody = await dry("body");
    expect(inBody).toMatch(
      /stage 2 \(claude-sonnet-5-5\): \d+ prompt tokens are a prefix shared by all requests; Anthropic caches only the system prompt \(0 tokens here\) from 1024, so none is billed as cached/,
    );
    expect(inBody).toMatch(/hint: stage 2: \d{4} shared prompt tokens are in the messages, .*into `system:`/);
  });

  test("preview shows the same of every stage, before a run", async () => {
    const cwd = await tempDir();
    const preview = await runCli(
      ["preview", "-n", "1", ...write, ...(await judgeIn(cwd, "placeholderFirst"))],
      { cwd },
    );
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(
      /^── prefix cache \(at batch price\)\nstage 1 \(gpt-6-luna\): \d+ prompt tokens/m,
    );
    expect(preview.stdout).toMatch(/^warning: stage 2: \{\{Call\}\} at token \d+ comes before/m);
    // The example itself is laid out prefix-first: nothing to warn of.
    const judged = await runCli(["preview", "-n", "1", ...write, "--prompt", join(EXAMPLE, "judge.md")], {
      cwd,
    });
    expect(judged.stdout).toMatch(/^stage 2 \(claude-haiku-5-5\): \d+ prompt tokens are a prefix shared/m);
    expect(judged.stdout).not.toMatch(/warning/);
  });

  test("every shipped prompt file puts its static text first: at most a quarter of it after the first placeholder", async () => {
    const files = (await readdir(join(ROOT, "examples"), { recursive: true })).filter((f) =>
      f.endsWith(".md"),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = await readFile(join(ROOT, "examples", file), "utf8");
      const body = text.slice(text.indexOf("\n---\n", 4) + 5);
      const at = body.indexOf("{{");
      if (at < 0) continue;
      const words = (part: string) =>
        part
          .replace(/\{\{[^}]*\}\}/g, "")
          .replace(/\s+/g, " ")
          .trim().length;
      const after = words(body.slice(at));
      expect(after / (words(body.slice(0, at)) + after), file).toBeLessThanOrEqual(0.25);
    }
  });
});
