import { appendFile, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FakeOpenAI } from "../src/fake/server.ts";
import {
  PARAMS,
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
} from "./helpers.ts";

/** What vLLM's offline batch runner writes for a request file: Batch-API output lines. */
async function answerElsewhere(engine: FakeOpenAI, requestsPath: string, resultsPath: string) {
  const lines = (await readJsonlFile(requestsPath)).map((r, i) =>
    JSON.stringify({
      id: `vllm-${i}`,
      custom_id: r.custom_id,
      response: { status_code: 200, request_id: `vllm-${i}`, body: engine.complete(r.body).body },
      error: null,
    }),
  );
  await appendFile(resultsPath, `${lines.join("\n")}\n`);
}

describe("synthai import", () => {
  test("collects output made elsewhere from the run's own request files; what must be asked again is listed, then imported too", async () => {
    const cwd = await tempDir();
    expect(
      (await runCli(["-n", "10", "-b", "2", "-j", PARAMS, "-p", "out.csv", "--dry-run"], { cwd })).code,
    ).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const runId = (await readManifest(runDir)).id;
    const engine = new FakeOpenAI({ malformedRate: 0.3, seed: 8 });
    const first: string[] = [];
    for (const name of (await readdir(join(runDir, "requests"))).sort()) {
      const out = join(cwd, `${name}.out.jsonl`);
      await answerElsewhere(engine, join(runDir, "requests", name), out);
      first.push(out);
    }
    await writeFile(
      join(cwd, "all.jsonl"),
      (await Promise.all(first.map((f) => readFile(f, "utf8")))).join(""),
    );
    const imported = await runCli(["import", runId, "all.jsonl"], { cwd });
    expect(imported.stderr).toContain("imported 10 answers");
    expect(imported.code).toBe(4);
    expect(imported.stderr).toMatch(/stopped: \d+ requests still need an answer: requests\/c000\d-a2\.jsonl/);

    const retries = (await readManifest(runDir)).batches.filter((b: any) => b.step === "pending");
    const engineClean = new FakeOpenAI({ seed: 1 });
    for (const record of retries)
      await answerElsewhere(engineClean, join(runDir, record.requestsFile), join(cwd, "retry.jsonl"));
    // The follow-up's answers appended to the first file, imported whole: the answers the first
    // import took are not taken again for the attempts that asked anew (nor do they win over the new ones).
    await writeFile(
      join(cwd, "everything.jsonl"),
      (await readFile(join(cwd, "all.jsonl"), "utf8")) + (await readFile(join(cwd, "retry.jsonl"), "utf8")),
    );
    const again = await runCli(["import", runId, "everything.jsonl"], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(
      `imported ${retries.reduce((s: number, r: any) => s + r.requests, 0)} answers; ${retries.reduce((s: number, r: any) => s + r.requests, 0)} lines were answers an earlier import took`,
    );
    expect(again.stderr).toContain("done: 10 of 10 samples");
    // Done, with nothing left said to be missing.
    const status = await runCli(["status", runId], { cwd });
    expect(status.stdout.split("\n")[0]).toBe(`run ${runId} · done`);
    expect((await readManifest(runDir)).reason).toBeUndefined();
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(10);
  });

  test("a results file that does not exist, holds nothing, or a line that is no result is one clear error, and nothing is collected", async () => {
    const cwd = await tempDir();
    await runCli(["-n", "2", "-j", PARAMS, "--dry-run"], { cwd });
    const runDir = await onlyRunDir(cwd);
    const runId = (await readManifest(runDir)).id;
    const result = await runCli(["import", runId, "nope.jsonl"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^error: results file .*nope\.jsonl does not exist — give the output JSONL/,
    );
    const before = await readFile(join(runDir, "manifest.json"), "utf8");
    await writeFile(join(cwd, "empty.jsonl"), "");
    const empty = await runCli(["import", runId, "empty.jsonl"], { cwd });
    expect(empty.code).toBe(2);
    expectOneLineError(
      empty.stderr,
      /^error: results file .*empty\.jsonl holds no answer — give the output JSONL/,
    );
    // A torn last line (a runner killed while writing) is not an answer still to come.
    const [request] = (await readFile(join(runDir, "requests", "c0000-a1.jsonl"), "utf8")).split("\n");
    const answer = JSON.stringify({
      custom_id: JSON.parse(request!).custom_id,
      response: { status_code: 200 },
    });
    await writeFile(join(cwd, "torn.jsonl"), `${answer}\n{"custom_id": "00`);
    const torn = await runCli(["import", runId, "torn.jsonl"], { cwd });
    expect(torn.code).toBe(2);
    expectOneLineError(
      torn.stderr,
      /^error: .*torn\.jsonl: line 2 is not a Batch-API result \(a JSON object with a custom_id\) — give/,
    );
    expect(await readFile(join(runDir, "manifest.json"), "utf8")).toBe(before);
  });
});

describe("self-hosted: vLLM's run-batch", () => {
  const vllm = ["--provider", "vllm", "--input-price", "0", "--output-price", "0", "-j", PARAMS];

  test("request files name the served model; the runner's error text is kept on import", async () => {
    const cwd = await tempDir();
    const built = await runCli(["-n", "4", "--model", "qwen3-8b", "--dry-run", ...vllm], { cwd });
    expect(built.code, built.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const runId = (await readManifest(runDir)).id;
    const requests = await readJsonlFile(join(runDir, "requests", "c0000-a1.jsonl"));
    expect(requests.map((r) => r.body.model)).toEqual(["qwen3-8b", "qwen3-8b", "qwen3-8b", "qwen3-8b"]);
    expect(requests.every((r) => r.url === "/v1/chat/completions")).toBe(true);
    // As run_batch.py writes them: an answer, and a failure whose error is the text alone.
    const engine = new FakeOpenAI({ seed: 3 });
    const [failed, ...answered] = requests;
    const lines = [
      {
        custom_id: failed.custom_id,
        response: { status_code: 400, request_id: "r0" },
        error: "prompt too long",
      },
      ...answered.map((r, i) => ({
        id: `vllm-${i}`,
        custom_id: r.custom_id,
        response: { status_code: 200, body: engine.complete({ ...r.body, model: "gpt-6-luna" }).body },
        error: null,
      })),
    ];
    await writeFile(join(cwd, "out.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const imported = await runCli(["import", runId, "out.jsonl"], { cwd });
    expect(imported.stderr).toContain("imported 4 answers");
    const judged = await readJsonlFile(join(runDir, "samples", "c0000-a1.jsonl"));
    expect(judged.find((s) => s.custom_id === failed.custom_id)?.reason).toBe("http_400: prompt too long");
  });

  test("a staged run run elsewhere: each import builds the next stage's files and names them, to run where they run", async () => {
    const cwd = await tempDir();
    const judged = join(ROOT, "examples", "judged-calls");
    await writeFile(join(cwd, "write.md"), await readFile(join(judged, "write.md"), "utf8"));
    // The judge on the same served model: no other vendor.
    const judge = (await readFile(join(judged, "judge.md"), "utf8")).replace(/^model: .*\n/m, "");
    await writeFile(join(cwd, "judge.md"), judge);
    const staged = ["--model", "my-llama", "--prompt", "write.md", "--prompt", "judge.md"];
    const args = ["-n", "3", "--seed", "2", "--dry-run", "-p", "out.csv", ...vllm, ...staged];
    expect((await runCli(args, { cwd })).code).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const runId = (await readManifest(runDir)).id;
    const engine = new FakeOpenAI({ seed: 4 });
    const runElsewhere = async (file: string, out: string) => {
      const lines = (await readJsonlFile(join(runDir, "requests", file))).map((r, i) =>
        JSON.stringify({
          custom_id: r.custom_id,
          response: { status_code: 200, body: engine.complete({ ...r.body, model: "gpt-6-luna" }).body },
          error: null,
          id: `vllm-${i}`,
        }),
      );
      await writeFile(join(cwd, out), `${lines.join("\n")}\n`);
    };
    await runElsewhere("c0000-a1.jsonl", "writer.jsonl");
    const first = await runCli(["import", runId, "writer.jsonl"], { cwd });
    expect(first.code, first.stderr).toBe(4);
    expect(first.stderr).toMatch(
      /stopped: 3 requests still need an answer: requests\/s2-c0000-a1\.jsonl\. Run each/,
    );
    expect(first.stderr).toContain(`then \`synthai import ${runId} <its output>\``);
    expect(first.stderr).not.toContain("synthai resume");
    await runElsewhere("s2-c0000-a1.jsonl", "judge.jsonl");
    const second = await runCli(["import", runId, "judge.jsonl"], { cwd });
    expect(second.stderr).toContain("imported 3 answers");
    expect((await readManifest(runDir)).state).toBe("done");
    expect(second.stderr).toMatch(/done: \d+ of 3 samples/);
  });

  test("what run-batch refuses is refused before anything is built", async () => {
    for (const [args, message] of [
      [["--model", "qwen3-8b"], /vLLM has no Batch API over HTTP/],
      [["--model", "gpt-6-luna", "--dry-run"], /--model names gpt-6-luna, one of OpenAI's models/],
      [["--model", "qwen3-8b", "--endpoint", "responses", "--dry-run"], /does not run --endpoint responses/],
    ] as const) {
      const cwd = await tempDir();
      const result = await runCli(["-n", "2", ...vllm, ...args], { cwd });
      expect(result.code, result.stderr).toBe(2);
      expectOneLineError(result.stderr, message);
      expect(await readdir(cwd)).not.toContain("runs");
    }
  });
});
