import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { RateLimiter } from "../src/pipeline/sync.ts";
import {
  PARAMS,
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-j", PARAMS, "-p", "out.csv"];

describe("--mode sync", () => {
  test("direct chat completions fill the same run folder and CSV, at full price, no batch", async () => {
    const url = await server.start({ malformedRate: 0.2, seed: 2 });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "15", "-b", "2", "--mode", "sync", "--concurrency", "3", "--base-url", url, ...fast],
      { cwd },
    );
    expect(result.code).toBe(0);
    expect(server.fake.batchesCreated).toBe(0);
    expect(server.fake.uploads).toHaveLength(0);
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows).toHaveLength(15);
    const manifest = await readManifest(await onlyRunDir(cwd));
    const bad = manifest.batches.reduce((s: number, b: any) => s + b.collected.malformed, 0);
    expect(server.fake.chatCompletions).toBe(15 + bad);
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    for (const m of metrics)
      expect(Number(m.cost_usd)).toBeCloseTo(
        (Number(m.prompt_tokens) * 0.1 + Number(m.completion_tokens) * 0.5) / 1e6,
        12,
      );
  });

  test("with --rpm and --tpm, every request is sent and counted against the limits", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    // Limits far above what 8 requests use: nothing waits, but the token count runs for each request.
    const result = await runCli(
      ["-n", "8", "--mode", "sync", "--rpm", "100000", "--tpm", "100000000", "--base-url", url, ...fast],
      { cwd },
    );
    expect(result.code).toBe(0);
    expect(server.fake.chatCompletions).toBe(8);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(8);
  });

  test("killed while sending, status says what is paid and not yet counted; resume asks only for what has no answer yet", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const killed = await runCli(
      ["-n", "12", "--mode", "sync", "--concurrency", "1", "--base-url", url, ...fast],
      { cwd, env: { SYNTHAI_CRASH_AT: "during-sync" } },
    );
    expect(killed.signal).toBe("SIGKILL");
    expect(server.fake.chatCompletions).toBe(5);
    // What is sent is paid for as it is answered: the tally says so before the file is collected.
    const spent = [...killed.stderr.matchAll(/sending: (\d+)\/12 requests · spent \$([\d.]+)/g)];
    expect(spent.length).toBeGreaterThan(0);
    for (const [, done, usd] of spent) if (Number(done) > 0) expect(Number(usd)).toBeGreaterThan(0);
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    // Paid for, on disk, and not yet in the run's cost: status says so, and how to go on.
    const looked = await runCli(["status", runId], { cwd });
    expect(looked.stdout).toMatch(/cost \$0\.0000 at sync price/);
    expect(looked.stderr.trim()).toBe(
      `5 of 12 requests sent directly are answered, and paid for, but not in the cost above until ` +
        `they are collected: \`synthai resume ${runId}\` sends the rest and collects them`,
    );
    const resumed = await runCli(["resume", runId, "--base-url", url], { cwd });
    expect(resumed.code).toBe(0);
    expect(server.fake.chatCompletions).toBe(12);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);
    // Written by two processes, the answers file has the checksum of all its bytes noted.
    const runDir = await onlyRunDir(cwd);
    const { sums } = await readManifest(runDir);
    const answers = await readFile(join(runDir, "results", "c0000-a1.output.jsonl"));
    expect(sums["results/c0000-a1.output.jsonl"]).toBe(createHash("sha256").update(answers).digest("hex"));
  });

  test.each(["--concurrency", "--rpm", "--tpm"])(
    "%s without --mode sync is one line, not ignored",
    async (flag) => {
      const cwd = await tempDir();
      const result = await runCli(["-n", "2", flag, "5", "--dry-run", "-j", PARAMS], { cwd });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr, new RegExp(`^error: ${flag} paces --mode sync's direct requests`));
      expect(existsSync(join(cwd, "runs"))).toBe(false);
    },
  );

  test("a rate limiter spaces requests so that no minute, the first included, sees more than its limit", () => {
    for (const [perMinute, amount] of [
      [60, 1],
      [10, 1],
      [600, 1],
      [10_000, 700],
      [1_000_000, 5000],
      [1000, 3000], // a request above a minute's worth goes alone
    ] as const) {
      let now = 0;
      const limiter = new RateLimiter(perMinute, () => now);
      // Workers ask at once and again as each send goes out: a send goes at now + its wait.
      const sends: number[] = [];
      for (let i = 0; i < 100; i++) {
        const at = now + limiter.reserve(amount);
        sends.push(at);
        if (i % 4 === 3) now = at; // four at a time, as --concurrency 4 would
      }
      expect(sends[0]).toBe(0);
      const counted = Math.min(amount, perMinute);
      for (const start of sends) {
        const inMinute = sends.filter((t) => t >= start && t < start + 60_000).length;
        expect(inMinute * counted, `${perMinute} a minute, from ${start} ms`).toBeLessThanOrEqual(perMinute);
      }
      // Nothing waits longer than it must: each minute from the first send is used to the full.
      expect(sends.filter((t) => t < 60_000).length).toBe(Math.min(100, Math.floor(perMinute / counted)));
    }
  });
});

describe("--pilot", () => {
  test("with --yes: shows the pilot answers and projected cost, then runs the batch", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "10", "--pilot", "3", "--yes", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr.match(/^pilot \d\/3 ok: Call: /gm)).toHaveLength(3);
    expect(result.stderr).toMatch(
      /pilot: 3\/3 valid, cost \$0\.\d+; the whole run would cost about \$0\.\d+/,
    );
    expect(server.fake.chatCompletions).toBe(3);
    expect(server.fake.batchesCreated).toBe(1);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.pilot).toMatchObject({ requests: 3, valid: 3 });
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(10);
  });

  test("without a terminal and without --yes it never asks: the run waits, built, for resume", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "4", "--pilot", "2", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/not asking without a terminal: pass --yes/);
    expect(server.fake.batchesCreated).toBe(0);
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    expect(
      (await runCli(["resume", runId, "--base-url", url, "--poll-interval", "0.02"], { cwd })).code,
    ).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(4);
  });

  test("before a staged run, the projection is the first stage's, and says the later stages come on top", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const calls = join(ROOT, "examples", "judged-calls");
    const prompts = ["write.md", "judge.md", "rewrite.md"].flatMap((f) => ["--prompt", join(calls, f)]);
    const result = await runCli(
      [
        ...prompts,
        "-n",
        "4",
        "--pilot",
        "2",
        "--base-url",
        url,
        "--poll-interval",
        "0.02",
        "-j",
        join(calls, "params.json"),
      ],
      { cwd },
    );
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(
      /pilot: 2\/2 valid, cost \$0\.\d+; the first stage of the whole run would cost about \$0\.\d+ \(.*\); its 2 later stage\(s\) come on top \(`--dry-run` bounds them\)/,
    );
  });
});
