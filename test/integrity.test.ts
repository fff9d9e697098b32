import { readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  PARAMS,
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  runDirsByAge,
  tempDir,
  useFake,
  CUSTOMER_CALL_COLUMNS,
} from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-j", PARAMS];

async function finishedRun(url: string, samples = 20) {
  const cwd = await tempDir();
  const result = await runCli(
    ["-n", String(samples), "-b", "2", "-p", "out.csv", "--base-url", url, ...fast],
    { cwd },
  );
  expect(result.code).toBe(0);
  const runDir = await onlyRunDir(cwd);
  return { cwd, runDir, id: (await readManifest(runDir)).id as string };
}

/** A run of 12 samples killed while it writes its CSV. */
async function killedExporting() {
  const url = await server.start();
  const cwd = await tempDir();
  const killed = await runCli(["-n", "12", "-b", "2", "-p", "out.csv", "--base-url", url, ...fast], {
    cwd,
    env: { SYNTHAI_CRASH_AT: "during-export" },
  });
  expect(killed.signal).toBe("SIGKILL");
  return { url, cwd, runDir: await onlyRunDir(cwd) };
}

async function snapshot(cwd: string, runDir: string) {
  const read = (path: string) => readFile(path, "utf8").catch(() => undefined);
  return {
    csv: await read(join(cwd, "out.csv")),
    metrics: await read(join(cwd, "out_metrics.csv")),
    manifest: await read(join(runDir, "manifest.json")),
  };
}

describe("runs exporting to one CSV at once", () => {
  test("four runs finishing together leave one header, every row, and distinct, gap-free indexes", async () => {
    const url = await server.start({ seed: 5 });
    const cwd = await tempDir();
    const runs = 4;
    const samples = 1500;
    const results = await Promise.all(
      Array.from({ length: runs }, (_, i) =>
        runCli(
          ["-n", String(samples), "-p", "out.csv", "--seed", String(i + 1), "--base-url", url, ...fast],
          { cwd },
        ),
      ),
    );
    for (const result of results) expect(result.code).toBe(0);
    for (const file of ["out.csv", "out_metrics.csv"]) {
      const text = await readFile(join(cwd, file), "utf8");
      expect(text.match(/^index,/gm)).toHaveLength(1);
      const rows = await readCsv(join(cwd, file));
      expect(rows).toHaveLength(runs * samples);
      expect(rows.map((r) => Number(r.index)).sort((a, b) => a - b)).toEqual(
        Array.from({ length: runs * samples }, (_, i) => i),
      );
    }
    expect(await readdir(cwd)).not.toContain("out.csv.lock");
  });
});

describe("export from an incomplete run folder", () => {
  test.each([
    [
      "a results file deleted",
      (runDir: string) => rm(join(runDir, "results", "c0000-a1.output.jsonl")),
      /results\/c0000-a1\.output\.jsonl is missing/,
    ],
    [
      "a results file cut short",
      (runDir: string) => truncate(join(runDir, "results", "c0001-a1.output.jsonl"), 500),
      /results\/c0001-a1\.output\.jsonl is cut short \(500 bytes; \d+ when written\)/,
    ],
    [
      "a draws file cut short",
      (runDir: string) => truncate(join(runDir, "draws", "c0000.jsonl"), 100),
      /draws\/c0000\.jsonl is cut short/,
    ],
  ])(
    "%s: export stops with one line naming the file; CSV and manifest stay as they were",
    async (_, damage, message) => {
      const url = await server.start();
      const { cwd, runDir, id } = await finishedRun(url);
      await damage(runDir);
      const before = await snapshot(cwd, runDir);
      const result = await runCli(["export", id], { cwd });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr, message);
      expect(await snapshot(cwd, runDir)).toEqual(before);
      // `resume` does not take the damage for a finished run either.
      const resumed = await runCli(["resume", id], { cwd });
      expect(resumed.stderr).toContain("already done");
      expect(await snapshot(cwd, runDir)).toEqual(before);
    },
  );

  test("a CSV deleted after its run exported to it is written afresh", async () => {
    const url = await server.start();
    const { cwd, id } = await finishedRun(url);
    const rows = await readCsv(join(cwd, "out.csv"));
    await rm(join(cwd, "out.csv"));
    await rm(join(cwd, "out_metrics.csv"));
    const result = await runCli(["export", id], { cwd });
    expect(result.code).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toEqual(rows);
    expect(await readCsv(join(cwd, "out_metrics.csv"))).toHaveLength(20);
  });

  test("a samples file damaged in place, its size kept: resume refuses in one line with the way out; export judges its answers again", async () => {
    const { url, cwd, runDir } = await killedExporting();
    const { id } = await readManifest(runDir);
    // A torn line of the same size: only its checksum shows the damage before it is read.
    const samples = join(runDir, "samples", "c0001-a1.jsonl");
    const text = await readFile(samples, "utf8");
    await writeFile(samples, text.replace(/\n\{/, "\nx"));
    const resumed = await runCli(["resume", id, "--base-url", url], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(
      resumed.stderr,
      new RegExp(
        `samples/c0001-a1\\.jsonl has changed since it was written \\(the same size, other bytes\\) — \`synthai export ${id} --judge-again\` judges the answers again`,
      ),
    );
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe("");
    // export reads no samples file that is not as written: it judges its answers again, and says so.
    const exported = await runCli(["export", id], { cwd });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(
      "samples/c0001-a1.jsonl is not as it was written: its answers are judged again",
    );
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);
    expect(await readFile(samples, "utf8")).toBe(text);
    // Cut short, it is found the same way.
    await truncate(samples, 10);
    const again = await runCli(["resume", id, "--base-url", url], { cwd });
    expect(again.code).toBe(2);
    expectOneLineError(
      again.stderr,
      new RegExp(
        `samples/c0001-a1\\.jsonl is cut short .* — \`synthai export ${id} --judge-again\` judges the answers again`,
      ),
    );
    const judged = await runCli(["export", id, "--judge-again"], { cwd });
    expect(judged.code, judged.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);
  });

  test("a run from before checksums: a torn line of the same size is found while writing, and the CSV rolled back", async () => {
    const { url, cwd, runDir } = await killedExporting();
    const { seal, sums, ...manifest } = await readManifest(runDir);
    expect(Object.keys(sums).sort()).toEqual(Object.keys(manifest.files).sort());
    await writeFile(join(runDir, "manifest.json"), JSON.stringify(manifest));
    const samples = join(runDir, "samples", "c0001-a1.jsonl");
    await writeFile(samples, (await readFile(samples, "utf8")).replace(/\n\{/, "\nx"));
    const resumed = await runCli(["resume", manifest.id, "--base-url", url], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(
      resumed.stderr,
      new RegExp(
        `samples/c0001-a1\\.jsonl holds a line that is not valid JSON.* — \`synthai export ${manifest.id} --judge-again\``,
      ),
    );
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe("");
  });
});

describe("stats of a finished run", () => {
  test("a samples file changed in place, its size kept: one line with the way out, no figures", async () => {
    const url = await server.start();
    const { cwd, runDir, id } = await finishedRun(url);
    const samples = join(runDir, "samples", "c0000-a1.jsonl");
    await writeFile(samples, (await readFile(samples, "utf8")).replace('"status":"ok"', '"status":"no"'));
    const stats = await runCli(["stats", id], { cwd });
    expect(stats.code).toBe(2);
    expect(stats.stdout).toBe("");
    expectOneLineError(
      stats.stderr,
      new RegExp(
        `samples/c0000-a1\\.jsonl has changed since it was written .* — \`synthai export ${id} --judge-again\``,
      ),
    );
  });
});

describe("a judge's samples file changed in place", () => {
  test("a Score 2 made 5, same size: report, inspect and resume refuse in one line; export judges again and keeps what the judge kept", async () => {
    const url = await server.start({ seed: 7, malformedRate: 0.2 });
    const cwd = await tempDir();
    const example = join(ROOT, "examples", "judged-calls");
    await writeFile(
      join(cwd, "judge.md"),
      (await readFile(join(example, "judge.md"), "utf8")).replace(/^keep: .*$/m, "keep: Score >= 4"),
    );
    const args = [
      "--prompt",
      join(example, "write.md"),
      "--prompt",
      "judge.md",
      "-j",
      join(example, "params.json"),
    ];
    const killed = await runCli(
      [...args, "-n", "30", "-b", "2", "-p", "out.csv", "--base-url", url, "--poll-interval", "0.02"],
      { cwd, env: { SYNTHAI_CRASH_AT: "during-export" } },
    );
    expect(killed.signal).toBe("SIGKILL");
    const runDir = await onlyRunDir(cwd);
    const { id, files, sums } = await readManifest(runDir);
    // Every records file noted has its checksum: requests (retries and stage 2's), results, samples, draws.
    expect(Object.keys(sums).sort()).toEqual(Object.keys(files).sort());
    expect(Object.keys(sums).filter((p) => /^requests\/(s2-)?c\d+-a2/.test(p)).length).toBeGreaterThan(0);
    const judged = join(runDir, "samples", "s2-c0000-a1.jsonl");
    const text = await readFile(judged, "utf8");
    const changed = text.replace(/"Score":"[123]"/, '"Score":"5"');
    expect(changed).not.toBe(text);
    await writeFile(judged, changed);
    // Looks into the run read it as written or say in one line that they cannot.
    for (const look of ["report", "inspect"]) {
      const refused = await runCli([look, id], { cwd });
      expect(refused.code).toBe(2);
      expectOneLineError(
        refused.stderr,
        new RegExp(
          `samples/s2-c0000-a1\\.jsonl has changed since it was written .* — \`synthai export ${id} --judge-again\``,
        ),
      );
    }
    const resumed = await runCli(["resume", id, "--base-url", url], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(resumed.stderr, /samples\/s2-c0000-a1\.jsonl has changed since it was written/);
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe("");
    const exported = await runCli(["export", id, "-p", "again.csv"], { cwd });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain("samples/s2-c0000-a1.jsonl is not as it was written");
    expect((await runCli(["export", id, "--judge-again", "-p", "judged.csv"], { cwd })).code).toBe(0);
    const rows = await readCsv(join(cwd, "again.csv"));
    expect(rows).toEqual(await readCsv(join(cwd, "judged.csv")));
    for (const row of rows) expect(Number(row.Score)).toBeGreaterThanOrEqual(4);
    expect((await runCli(["report", id], { cwd })).code).toBe(0);
  });

  test("a writer's samples file changed while its judge waits to be built: resume refuses before building it", async () => {
    const url = await server.start({ seed: 7 });
    const cwd = await tempDir();
    const example = join(ROOT, "examples", "judged-calls");
    const prompts = ["--prompt", join(example, "write.md"), "--prompt", join(example, "judge.md")];
    const args = [...prompts, "-j", join(example, "params.json"), "-n", "10", "-b", "1", "-p", "out.csv"];
    const killed = await runCli([...args, "--base-url", url, "--poll-interval", "0.02"], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "stage-built@s2" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    const written = join(runDir, "samples", "c0000-a1.jsonl");
    await writeFile(written, (await readFile(written, "utf8")).replace(/("Call":"[^"]*?)a/, "$1e"));
    // The judge is on Anthropic: neither vendor is sent anything.
    const created = [server.fake.batchesCreated, server.anthropic.batchesCreated];
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(
      resumed.stderr,
      new RegExp(
        `samples/c0000-a1\\.jsonl has changed since it was written .* — \`synthai export ${id} --judge-again\``,
      ),
    );
    expect([server.fake.batchesCreated, server.anthropic.batchesCreated]).toEqual(created);
  });
});

describe("rows in sample order", () => {
  test("whatever order answers and retries come in, rows follow the samples, and every export is byte-identical", async () => {
    const url = await server.start({ malformedRate: 0.3, failedRate: 0.1, seed: 12 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "60", "-b", "3", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
    });
    expect(result.code).toBe(0);
    const { id, batches } = await readManifest(await onlyRunDir(cwd));
    expect(batches.some((b: any) => b.attempt > 1)).toBe(true);
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows.map((r) => Number(r.sample_id))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(rows.map((r) => Number(r.index))).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    expect(metrics.map((m) => Number(m.sample))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const first = await readFile(join(cwd, "out.csv"), "utf8");
    for (const name of ["again.csv", "once-more.csv"]) {
      expect((await runCli(["export", id, "-p", name], { cwd })).code).toBe(0);
      expect(await readFile(join(cwd, name), "utf8")).toBe(first);
    }
  });
});

describe("JSONL output", () => {
  test("-p out.jsonl writes one object per row and its metrics beside; a second run appends; export --format writes either", async () => {
    const url = await server.start({ malformedRate: 0.2, seed: 2 });
    const cwd = await tempDir();
    const first = await runCli(["-n", "8", "-p", "out.jsonl", "--base-url", url, ...fast], { cwd });
    expect(first.code).toBe(0);
    const rows = (await readFile(join(cwd, "out.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(8);
    expect(Object.keys(rows[0])).toEqual(CUSTOMER_CALL_COLUMNS);
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const metrics = (await readFile(join(cwd, "out_metrics.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(metrics.map((m) => m.sample_id)).toEqual(rows.map((r) => r.sample_id));
    expect(typeof metrics[0].prompt_tokens).toBe("number");
    const second = await runCli(["-n", "3", "-p", "out.jsonl", "--base-url", url, ...fast], { cwd });
    expect(second.code).toBe(0);
    const all = (await readFile(join(cwd, "out.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(all.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const id = basename((await runDirsByAge(cwd))[0]!);
    expect((await runCli(["export", id!, "-p", "same.csv"], { cwd })).code).toBe(0);
    expect((await readCsv(join(cwd, "same.csv"))).map((r) => r.Call)).toEqual(rows.map((r) => r.Call));
    expect((await runCli(["export", id!, "-p", "plain.txt", "--format", "jsonl"], { cwd })).code).toBe(0);
    expect(
      (await readFile(join(cwd, "plain.txt"), "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).Call),
    ).toEqual(rows.map((r) => r.Call));
    const refused = await runCli(["export", id!, "-p", "x.txt", "--format", "xml"], { cwd });
    expect(refused.stderr).toMatch(
      /--format must be one of csv, jsonl, parquet, chat, preference, openai-preference, got "xml"/,
    );
    expect(refused.code).toBe(2);
  });
});
