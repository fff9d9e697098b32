// A newcomer's first hour: waiting that can be made short, messages that name what is meant.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, expectOneLineError, onlyRunDir, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();

describe("--poll-interval wherever synthai waits on batches", () => {
  test("export --dedup semantic takes it for its embeddings' batches, and the run records it", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    // Made without a batch to wait for, with a look every hour recorded in the run.
    const made = await runCli(
      ["-n", "4", "-j", PARAMS, "--base-url", url, "--mode", "sync", "--poll-interval", "3600"],
      { cwd },
    );
    expect(made.code, made.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    const semantic = await runCli(
      ["export", id, "-p", "s.csv", "--dedup", "semantic", "--poll-interval", "0.02", "--base-url", url],
      { cwd },
    );
    expect(semantic.code, semantic.stderr).toBe(0);
    expect(server.fake.batches.map((b) => b.batch.endpoint)).toEqual(["/v1/embeddings"]);
    expect((await readManifest(runDir)).config.pollIntervalSeconds).toBe(0.02);
    const bad = await runCli(["export", id, "--poll-interval", "soon"], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --poll-interval/m);
  });
});

describe("messages that name what is meant", () => {
  test("--format chat without a mapping names the run's prompt file, not the built-in dataset", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    await writeFile(join(cwd, "write.md"), "---\nfields: [Call]\n---\nA {{Attitude}} call. Write [Call].\n");
    await writeFile(
      join(cwd, "judge.md"),
      "---\nfields: [Score]\n---\nScore this: {{Call}}. Write [Score].\n",
    );
    const stages = [
      "--prompt",
      "write.md",
      "--prompt",
      "judge.md",
      "-n",
      "3",
      "-j",
      PARAMS,
      "--base-url",
      url,
    ];
    const refused = await runCli([...stages, "--format", "chat", "-p", "c.jsonl"], { cwd });
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, new RegExp(`prompt file ${join(cwd, "write.md")} gives none`));
    expect(server.fake.batches).toHaveLength(0);
    const made = await runCli([...stages, "--poll-interval", "0.02"], { cwd });
    expect(made.code, made.stderr).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const exported = await runCli(["export", id, "--format", "chat", "-p", "c.jsonl"], { cwd });
    expect(exported.code).toBe(2);
    expectOneLineError(exported.stderr, new RegExp(`prompt file ${join(cwd, "write.md")} gives none`));
    expect(exported.stderr).not.toContain("built-in");
  });

  test("a model name a typo away from a known one is suggested, before anything is sent", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const typo = ["-n", "2", "-j", PARAMS, "--base-url", url, "--model", "gpt-6-lun"];
    const unpriced = await runCli(typo, { cwd });
    expect(unpriced.code).toBe(2);
    expectOneLineError(
      unpriced.stderr,
      /no price is known for model "gpt-6-lun" — did you mean gpt-6-luna\?/,
    );
    // Priced by hand, the service is asked: it has no such model, and the closest it has is named.
    const priced = await runCli([...typo, "--list-input-price", "1", "--list-output-price", "1"], { cwd });
    expect(priced.code).toBe(2);
    expectOneLineError(priced.stderr, /the service has no model gpt-6-lun .* — did you mean gpt-6-luna\?/);
    expect(server.fake.batches).toHaveLength(0);
    // Nothing near: no guess.
    const far = await runCli(["-n", "2", "-j", PARAMS, "--base-url", url, "--model", "llama-9"], { cwd });
    expect(far.stderr).not.toContain("did you mean");
  });
});
