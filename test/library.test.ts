// synthai as a library: a program imports it by its package name and makes, reads and checks runs.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, ROOT, tempDir, useFake } from "./helpers.ts";

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
  test("generate, openRun and rows(): the same run the CLI makes, its rows as objects; bad options a UserError", async () => {
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
    // Progress as data: the last look saw every request back, at what the run spent by then.
    expect(got.lastProgress).toMatchObject({ asked: 7, requestsTotal: 7, requestsDone: 7, round: 1 });
    expect(got.lastProgress.spentUsd).toBeGreaterThan(0);
    expect(got.refused).toMatch(/^error: -n\/--samples must be greater than 0/);
  });
});
