import { readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  PARAMS,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
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

  test("a samples file damaged before the CSV is written: one line, the CSV rolled back; `export --judge-again` judges the answers again", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const killed = await runCli(["-n", "12", "-b", "2", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "during-export" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    // A torn line of the same size: only reading it shows the damage.
    const samples = join(runDir, "samples", "c0001-a1.jsonl");
    const text = await readFile(samples, "utf8");
    await writeFile(samples, text.replace(/\n\{/, "\nx"));
    const resumed = await runCli(["resume", id, "--base-url", url], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(
      resumed.stderr,
      new RegExp(
        `samples/c0001-a1\\.jsonl holds a line that is not valid JSON.* — \`synthai export ${id} --judge-again\` judges the answers again`,
      ),
    );
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe("");
    // Damaged in place, the file still has the size it was written with: a plain export reads it
    // back and stops the same way; the way out judges the answers again.
    expect((await runCli(["export", id], { cwd })).code).toBe(2);
    const judged = await runCli(["export", id, "--judge-again"], { cwd });
    expect(judged.code, judged.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);
    await writeFile(samples, text.replace(/\n\{/, "\nx"));
    // Cut short, it is found before anything is written, with the way out.
    await truncate(samples, 10);
    const again = await runCli(["resume", id, "--base-url", url], { cwd });
    expect(again.code).toBe(2);
    expectOneLineError(
      again.stderr,
      new RegExp(
        `samples/c0001-a1\\.jsonl is cut short .* — \`synthai export ${id} --judge-again\` judges the answers again`,
      ),
    );
    const exported = await runCli(["export", id], { cwd });
    expect(exported.code).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);
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
    const [id] = (await readdir(join(cwd, "runs"))).sort();
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
      /--format must be one of csv, jsonl, parquet, chat, preference, got "xml"/,
    );
    expect(refused.code).toBe(2);
  });
});
