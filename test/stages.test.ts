// Stages: a judge, a rewrite, exactly N that pass — each a round of batches with the same
// guarantees as the generation (nothing sent twice, nothing lost, cost once, resume anywhere).
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatUsd } from "../src/api/pricing.ts";
import { summarize } from "../src/run/totals.ts";
import {
  ROOT,
  billedAtModelPrices,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const EXAMPLE = join(ROOT, "examples", "judged-calls");
const fast = ["--poll-interval", "0.02", "-j", join(EXAMPLE, "params.json"), "-p", "calls.csv"];
const write = ["--prompt", join(EXAMPLE, "write.md")];
/** What the three vendors' fakes were asked, in all. */
const everyRequest = () => [...server.fake.requests, ...server.anthropic.requests, ...server.gemini.requests];

/** The judge of the example with its own keep. */
async function judgeKeeping(cwd: string, keep: string): Promise<string[]> {
  const text = await readFile(join(EXAMPLE, "judge.md"), "utf8");
  await writeFile(join(cwd, "judge.md"), text.replace(/^keep: .*$/m, `keep: ${keep}`));
  return ["--prompt", join(cwd, "judge.md")];
}

async function expectExactStagedRun(cwd: string, keep: (row: Record<string, string>) => boolean) {
  const runDir = await onlyRunDir(cwd);
  const manifest = await readManifest(runDir);
  expect(manifest.state).toBe("done");
  const rows = await readCsv(join(cwd, "calls.csv"));
  expect(rows.length).toBe(manifest.stageCounts.kept);
  expect(new Set(rows.map((r) => r.sample_id)).size).toBe(rows.length);
  for (const row of rows) expect(keep(row), JSON.stringify(row)).toBe(true);
  // One batch on its vendor's service per stage, chunk and attempt with something to ask; no upload twice.
  const sent = (vendor?: string) =>
    manifest.batches.filter((b: any) => b.requests > 0 && b.vendor === vendor).length;
  expect(server.fake.batchesCreated).toBe(sent(undefined));
  expect(server.anthropic.batchesCreated).toBe(sent("anthropic"));
  expect(server.gemini.jobsMade).toHaveLength(sent("gemini"));
  expect(new Set(server.fake.uploads).size).toBe(server.fake.uploads.length);
  expect(server.gemini.filesUploaded).toHaveLength(sent("gemini"));
  const spent = manifest.batches.reduce((s: number, b: any) => s + (b.collected?.costUsd ?? 0), 0);
  expect(spent).toBeCloseTo(billedAtModelPrices(server.fake, server.anthropic, server.gemini), 12);
  return { manifest, rows, runDir };
}

describe("stages", () => {
  test("--prompt write.md --prompt judge.md: the judge reads each answer, on its own model and vendor (Anthropic); every row passes its keep", async () => {
    const url = await server.start({ seed: 7 });
    const cwd = await tempDir();
    const judge = await judgeKeeping(cwd, "Score >= 4");
    const result = await runCli([...write, ...judge, "-n", "40", "-b", "2", "--base-url", url, ...fast], {
      cwd,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /done: \d+ of 40 samples .*; 2 stages kept \d+, dropped \d+ \(stage 2: keep Score >= 4\)/,
    );
    const { rows, runDir, manifest } = await expectExactStagedRun(cwd, (r) => Number(r.Score) >= 4);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(40);
    expect(Object.keys(rows[0]!)).toEqual([
      "index",
      "Call",
      "Summary",
      "Score",
      "Critique",
      "Attitude",
      "Conversation",
      "Problem",
      "Solved",
      "Manner",
      "Extension",
      "sample_id",
    ]);
    // The judge's requests carry the first stage's answers, and go to the judge's model.
    const answers = new Map<string, string>();
    for (const file of ["c0000-a1.jsonl", "c0001-a1.jsonl"])
      for (const s of await readJsonlFile(join(runDir, "samples", file)))
        answers.set(s.custom_id, s.fields.Call);
    const judged = [
      ...(await readJsonlFile(join(runDir, "requests", "s2-c0000-a1.jsonl"))),
      ...(await readJsonlFile(join(runDir, "requests", "s2-c0001-a1.jsonl"))),
    ];
    expect(judged).toHaveLength(40);
    for (const request of judged) {
      expect(request.body.model).toBe("claude-haiku-5-5");
      expect(request.body.messages.at(-1).content).toContain(answers.get(request.custom_id));
    }
    expect(manifest.config.stages[0]).toMatchObject({
      model: "claude-haiku-5-5",
      vendor: "anthropic",
      maxTokens: 300,
    });
    const status = await runCli(["status", manifest.id], { cwd });
    expect(status.stdout).toMatch(
      /stage 2: claude-haiku-5-5 on Anthropic: 40 asked, 40 valid, 0 given up, \$0\.\d+/,
    );
    expect(status.stdout).toMatch(
      new RegExp(`kept: ${rows.length}; dropped \\d+ \\(stage 2: keep Score >= 4\\)`),
    );
    // The report and the dataset card show each stage too.
    expect((await runCli(["report", manifest.id], { cwd })).code).toBe(0);
    const report = await readFile(join(runDir, "report.html"), "utf8");
    expect(report).toMatch(/stage 2.*claude-haiku-5-5 on Anthropic: 40 asked/s);
    // What a staged run made is what every stage kept: its cost is per kept sample.
    expect(status.stdout).toMatch(/samples 40\/40 valid in stage 1, /);
    const { costUsd } = summarize(await readManifest(runDir));
    expect(report).toContain(`cost per kept sample<b>${formatUsd(costUsd / rows.length)}</b>`);
    // Near duplicates are the dataset's samples (stage 1's), not a judge's answers: 40, not 80.
    expect(report).toContain("Near-duplicate samples (among the first 40 valid ones of stage 1)");
    const hf = await runCli(["export", manifest.id, "--hf", "hf"], { cwd });
    expect(hf.code, hf.stderr).toBe(0);
    const card = await readFile(join(cwd, "hf", "README.md"), "utf8");
    expect(card).toMatch(/\| stage 2 \| claude-haiku-5-5 on Anthropic: 40 asked, 40 valid/);
    expect(card).toMatch(new RegExp(`\\| kept \\| ${rows.length}; dropped`));
    expect(card).toMatch(/\| `Score` \| /);
    // --include-dropped adds the dropped ones, each saying what dropped it.
    const all = await runCli(["export", manifest.id, "-p", "all.csv", "--include-dropped"], { cwd });
    expect(all.code, all.stderr).toBe(0);
    const everyRow = await readCsv(join(cwd, "all.csv"));
    expect(everyRow).toHaveLength(40);
    for (const row of everyRow)
      expect(row.dropped_by).toBe(Number(row.Score) >= 4 ? "" : "stage 2: keep Score >= 4"); // Its card says what that column is: not a field the model wrote.
    const hfAll = await runCli(["export", manifest.id, "--hf", "hf-all", "--include-dropped"], { cwd });
    expect(hfAll.code, hfAll.stderr).toBe(0);
    const allCard = await readFile(join(cwd, "hf-all", "README.md"), "utf8");
    expect(allCard).toMatch(/\| `dropped_by` \| string \| what dropped the sample/);
    expect(allCard).toMatch(/parsed into the fields [^.]*`Score`/);
    expect(allCard).not.toMatch(/parsed into the fields [^.]*`dropped_by`/);
  });

  // A kill between two writes of the build, and one between the service's create and its record;
  // the other steps of a stage (a look, its results, its collection) are stopped and resumed in
  // process in drive.test.ts.
  for (const point of ["stage-built@s2", "after-create@s2"])
    test(`kill -9 inside stage 2 (${point}): resume sends no batch twice and counts the cost once`, async () => {
      const url = await server.start({ seed: 5, malformedRate: 0.1 });
      const cwd = await tempDir();
      const judge = await judgeKeeping(cwd, "Score >= 3");
      const args = [...write, ...judge, "-n", "30", "-b", "3", "--base-url", url, ...fast];
      const killed = await runCli(args, { cwd, env: { SYNTHAI_CRASH_AT: point } });
      expect(killed.signal).toBe("SIGKILL");
      const { id } = await readManifest(await onlyRunDir(cwd));
      const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      await expectExactStagedRun(cwd, (r) => Number(r.Score) >= 3);
    });

  test("a generated keep of 6,000 terms runs, is killed in stage 2, and resumes like a short one", async () => {
    const url = await server.start({ seed: 5 });
    const cwd = await tempDir();
    const terms = Array.from({ length: 5999 }, (_, i) => `Score == ${i + 10}`);
    const judge = await judgeKeeping(cwd, [...terms, "Score >= 3"].join(" or "));
    const args = [...write, ...judge, "-n", "12", "-b", "2", "--base-url", url, ...fast];
    const killed = await runCli(args, { cwd, env: { SYNTHAI_CRASH_AT: "after-collect@s2" } });
    expect(killed.signal).toBe("SIGKILL");
    const { id } = await readManifest(await onlyRunDir(cwd));
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    await expectExactStagedRun(cwd, (r) => Number(r.Score) >= 3);
    // The summary names the condition by its start, on a line of its own size.
    expect(resumed.stderr).toMatch(/dropped \d+ \(stage 2: keep Score == 10 or Score == 11 .*…\)/);
    for (const line of resumed.stderr.split("\n")) expect(line.length).toBeLessThan(400);
  });

  test("--fill stops at --max-draws, says how many it kept (exit 4), and resume --max-draws goes on", async () => {
    const url = await server.start({ seed: 3 });
    const cwd = await tempDir();
    const judge = await judgeKeeping(cwd, "Score >= 5");
    const result = await runCli(
      [...write, ...judge, "-n", "20", "--fill", "--max-draws", "25", "--base-url", url, ...fast],
      { cwd },
    );
    expect(result.stderr).toMatch(/--fill: (\d+) of 20 kept after 25 draws, the --max-draws limit/);
    // Not "done": short of what was asked.
    expect(result.stderr).toMatch(/^short of --fill's target: \d+ of 20 samples \(25 drawn\) → /m);
    expect(result.stderr).not.toMatch(/^done: /m);
    expect(result.code).toBe(4);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.config.samples).toBe(25);
    expect(await readCsv(join(cwd, "calls.csv"))).toHaveLength(manifest.stageCounts.kept);
    // status tells a cron job the same: not done as asked (6), and how to go on.
    const status = await runCli(["status", manifest.id], { cwd });
    expect(status.code).toBe(6);
    expect(status.stdout).toContain(
      `--fill: ${manifest.stageCounts.kept} of 20 kept, short of its target: \`synthai resume ${manifest.id} --max-draws N\``,
    );
    // A higher limit goes on from there, and the run's rows are written again, now all 20.
    const resumed = await runCli(["resume", manifest.id, "--max-draws", "400", "--base-url", url], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    const { rows } = await expectExactStagedRun(cwd, (r) => Number(r.Score) >= 5);
    expect(rows).toHaveLength(20);
  });

  test("params.json edited before a --fill run goes on: resume and export refuse in one line; --accept-changed-spec goes on and is recorded", async () => {
    const url = await server.start({ seed: 3 });
    const cwd = await tempDir();
    const judge = await judgeKeeping(cwd, "Score >= 5");
    const params = join(cwd, "params.json");
    await writeFile(params, await readFile(join(EXAMPLE, "params.json"), "utf8"));
    const own = ["--poll-interval", "0.02", "-j", "params.json", "-p", "calls.csv"];
    const stopped = await runCli(
      [...write, ...judge, "-n", "20", "--fill", "--max-draws", "25", "--base-url", url, ...own],
      { cwd },
    );
    expect(stopped.code, stopped.stderr).toBe(4);
    const runDir = await onlyRunDir(cwd);
    const { id, config } = await readManifest(runDir);
    expect(config.paramsSha256).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(params, (await readFile(params, "utf8")).replaceAll('"positive"', '"furious"'));
    const csv = await readFile(join(cwd, "calls.csv"), "utf8");
    const asked = everyRequest().length;
    // cancel reads no parameters (it only stops what runs), so an edit never keeps it from stopping.
    for (const command of [
      ["resume", id, "--max-draws", "400", "--base-url", url],
      ["export", id],
    ]) {
      const refused = await runCli(command, { cwd });
      expect(refused.code).toBe(2);
      expectOneLineError(
        refused.stderr,
        new RegExp(
          `params file .*params\\.json changed since run ${id} was made — restore it, or pass --accept-changed-spec`,
        ),
      );
      expect(await readFile(join(cwd, "calls.csv"), "utf8")).toBe(csv);
    }
    expect(everyRequest()).toHaveLength(asked);
    const accepted = await runCli(
      ["resume", id, "--max-draws", "400", "--accept-changed-spec", "--base-url", url],
      { cwd },
    );
    expect(accepted.code, accepted.stderr).toBe(0);
    expect((await readManifest(runDir)).config.paramsSha256).not.toBe(config.paramsSha256);
    expect(await readCsv(join(cwd, "calls.csv"))).toHaveLength(20);
    // The samples drawn since come from the file as it is now.
    const draws = await readdir(join(runDir, "draws"));
    const labels = (await Promise.all(draws.map((f) => readJsonlFile(join(runDir, "draws", f))))).flat();
    expect(labels.some((d) => d.labels.Attitude === "furious")).toBe(true);
  });

  test.each([
    [
      "keep: Verdict >= 4",
      /judge\.md: keep names "Verdict", which nothing before it gives — it can use Attitude, .*Score, Critique/,
    ],
    ["keep: Score >=", /judge\.md: keep: "Score >=" is not a condition \(it ends too soon\)/],
    ["when: Score > 2", /judge\.md: when names "Score", which nothing before it gives/],
  ])("%s is one line before anything is built", async (line, message) => {
    const cwd = await tempDir();
    const text = (await readFile(join(EXAMPLE, "judge.md"), "utf8")).replace(/^keep: .*$/m, line);
    await writeFile(join(cwd, "judge.md"), text);
    const result = await runCli([...write, "--prompt", "judge.md", "--dry-run", ...fast], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, message);
    expect(await readdir(cwd)).toEqual(["judge.md"]);
  });

  // A row holds one value per name: the model's Attitude would be lost under the drawn one.
  test.each([
    [
      "generate",
      "[Score, Attitude]",
      /judge\.md: field "Attitude" has the name of a parameter of params\.json/,
    ],
    ["preview", "[Score, Score]", /judge\.md: field "Score" is named twice/],
  ])("%s: fields %s are one line before anything is built", async (command, fields, message) => {
    const cwd = await tempDir();
    const text = (await readFile(join(EXAMPLE, "judge.md"), "utf8")).replace(
      /^fields: .*$/m,
      `fields: ${fields}`,
    );
    await writeFile(join(cwd, "judge.md"), text);
    const params = ["-j", join(EXAMPLE, "params.json")];
    const args = command === "preview" ? ["preview", "-n", "1", ...params] : ["--dry-run", ...fast];
    const result = await runCli([...args, ...write, "--prompt", "judge.md"], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, message);
    expect(await readdir(cwd)).toEqual(["judge.md"]);
  });

  test("keep: Critique >= 4 on a field its schema declares text is one line naming it, before anything is sent", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const judge = await judgeKeeping(cwd, "Score >= 2 and Critique >= 4");
    const result = await runCli([...write, ...judge, "-n", "10", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(
      result.stderr,
      /judge\.md: keep compares "Critique", a field of type string in its schema, with a number — compare it with text/,
    );
    // Nothing sent, nothing paid, nothing written.
    expect(server.fake.uploads).toEqual([]);
    expect(server.fake.batchesCreated).toBe(0);
    expect(server.fake.requestedIds()).toEqual([]);
    expect(server.anthropic.requests).toEqual([]);
    expect(server.gemini.requests).toEqual([]);
    expect(await readdir(cwd)).toEqual(["judge.md"]);
  });

  test("a condition names a field of several models as written (dashes and all), or between backticks", async () => {
    const pairs = join(ROOT, "examples", "preference-pairs");
    const cwd = await tempDir();
    const judge = (await readFile(join(pairs, "judge.md"), "utf8")).replace(
      /^prefers: Better$/m,
      'prefers: Better\nwhen: Answer_gpt-6-luna != `Answer_claude-haiku-5-5` and Answer_gpt-6-luna != "-1"',
    );
    await writeFile(join(cwd, "judge.md"), judge);
    const prompts = ["ask.md", "answer.md"].flatMap((f) => ["--prompt", join(pairs, f)]);
    const args = [...prompts, "--prompt", "judge.md", "-j", join(pairs, "params.json"), "-n", "4"];
    const result = await runCli([...args, "--dry-run", "-p", "pairs.jsonl"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/stage 3 \(claude-haiku-5-5\): at most 4 requests/);
  });

  test("a spec module declares the same stages in code", async () => {
    const url = await server.start({ seed: 2 });
    const cwd = await tempDir();
    await writeFile(
      join(cwd, "judged.ts"),
      `import { defineDataset } from ${JSON.stringify(join(ROOT, "src", "spec.ts"))};
export default defineDataset({
  fields: ["Call", "Summary"],
  prompt: ({ params }) => \`Write a call about \${params.Call!.Problem}. Write [Call] then [Summary].\`,
  stages: [
    {
      fields: ["Verdict"],
      prompt: ({ fields }) => \`Is this call good or bad? \${fields!.Call}\`,
      schema: {
        type: "object",
        properties: { Verdict: { type: "string", enum: ["good", "bad"] } },
        required: ["Verdict"],
        additionalProperties: false,
      },
      keep: 'Verdict == "good"',
    },
  ],
});
`,
    );
    const result = await runCli(["--spec", "judged.ts", "-n", "24", "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const { rows } = await expectExactStagedRun(cwd, (r) => r.Verdict === "good");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(24);
  });

  test("a stage whose when holds for no sample sends nothing; status, inspect and report read the run alike", async () => {
    const url = await server.start({ seed: 12 });
    const cwd = await tempDir();
    const judge = await judgeKeeping(cwd, "Score >= 1");
    const rewrite = (await readFile(join(EXAMPLE, "rewrite.md"), "utf8")).replace(
      /^when: .*$/m,
      "when: Score > 5",
    );
    await writeFile(join(cwd, "never.md"), rewrite);
    const result = await runCli(
      [...write, ...judge, "--prompt", "never.md", "-n", "10", "--base-url", url, ...fast],
      {
        cwd,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("stage 3, chunk 1: 0 of 10 samples");
    const { rows, manifest } = await expectExactStagedRun(cwd, (r) => Number(r.Score) >= 1);
    expect(rows).toHaveLength(10);
    expect((await runCli(["status", manifest.id], { cwd })).stdout).toMatch(
      /stage 3: gemini-3-flash on Gemini: 0 asked/,
    );
    expect((await runCli(["inspect", manifest.id], { cwd })).code).toBe(0);
    expect((await runCli(["report", manifest.id], { cwd })).code).toBe(0);
    expect((await runCli(["export", manifest.id], { cwd })).code).toBe(0);
  });

  test("--dry-run's estimate covers every stage's worst case, at each stage's model", async () => {
    const cwd = await tempDir();
    const prompts = ["write.md", "judge.md", "rewrite.md"].flatMap((f) => ["--prompt", join(EXAMPLE, f)]);
    const result = await runCli([...prompts, "-n", "10", "--dry-run", ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /stage 2 \(claude-haiku-5-5\): at most 10 requests, \d+ prompt tokens and 3000 completion tokens → at most \$0\.\d+/,
    );
    expect(result.stderr).toMatch(
      /stage 3 \(gemini-3-flash\): at most 10 requests, \d+ prompt tokens and 10240 completion tokens/,
    );
  });

  test("examples/judged-calls: write on OpenAI, judge on Anthropic, rewrite the weak ones on Gemini, --fill", async () => {
    const url = await server.start({ seed: 11, malformedRate: 0.1 });
    const cwd = await tempDir();
    const prompts = ["write.md", "judge.md", "rewrite.md"].flatMap((f) => ["--prompt", join(EXAMPLE, f)]);
    const result = await runCli([...prompts, "-n", "30", "--fill", "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const { rows, runDir } = await expectExactStagedRun(cwd, (r) => Number(r.Score) >= 2);
    expect(rows).toHaveLength(30);
    // A weak call was rewritten: its row holds the rewrite's Call, not the draft's.
    const rewrites = new Map<string, string>();
    for (const file of await readdir(join(runDir, "samples")))
      if (file.startsWith("s3-"))
        for (const s of await readJsonlFile(join(runDir, "samples", file)))
          if (s.status === "ok" && !rewrites.has(s.custom_id)) rewrites.set(s.custom_id, s.fields.Call);
    const rewritten = rows.filter((r) => Number(r.Score) < 4);
    expect(rewritten.length).toBeGreaterThan(0);
    for (const row of rewritten) expect(row.Call).toBe(rewrites.get(row.sample_id!));
  });
});
