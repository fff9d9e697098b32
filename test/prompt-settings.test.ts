// The first prompt file's own settings (model, max_tokens, reasoning_effort) run stage 1, as a
// later file's run its stage: the file's setting is the stage's own, the flags the run's default.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, onlyRunDir, readJsonlFile, readManifest, runCli, tempDir } from "./helpers.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { resolveStageSettings } from "../src/run/config.ts";
import { UserError } from "../src/errors.ts";

const WRITE = `---
fields: [Call, Summary]
model: gpt-6.1-terra
max_tokens: 300
reasoning_effort: low
---
Write a {{Attitude}} call about {{Problem}}. [Call] the call, [Summary] its summary.
`;
const JUDGE = `---
fields: [Score]
---
Rate this call from 1 to 5: {{Call}}. Write [Score] before the score.
`;

describe("the first prompt file's settings", () => {
  test("model, max_tokens and reasoning_effort of the first file reach stage 1's requests; a later stage without its own takes the run's", async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, "write.md"), WRITE);
    await writeFile(join(cwd, "judge.md"), JUDGE);
    const result = await runCli(
      [
        "--prompt",
        "write.md",
        "--prompt",
        "judge.md",
        "-j",
        PARAMS,
        "-n",
        "3",
        "--max-tokens",
        "900",
        "--dry-run",
      ],
      { cwd },
    );
    expect(result.code, result.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const [request] = await readJsonlFile(join(runDir, "requests", "c0000-a1.jsonl"));
    expect(request.body).toMatchObject({
      model: "gpt-6.1-terra",
      max_completion_tokens: 300,
      reasoning_effort: "low",
    });
    const { config } = await readManifest(runDir);
    expect(config).toMatchObject({ model: "gpt-6.1-terra", maxTokens: 300, reasoningEffort: "low" });
    // The run's price is the stage model's: the estimate is of what stage 1 will cost.
    expect(config.price.output).toBe(2.5);
    expect(config.stages).toEqual([
      expect.objectContaining({ model: "gpt-6-luna", maxTokens: 900, reasoningEffort: "none" }),
    ]);
  });

  test("a reasoning_effort the first file names that is no effort is one line before anything is built", async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, "write.md"), WRITE.replace("reasoning_effort: low", "reasoning_effort: lots"));
    const result = await runCli(["--prompt", "write.md", "-j", PARAMS, "-n", "3", "--dry-run"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/write\.md: reasoning_effort "lots" is not one of none, minimal/);
  });
});

describe("the price flags and a first file's model", () => {
  test("the prices given are the first file's model's, not the catalogue's, nor refused as unknown", () => {
    const openai = toRunConfig({ "input-price": "9", "output-price": "9" }, () => 1);
    const own = resolveStageSettings({ model: "gpt-6.1-terra" }, openai, "write.md", true);
    expect([own.price.input, own.price.output]).toEqual([9, 9]);
    // A later stage's model is its own: the flags priced the run's model, not it.
    const later = resolveStageSettings({ model: "gpt-6.1-terra" }, openai, "judge.md");
    expect(later.price.input).toBeLessThan(9);
    const served = toRunConfig(
      { provider: "vllm", model: "served-a", "input-price": "0", "output-price": "0" },
      () => 1,
    );
    const first = resolveStageSettings({ model: "served-b" }, served, "write.md", true);
    expect([first.price.input, first.price.output]).toEqual([0, 0]);
  });

  test("a later stage's model with no price known says the flags will not price it, and what will", () => {
    const run = toRunConfig({ "list-input-price": "0.1", "list-output-price": "0.1" }, () => 1);
    expect(() =>
      resolveStageSettings({ model: "gemini/gemini-4-turbo" }, run, "prompt file rewrite.md"),
    ).toThrow(
      new UserError(
        'prompt file rewrite.md: no price is known for model "gemini/gemini-4-turbo"',
        "did you mean gemini-3-pro? If not, a later stage's model is priced from the catalogue (`synthai models` lists it); the price flags " +
          "(--input-price, --list-input-price, …) price the run's first stage only",
      ),
    );
  });
});
