// A stage whose model the service refuses stops the run at its first batch, and pays for nothing
// more; what a run counts (given up, re-requested) counts every stage; a stage names no model twice.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { sameModelTwice } from "../src/dataset/several-models.ts";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FAKE_MODELS } from "../src/fake/models.ts";
import { refusedWhole } from "../src/pipeline/verdict.ts";
import type { Manifest } from "../src/run/manifest.ts";
import { summarize } from "../src/run/totals.ts";
import { formatRunDetail, statusExitCode } from "../src/views/status.ts";
import {
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const EXAMPLE = join(ROOT, "examples", "judged-calls");
const fast = ["--poll-interval", "0.02", "-j", join(EXAMPLE, "params.json"), "-p", "calls.csv"];
/** The example's writer and judge, the judge on OpenAI's gpt-6.1-terra (the example's is Claude's): a model OpenAI withdraws. */
async function stagesOnOpenAI(cwd: string): Promise<string[]> {
  const judge = await readFile(join(EXAMPLE, "judge.md"), "utf8");
  await writeFile(join(cwd, "judge.md"), judge.replace(/^model: .*$/m, "model: gpt-6.1-terra"));
  return ["--prompt", join(EXAMPLE, "write.md"), "--prompt", join(cwd, "judge.md")];
}

/** The requests of every batch the fake was given for `model`. */
function requestsFor(model: string): number {
  return server.fake.batches
    .filter((b) => b.batch.model === model)
    .reduce((s, b) => s + b.batch.request_counts.total, 0);
}

describe("a stage's model refused", () => {
  test("-n 20 --fill, the judge's model withdrawn after the start: exit 3 at its first batch, one line, no more drawn (killed as it stops too); resume once it is back", async () => {
    const cwd = await tempDir();
    // The run is made (and every model asked about) before the judge's model goes away.
    const stages = await stagesOnOpenAI(cwd);
    const built = await runCli([...stages, "-n", "20", "--fill", "--dry-run", ...fast], { cwd });
    expect(built.code, built.stderr).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const withoutJudge = FAKE_MODELS.filter((m) => m.id !== "gpt-6.1-terra");
    const url = await server.start({ seed: 4, models: withoutJudge });
    const resume = ["resume", id, "--base-url", url, "--poll-interval", "0.02"];
    // Killed as it stops, it stops the same way when resumed, with nothing sent again.
    const killed = await runCli(resume, { cwd, env: { SYNTHAI_CRASH_AT: "refused@s2" } });
    expect(killed.signal).toBe("SIGKILL");
    const refused = await runCli(resume, { cwd });
    expect(refused.code).toBe(3);
    expectOneLineError(
      refused.stderr,
      /^error: stage 2 \(gpt-6\.1-terra\): the service refused every request of requests\/s2-c0000-a1\.jsonl \(404 model_not_found: .*\) — nothing more was sent; .*`synthai resume /,
    );
    expect(refused.stderr).not.toMatch(/--fill: .* drawing/);
    // The writer was paid for the first 20 samples only; the judge's one batch was refused.
    expect(requestsFor("gpt-6-luna")).toBe(20);
    expect(server.fake.batches.filter((b) => b.batch.model === "gpt-6.1-terra")).toHaveLength(1);
    const runDir = await onlyRunDir(cwd);
    const manifest = await readManifest(runDir);
    expect(manifest.config.samples).toBe(20);
    expect(manifest.state).toBe("failed");
    expect(manifest.reason).toMatch(/^stage 2 \(gpt-6\.1-terra\): the service refused every request/);
    // The judge's batch waits to be sent again, whole; nothing of the refused one is left on the account.
    expect(manifest.batches.find((b: any) => b.stage === 2)).toEqual({
      stage: 2,
      chunk: 0,
      attempt: 1,
      requestsFile: "requests/s2-c0000-a1.jsonl",
      requests: 20,
      promptTokens: expect.any(Number),
      step: "pending",
    });
    expect(server.fake.files.size).toBe(0);
    const status = await runCli(["status", id], { cwd });
    expect(status.code).toBe(6);
    expect(status.stdout).toContain("failed (stage 2 (gpt-6.1-terra): the service refused every request");

    // The model is back (a new service): resume sends the judge's requests again and finishes.
    await server.fake.stop();
    const back = await server.start({ seed: 4 });
    const resumed = await runCli(["resume", id, "--base-url", back, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(requestsFor("gpt-6.1-terra")).toBeGreaterThanOrEqual(20);
    expect(await readCsv(join(cwd, "calls.csv"))).toHaveLength(20);
    // The report says which stage each batch of its timeline and each answer of its table is of.
    expect((await runCli(["report", id], { cwd })).code).toBe(0);
    const html = await readFile(join(runDir, "report.html"), "utf8");
    const inline = (name: string) =>
      JSON.parse(new RegExp(`<script id="${name}" type="application/json">(.*?)</script>`).exec(html)![1]!);
    const timeline = inline("charts").find((c: any) => c.id === "chart-timeline");
    expect(timeline.labels).toEqual(
      expect.arrayContaining(["stage 1 chunk 0 try 1", "stage 2 chunk 0 try 1"]),
    );
    expect(html).toContain("<th>sample</th><th>stage</th><th>try</th>");
    const rows = inline("data");
    expect(new Set(rows.map((r: any) => r.stage))).toEqual(new Set([1, 2]));
    for (const row of rows) expect(row.stage).toBe(row.text.includes("[Score]") ? 2 : 1);
  }, 180_000);

  test("refused whole: every request refused for a cause waiting will not fix; a lone 400 may be its own text's", () => {
    const notFound = { refusedWith: 404, reason: "model_not_found: no such model" };
    const invalid = { refusedWith: 400, reason: "invalid_prompt: flagged" };
    expect(refusedWhole(3, 3, notFound)).toBe("404 model_not_found: no such model");
    expect(refusedWhole(2, 3, notFound)).toBeUndefined();
    expect(refusedWhole(0, 3, undefined)).toBeUndefined();
    expect(refusedWhole(1, 1, notFound)).toBe("404 model_not_found: no such model");
    expect(refusedWhole(1, 1, invalid)).toBeUndefined();
    // A few prompts refused may be their own texts' fault (a retry of the longest ones): not the stage's.
    expect(refusedWhole(4, 4, invalid)).toBeUndefined();
    expect(refusedWhole(10, 10, invalid)).toBe("400 invalid_prompt: flagged");
    // A setting the model does not take is every request's, however few.
    const setting = {
      refusedWith: 400,
      reason: "unsupported_value: 'reasoning_effort' does not support 'none'",
    };
    expect(refusedWhole(2, 2, setting)).toBe(`400 ${setting.reason}`);
  });
});

/** A collected batch of `requests`, of which `givenUp` were given up and the rest valid. */
function batch(stage: number, attempt: number, requests: number, givenUp: number) {
  return {
    ...(stage > 1 ? { stage } : {}),
    chunk: 0,
    attempt,
    requestsFile: `requests/${stage > 1 ? `s${stage}-` : ""}c0000-a${attempt}.jsonl`,
    requests,
    promptTokens: 0,
    step: "collected" as const,
    collected: {
      ...{ ok: requests - givenUp, malformed: 0, failed: givenUp, truncated: 0, reasoning: 0, missing: 0 },
      ...{ retry: 0, givenUp, promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 },
      costUsd: 0,
    },
  };
}

/** A done run of 10 samples, a writer then a judge on another model, with these batches. */
function judgedRun(batches: ReturnType<typeof batch>[]): Manifest {
  const price = { input: 0.05, output: 0.25 };
  return {
    version: 2,
    id: "1207-000000-abcd",
    createdAt: "2026-12-07T00:00:00.000Z",
    state: "done",
    config: {
      ...{ samples: 10, model: "gpt-6-luna", price, maxTokens: 100, maxAttempts: 3 },
      stages: [{ model: "gpt-6.1-terra", maxTokens: 100, price }],
    },
    chunks: [{ index: 0, firstSample: 0, samples: 10, drawsFile: "draws/c0000.jsonl" }],
    batches,
  } as unknown as Manifest;
}

describe("what a run counts, it counts in every stage", () => {
  test("given up: the samples a judge gave up count beside the writer's, in status and its exit code", () => {
    const manifest = judgedRun([batch(1, 1, 10, 1), batch(2, 1, 9, 9)]);
    expect(summarize(manifest).givenUp).toBe(10);
    expect(formatRunDetail(manifest)).toContain("10 given up");
    const onlyJudge = judgedRun([batch(1, 1, 10, 0), batch(2, 1, 10, 10)]);
    expect(statusExitCode(summarize(onlyJudge))).toBe(6);
  });

  test("re-requested: a sample asked again in the judge's stage counts as one asked again in the writer's", () => {
    const manifest = judgedRun([
      batch(1, 1, 10, 0),
      batch(1, 2, 3, 0),
      batch(1, 3, 1, 0),
      batch(2, 1, 10, 0),
      batch(2, 2, 2, 0),
    ]);
    expect(summarize(manifest).reRequested).toBe(5);
    expect(formatRunDetail(manifest)).toContain("5 re-requested");
  });

  test("re-requested: a follow-up built but never sent (the run cancelled before it) was not asked again", () => {
    const built = { ...batch(1, 2, 3, 0), step: "pending", collected: undefined } as unknown as ReturnType<
      typeof batch
    >;
    const manifest = { ...judgedRun([batch(1, 1, 10, 0), built]), state: "stopped" } as Manifest;
    expect(summarize(manifest).reRequested).toBe(0);
    expect(formatRunDetail(manifest)).toContain("0 re-requested");
  });
});

describe("several models", () => {
  const PAIRS = join(ROOT, "examples", "preference-pairs");
  test.each([
    ["gpt-6-luna, gpt-6-luna", /"models" names gpt-6-luna twice — name each model once/],
    [
      "gpt-6.1-terra, gpt-6-luna, gpt-6-1-terra",
      /"models" names gpt-6\.1-terra and gpt-6-1-terra, whose fields/,
    ],
  ])("models: [%s] is one line before anything is built", async (models, message) => {
    const cwd = await tempDir();
    const answer = await readFile(join(PAIRS, "answer.md"), "utf8");
    await writeFile(join(cwd, "answer.md"), answer.replace(/^models: .*$/m, `models: [${models}]`));
    const prompts = ["--prompt", join(PAIRS, "ask.md"), "--prompt", "answer.md"];
    const result = await runCli([...prompts, "-j", join(PAIRS, "params.json"), "-n", "4", "--dry-run"], {
      cwd,
    });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, message);
    expect(await readdir(cwd)).toEqual(["answer.md"]);
  });

  test("the same model twice: by name, or by the name its fields take", () => {
    expect(sameModelTwice(["gpt-6-luna", "gpt-6.1-terra"])).toBeUndefined();
    expect(sameModelTwice(["gpt-6-luna", "gpt-6.1-terra", "gpt-6-luna"])).toEqual([
      "gpt-6-luna",
      "gpt-6-luna",
    ]);
    expect(sameModelTwice(["gpt-6.1-terra", "gpt-6-1-terra"])).toEqual(["gpt-6.1-terra", "gpt-6-1-terra"]);
  });
});
