// What an output's rows say beyond the data: which run wrote each one, and which cells a
// spreadsheet would run as formulas.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, test } from "vitest";
import { FORMATS } from "../src/io/formats/index.ts";
import { formulaLike } from "../src/io/formats/csv.ts";
import {
  CUSTOMER_CALL_COLUMNS,
  PARAMS,
  expectOneLineError,
  readCsv,
  readJsonlFile,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-j", PARAMS];
const runIdIn = (stderr: string) => /run (\d{8}-\d{6}-\w{4})/.exec(stderr)![1]!;
const FORMULAS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@A1", "\tTAB", "\rCR"];

/** The built-in params with every attitude a cell a spreadsheet would run. */
function formulaParams(dir: string): string {
  const params = JSON.parse(readFileSync(PARAMS, "utf8"));
  params.Call.Attitude = FORMULAS;
  const path = join(dir, "params.json");
  writeFileSync(path, JSON.stringify(params));
  return path;
}

/** Cells a spreadsheet would run, counted here on their own: a plain number is only a number. */
const formulaCount = (rows: Record<string, string>[]) =>
  rows
    .flatMap((row) => Object.values(row))
    .filter((cell) => /^[=+\-@\t\r]/.test(cell) && !Number.isFinite(Number(cell))).length;

describe("CSV cells a spreadsheet would run as formulas", () => {
  test("formulaLike: = + - @ tab and carriage return first, but not a plain number", () => {
    for (const cell of FORMULAS) expect(formulaLike(cell), JSON.stringify(cell)).toBe(true);
    for (const cell of ["-3", "+4.5", "-1e3", "a=b", "", " =x", "'=x"])
      expect(formulaLike(cell), JSON.stringify(cell)).toBe(false);
  });

  test("written as they are by default and counted; with csvSafe a ' first and the cell quoted", async () => {
    const dir = await tempDir();
    const columns = ["index", "text"];
    const rows = [
      [0, "=1+1"],
      [1, 'say "hi"'],
      [2, "-2"],
      [3, "@A1,B"],
      [4, 7],
    ];
    for (const csvSafe of [false, true]) {
      const path = join(dir, `${csvSafe}.csv`);
      const csv = await FORMATS.csv.appender(path, { delimiter: ",", header: true, columns, csvSafe });
      for (const row of rows) csv.write(row);
      csv.close();
      expect(csv.formulaCells?.()).toBe(2);
      const read = parse(readFileSync(path, "utf8"), { columns: true }) as { text: string }[];
      const text = read.map((r) => r.text);
      expect(text).toEqual(
        csvSafe ? ["'=1+1", 'say "hi"', "-2", "'@A1,B", "7"] : ["=1+1", 'say "hi"', "-2", "@A1,B", "7"],
      );
    }
    expect(readFileSync(join(dir, "true.csv"), "utf8")).toContain(`"'=1+1"`);
  });

  test("a run's summary counts them; export --csv-safe neutralises them, read back with csv-parse", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const made = await runCli(
      ["-n", "12", "-p", "out.csv", "--base-url", url, ...fast, "-j", formulaParams(cwd)],
      {
        cwd,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    const raw = await readCsv(join(cwd, "out.csv"));
    // By default the text round-trips exactly: it is training data.
    expect(raw.every((row) => FORMULAS.includes(row.Attitude!))).toBe(true);
    const count = formulaCount(raw);
    expect(count).toBeGreaterThanOrEqual(12);
    expect(made.stderr).toContain(
      `${count} cells starting with = + - @, a tab or a carriage return written as they are`,
    );

    const id = runIdIn(made.stderr);
    const safe = await runCli(["export", id, "-p", "safe.csv", "--csv-safe"], { cwd });
    expect(safe.code, safe.stderr).toBe(0);
    expect(safe.stderr).toContain(
      `${count} cells starting with = + - @, a tab or a carriage return neutralised`,
    );
    const rows = await readCsv(join(cwd, "safe.csv"));
    expect(rows.map((row) => row.Attitude)).toEqual(raw.map((row) => `'${row.Attitude}`));
    expect(formulaCount(rows)).toBe(0);
  });
});

describe("every row of an output names its run", () => {
  test("two runs appended to one CSV are told apart by the metrics file's run_id, joined by index", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const shared = ["-p", "shared.csv", "--base-url", url, ...fast];
    const a = await runCli(["-n", "5", "--seed", "1", ...shared], { cwd });
    const b = await runCli(["-n", "4", "--seed", "2", ...shared], { cwd });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const rows = await readCsv(join(cwd, "shared.csv"));
    const metrics = await readCsv(join(cwd, "shared_metrics.csv"));
    // The dataset keeps the seed's layout; the metrics file says whose each row is.
    expect(Object.keys(rows[0]!)).toEqual(CUSTOMER_CALL_COLUMNS);
    expect(Object.keys(metrics[0]!).at(-1)).toBe("run_id");
    const runOf = new Map(metrics.map((m) => [m.index, m.run_id]));
    const runs = rows.map((row) => runOf.get(row.index!));
    expect(runs).toEqual([...Array(5).fill(runIdIn(a.stderr)), ...Array(4).fill(runIdIn(b.stderr))]);
    // Both runs number their samples from 0: a sample_id alone is no row's name, with its run it is.
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(5);
    expect(new Set(rows.map((r, i) => `${runs[i]} ${r.sample_id}`)).size).toBe(9);
  });

  test("with --no-m the dataset itself has a run_id column", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const shared = ["--no-m", "-p", "d.csv", "--base-url", url, ...fast];
    const a = await runCli(["-n", "3", "--seed", "1", ...shared], { cwd });
    const b = await runCli(["-n", "2", "--seed", "2", ...shared], { cwd });
    expect(b.code, b.stderr).toBe(0);
    const rows = await readCsv(join(cwd, "d.csv"));
    expect(Object.keys(rows[0]!)).toEqual([...CUSTOMER_CALL_COLUMNS, "run_id"]);
    expect(rows.map((r) => r.run_id)).toEqual([
      ...Array(3).fill(runIdIn(a.stderr)),
      ...Array(2).fill(runIdIn(b.stderr)),
    ]);
  });

  test("a chat or preference line written without metrics names its run; with metrics it stays as trainers read it", async () => {
    const dir = await tempDir();
    const run = "20261207-000000-abcd";
    const chat = [
      { role: "user" as const, content: "{{prompt}}" },
      { role: "assistant" as const, content: "{{chosen}}" },
    ];
    const columns = ["index", "prompt", "chosen", "rejected", "sample_id"];
    const row = [0, JSON.stringify([{ role: "user", content: "Why?" }]), "Because.", "No.", "000000"];
    for (const name of ["chat", "preference", "openai-preference"] as const) {
      const lines: unknown[][] = [];
      for (const withRun of [false, true]) {
        const path = join(dir, `${name}-${withRun}.jsonl`);
        const writer = await FORMATS[name].appender(path, {
          delimiter: ",",
          header: false,
          columns: withRun ? [...columns, "run_id"] : columns,
          chat,
        });
        writer.write(withRun ? [...row, run] : row);
        writer.close();
        lines.push(await readJsonlFile(path));
      }
      const [plain, named] = lines as [Record<string, unknown>[], Record<string, unknown>[]];
      expect(plain).toHaveLength(1);
      expect(plain[0], name).not.toHaveProperty("run_id");
      expect(named, name).toEqual([{ ...plain[0], run_id: run }]);
    }
  });

  test("a metrics file written before run_id is refused before anything is sent, with the way out", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const old =
      "index,prompt_tokens,completion_tokens,total_tokens,time,sample,batch,sample_id,attempt,cost_usd,model," +
      "cached_tokens,reasoning_tokens\n";
    writeFileSync(join(cwd, "dataset.csv"), `${CUSTOMER_CALL_COLUMNS.join(",")}\n`);
    writeFileSync(join(cwd, "dataset_metrics.csv"), old);
    const refused = await runCli(["-n", "3", "--base-url", url, ...fast], { cwd });
    expect(refused.code).not.toBe(0);
    expectOneLineError(
      refused.stderr,
      /dataset_metrics\.csv was written by a synthai that did not name each row's run .*move .*dataset_metrics\.csv aside/,
    );
    expect(server.fake.batches).toHaveLength(0);
    expect(readFileSync(join(cwd, "dataset_metrics.csv"), "utf8")).toBe(old);
  });
});
