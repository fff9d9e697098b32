// The first prompt file's own settings (model, max_tokens, reasoning_effort) run stage 1, as a
// later file's run its stage: the file's setting is the stage's own, the flags the run's default.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, onlyRunDir, readJsonlFile, readManifest, runCli, tempDir } from "./helpers.ts";

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
