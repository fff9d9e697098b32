// What an output's rows say beyond the data: which run wrote each one, and which cells a
// spreadsheet would run as formulas.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, test } from "vitest";
import { FORMATS } from "../src/io/formats/index.ts";
import { formulaLike } from "../src/io/formats/csv.ts";
import { PARAMS, readCsv, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02"];
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
      const text = parse(readFileSync(path, "utf8"), { columns: true }).map((r: { text: string }) => r.text);
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
      ["-n", "12", "-p", "out.csv", "-j", formulaParams(cwd), "--base-url", url, ...fast],
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

    const id = /run (\d{8}-\d{6}-\w{4})/.exec(made.stderr)![1]!;
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
