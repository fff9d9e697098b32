import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, onlyRunDir, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-j", PARAMS, "-p", "out.csv"];

describe("exit codes and messages that tell the truth", () => {
  test("a run that ends with no valid sample exits 6 and says where to look", async () => {
    const url = await server.start({ malformedRate: 1 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "5", "--max-attempts", "1", "--base-url", url, ...fast], { cwd });
    const { id } = await readManifest(await onlyRunDir(cwd));
    expect(result.stderr).toContain(`done: 0 of 5 samples`);
    expect(result.stderr).toContain(`no answer was valid: \`synthai inspect ${id} --failed\` shows why`);
    expect(result.code).toBe(6);
  });

  test("the connection check retries a passing 500 like every other call", async () => {
    const url = await server.start({
      faults: [{ method: "GET", path: /^\/v1\/batches/, status: 500, times: 2 }],
    });
    const cwd = await tempDir();
    const result = await runCli(["-n", "3", "--base-url", url, ...fast], { cwd });
    expect(result.stderr).toContain("done: 3 of 3 samples");
    expect(result.code).toBe(0);
  });

  test("advice names only what exists: no run to resume before one is made, /v1 when the base URL lacks it", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "3", "--base-url", url.replace(/\/v1$/, ""), ...fast], { cwd });
    expect(result.code).toBe(3);
    const line = result.stderr.trim();
    expect(line).toMatch(
      /^error: not found while checking the connection \(404\).* — an OpenAI-compatible base URL usually ends in \/v1/,
    );
    expect(line).not.toContain("resume");
    expect(line).not.toContain("project");
    const unreachable = await runCli(["-n", "3", "--base-url", "http://127.0.0.1:9/v1", ...fast], { cwd });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).not.toContain("resume");
  });

  test("resume of a finished run needs no key; re-requested is the same number in the summary, status and report", async () => {
    const url = await server.start({ malformedRate: 0.3, seed: 3 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "30", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    const reRequested = Number(/; (\d+) re-requested/.exec(result.stderr)![1]);
    expect(reRequested).toBeGreaterThan(0);
    const status = await runCli(["status", id, "--json"], { cwd });
    expect(JSON.parse(status.stdout).reRequested).toBe(reRequested);
    expect((await runCli(["status", id], { cwd })).stdout).toContain(`${reRequested} re-requested`);
    const report = await runCli(["report", id], { cwd });
    expect(await readFile(join(runDir, "report.html"), "utf8")).toContain(
      `samples re-requested<b>${reRequested}</b>`,
    );
    expect(report.code).toBe(0);
    const resumed = await runCli(["resume", id], { cwd, env: { OPENAI_API_KEY: undefined } });
    expect(resumed.stderr).toContain(`run ${id} is already done`);
    expect(resumed.code).toBe(0);
  });
});
