import { appendFile, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FakeOpenAI } from "../src/fake/server.ts";
import { PARAMS, onlyRunDir, readCsv, readJsonlFile, readManifest, runCli, tempDir } from "./helpers.ts";

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
    const again = await runCli(["import", runId, "retry.jsonl"], { cwd });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("done: 10 of 10 samples");
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(10);
  });

  test("a results file that does not exist is one clear error", async () => {
    const cwd = await tempDir();
    await runCli(["-n", "2", "-j", PARAMS, "--dry-run"], { cwd });
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    const result = await runCli(["import", runId, "nope.jsonl"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^error: results file .*nope\.jsonl does not exist — give the output JSONL/,
    );
  });
});
