// synthai as a library: a program imports it by its package name and makes, reads and checks runs.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, ROOT, tempDir, useFake } from "./helpers.ts";
import type { ArgsDef } from "citty";
import { generateArgs } from "../src/commands/generate.ts";
import { NUMBER_FLAGS, flagsOf, optionName } from "../src/commands/named-options.ts";
import { toRunConfig } from "../src/commands/options.ts";

const server = useFake();

function runProgram(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "test", "fixtures", "library-run.ts"), ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe('import from "synthai"', () => {
  test("generate, openRun, rows(), exportRun, stats, report: the same run the CLI makes; every CLI option taken, an unknown one or a bad value one UserError naming it", async () => {
    const url = await server.start({ seed: 2 });
    const cwd = await tempDir();
    const result = await runProgram([url, join(cwd, "runs"), PARAMS, join(cwd, "out.csv")]);
    expect(result.code, result.stderr).toBe(0);
    const got = JSON.parse(result.stdout);
    expect(got.state).toBe("done");
    expect(got.valid).toBe(7);
    expect(got.rows).toHaveLength(7);
    expect(Object.keys(got.rows[0])).toEqual(
      expect.arrayContaining(["index", "Call", "Summary", "Attitude", "sample_id"]),
    );
    expect(got.rows.map((r: any) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(got.logged).toBeGreaterThan(0);
    // Progress as data: a look while waiting saw every request back; the last event is the run as it ended.
    expect(got.progresses.at(-2)).toMatchObject({
      state: "running",
      asked: 7,
      requestsTotal: 7,
      requestsDone: 7,
    });
    expect(got.progresses.at(-1)).toMatchObject({ state: "done", valid: 7, asked: 7, requestsDone: 7 });
    expect(got.progresses.at(-1).spentUsd).toBeGreaterThan(0);
    // An option of the CLI's the library once dropped reaches the requests.
    expect(got.temperature).toBe(0.7);
    expect(got.refused).toEqual({
      negative: "error: samples must be greater than 0, got -1 — for example samples: 10",
      unknown: 'error: generate() has no option "tempreture" — did you mean temperature?',
      text: 'error: samples must be a number, got "5" — for example samples: 10',
      stats: 'error: stats() has no option "runDir" — did you mean runsDir?',
    });
    expect(got.exported).toEqual({ state: "done", lines: 7 });
    expect(got.statsFields).toEqual(["samples", "texts", "labels", "scores", "nearDuplicates"]);
    expect(got.report).toBe(join(cwd, "runs", got.id, "report.html"));
  });
});

describe("the library's options are the CLI's flags", () => {
  test("every flag of generate is an option by its name, a number flag a number; nothing else is", () => {
    const flags = Object.entries(generateArgs as ArgsDef);
    for (const [flag, arg] of flags) {
      const value = (NUMBER_FLAGS as readonly string[]).includes(flag)
        ? 3
        : arg.type === "boolean"
          ? true
          : "x";
      const { args } = flagsOf("generate", generateArgs, {
        [optionName(flag)]: flag === "prompt" ? [value] : value,
      });
      expect(args, flag).toEqual({ [flag]: typeof value === "number" ? "3" : value });
    }
    // A flag the CLI reads as a number and the library would take as text: the one list missed it.
    const text = flags.filter(
      ([flag, arg]) => arg.type === "string" && !(NUMBER_FLAGS as readonly string[]).includes(flag),
    );
    for (const [flag] of text) {
      let message = "";
      try {
        toRunConfig({ params: PARAMS, [flag]: "x" }, () => 1);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, flag).not.toMatch(/must be (a|a whole) number/);
    }
  });
});
