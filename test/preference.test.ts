// Several models answering each sample, a judge between them, and the preference pairs DPO reads.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { describe, expect, test } from "vitest";
import {
  ROOT,
  billedAtModelPrices,
  expectOneLineError,
  onlyRunDir,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const EXAMPLE = join(ROOT, "examples", "preference-pairs");
const prompts = ["ask.md", "answer.md", "judge.md"].flatMap((f) => ["--prompt", join(EXAMPLE, f)]);
const fast = ["--poll-interval", "0.02", "-j", join(EXAMPLE, "params.json"), "-p", "pairs.jsonl"];
async function samplesOf(runDir: string, prefix: string) {
  const found = new Map<string, any>();
  for (const file of (await readdir(join(runDir, "samples"))).sort())
    if (file.startsWith(prefix))
      for (const s of await readJsonlFile(join(runDir, "samples", file)))
        if (s.status === "ok" && !found.has(s.custom_id)) found.set(s.custom_id, s);
  return found;
}

describe("several models and preference pairs", () => {
  // Stopped at other steps of a model's stage and resumed: in process, in drive.test.ts.
  for (const crash of [undefined, "after-create@s3"])
    test(`examples/preference-pairs${crash ? `, killed at ${crash} and resumed` : ""}: one pair per judged sample, gpt-6-luna on OpenAI and claude-haiku-5-5 on Anthropic, each at its own price as its vendor billed`, async () => {
      const url = await server.start({ seed: 8 });
      const cwd = await tempDir();
      const args = [...prompts, "-n", "16", "-b", "2", "--format", "preference", "--base-url", url, ...fast];
      const first = await runCli(args, { cwd, env: crash ? { SYNTHAI_CRASH_AT: crash } : {} });
      if (crash) {
        expect(first.signal).toBe("SIGKILL");
        const { id } = await readManifest(await onlyRunDir(cwd));
        const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
        expect(resumed.code, resumed.stderr).toBe(0);
      } else expect(first.code, first.stderr).toBe(0);
      const runDir = await onlyRunDir(cwd);
      const manifest = await readManifest(runDir);
      // One batch file per model: each holds one model's requests only, on the model's vendor.
      for (const [stage, model] of [
        [2, "gpt-6-luna"],
        [3, "claude-haiku-5-5"],
      ] as const)
        for (const file of (await readdir(join(runDir, "requests"))).filter((f) =>
          f.startsWith(`s${stage}-`),
        ))
          for (const request of await readJsonlFile(join(runDir, "requests", file)))
            expect(request.body.model).toBe(model);
      const sent = (vendor?: string) =>
        manifest.batches.filter((b: any) => b.requests > 0 && b.vendor === vendor).length;
      expect(server.fake.batchesCreated).toBe(sent(undefined));
      expect(server.anthropic.batchesCreated).toBe(sent("anthropic"));
      expect(sent("anthropic")).toBeGreaterThan(0);
      const billed = billedAtModelPrices(server.fake, server.anthropic);
      const spent = manifest.batches.reduce((s: number, b: any) => s + (b.collected?.costUsd ?? 0), 0);
      expect(spent).toBeCloseTo(billed, 12);
      // Each pair: the answer of the model the judge named, against the other's.
      const luna = await samplesOf(runDir, "s2-");
      const haiku = await samplesOf(runDir, "s3-");
      const judged = await samplesOf(runDir, "s4-");
      const pairs = await readJsonlFile(join(cwd, "pairs.jsonl"));
      expect(pairs).toHaveLength(manifest.stageCounts.kept);
      expect(pairs.length).toBeGreaterThan(0);
      // TRL's conversational form: the prompt as the messages sent, each answer as the assistant's,
      // written as the prompt asked for it (`[Answer] …`).
      const asAsked = (text: string) => [{ role: "assistant", content: `[Answer] ${text}` }];
      const byChosen = new Map(pairs.map((p) => [p.chosen[0].content, p]));
      for (const [id, verdict] of judged) {
        const a = luna.get(id)!.fields["Answer_gpt-6-luna"];
        const b = haiku.get(id)!.fields["Answer_claude-haiku-5-5"];
        const pair = byChosen.get(`[Answer] ${verdict.fields.Better === "A" ? a : b}`);
        expect(pair, id).toBeDefined();
        expect(pair!.chosen).toEqual(asAsked(verdict.fields.Better === "A" ? a : b));
        expect(pair!.rejected).toEqual(asAsked(verdict.fields.Better === "A" ? b : a));
        expect(pair!.prompt).toHaveLength(1);
        expect(pair!.prompt[0].role).toBe("user");
        expect(pair!.prompt[0].content).toMatch(
          /^Answer the question below clearly and correctly[^]*\nAsked by a \w/,
        );
      }
    });

  test("pairs in OpenAI's preference fine-tuning format and in a Hugging Face folder, from one run", async () => {
    const url = await server.start({ seed: 8 });
    const cwd = await tempDir();
    const args = [...prompts, "-n", "8", "--format", "preference", "--base-url", url, ...fast];
    expect((await runCli(args, { cwd })).code).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const trl = await readJsonlFile(join(cwd, "pairs.jsonl"));
    const exported = await runCli(["export", id, "-p", "openai.jsonl", "--format", "openai-preference"], {
      cwd,
    });
    expect(exported.code, exported.stderr).toBe(0);
    const openai = await readJsonlFile(join(cwd, "openai.jsonl"));
    expect(openai).toEqual(
      trl.map((p) => ({
        input: { messages: p.prompt },
        preferred_output: p.chosen,
        non_preferred_output: p.rejected,
      })),
    );
    // The run's format writes JSON lines: a Parquet or CSV name for them is refused, nothing written.
    for (const name of ["pairs.parquet", "pairs.csv"]) {
      const refused = await runCli(["export", id, "-p", name], { cwd });
      expect(refused.code).toBe(2);
      expectOneLineError(
        refused.stderr,
        /is named as (Parquet|CSV), and the preference format writes JSON lines/,
      );
      expect(existsSync(join(cwd, name))).toBe(false);
    }
    const hf = await runCli(["export", id, "--hf", "hf", "--format", "preference"], { cwd });
    expect(hf.code, hf.stderr).toBe(0);
    const file = join(cwd, "hf", "data", "train-00000-of-00001.parquet");
    expect(await parquetReadObjects({ file: await asyncBufferFromFile(file) })).toEqual(trl);
  });

  test.each(["preference", "openai-preference"])(
    "--format %s without several models and a judge that prefers is one line naming the formats",
    async (format) => {
      const cwd = await tempDir();
      const result = await runCli(
        ["--prompt", join(EXAMPLE, "ask.md"), "--format", format, "--dry-run", ...fast],
        { cwd },
      );
      expect(result.code).toBe(2);
      expectOneLineError(
        result.stderr,
        /the preference formats \(--format preference, openai-preference\) need a stage of several models and a later judge/,
      );
    },
  );
});
