// Where two processes meet, where a download is cut, where a run folder is damaged: each case
// here was once a way to lose or double rows, or to crash with a stack trace.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  CUSTOMER_CALL_COLUMNS,
  LAUNCHER,
  PARAMS,
  expectOneLineError,
  fileAppears,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-j", PARAMS];

function runIdIn(output: string): string {
  const id = /run (\d{8}-\d{6}-\w{4})/.exec(output)?.[1];
  if (!id) throw new Error(`no run id in: ${output}`);
  return id;
}

describe("two processes", () => {
  test("an export that died never takes away the rows another run wrote after it", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const shared = ["-p", "shared.csv", "--base-url", url, ...fast];
    const killed = await runCli(["-n", "300", "--seed", "1", ...shared], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "during-export" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const a = runIdIn(killed.stderr);
    const b = await runCli(["-n", "200", "--seed", "2", ...shared], { cwd });
    expect(b.code, b.stderr).toBe(0);
    const resumed = await runCli(["resume", a, "--base-url", url], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);

    for (const file of ["shared.csv", "shared_metrics.csv"]) {
      const rows = await readCsv(join(cwd, file));
      expect(rows).toHaveLength(500);
      expect(rows.map((r) => Number(r.index))).toEqual(Array.from({ length: 500 }, (_, i) => i));
      // Both runs number their samples from 0: ids below 200 are there twice (A and B), the rest once.
      const times = new Map<string, number>();
      for (const row of rows) times.set(row.sample_id!, (times.get(row.sample_id!) ?? 0) + 1);
      expect(times.size).toBe(300);
      for (const [id, n] of times) expect(n, id).toBe(Number(id) < 200 ? 2 : 1);
    }
    expect(existsSync(join(cwd, "shared.csv.synthai-export"))).toBe(false);
    // A wrote last: it can export again, and replaces only its own rows.
    const again = await runCli(["export", a], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(await readCsv(join(cwd, "shared.csv"))).toHaveLength(500);
  });

  test("a resume held up at the run's lock while another finishes the run reads the finished manifest", async () => {
    const url = await server.start({ pollsPerPhase: 3 });
    const cwd = await tempDir();
    const detached = await runCli(["-n", "20", "-p", "out.csv", "--detach", "--base-url", url, ...fast], {
      cwd,
    });
    expect(detached.code, detached.stderr).toBe(0);
    const id = (await readManifest(await onlyRunDir(cwd))).id as string;
    const go = join(cwd, "go");
    const held = runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], {
      cwd,
      env: { SYNTHAI_HOLD_AT: `before-lock:${go}` },
    });
    await fileAppears(`${go}.reached`);
    const first = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(first.code, first.stderr).toBe(0);
    const finished = await readFile(join(await onlyRunDir(cwd), "manifest.json"), "utf8");
    await writeFile(go, "");
    const second = await held;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`run ${id} is already done`);
    expect(await readFile(join(await onlyRunDir(cwd), "manifest.json"), "utf8")).toBe(finished);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(20);
    const status = await runCli(["status", id], { cwd });
    expect(status.code).toBe(0);
  });
});

/** The run's batches as the service billed them, at gpt-6-luna's batch price. */
function billedUsd(): number {
  return server.fake.batches.reduce(
    (s, b) =>
      s + ((b.batch.usage?.input_tokens ?? 0) * 0.05 + (b.batch.usage?.output_tokens ?? 0) * 0.25) / 1e6,
    0,
  );
}

describe("downloads", () => {
  test.each([
    ["cut midway, five times over", { cutDownloads: 5 }],
    ["short but well-formed", { shortDownloads: 2 }],
  ])("a results file %s is fetched again until whole: nothing asked twice, cost once", async (_, fault) => {
    const url = await server.start({ seed: 3, ...fault });
    const cwd = await tempDir();
    const result = await runCli(["-n", "300", "-p", "out.csv", "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("done: 300 of 300 samples");
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.stderr).toMatch(
      /warning: downloading file-\S+: (the connection was cut|it came with 299 lines)/,
    );
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(300);
    // One batch: no answer was bought again, and the run's cost is what the service billed.
    expect(server.fake.batchesCreated).toBe(1);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.batches).toHaveLength(1);
    expect(manifest.batches[0].collected.costUsd).toBeCloseTo(billedUsd(), 12);
    // The service's copy went only after the last (whole) download.
    const outputId = manifest.batches[0].outputFileId;
    const calls = server.fake.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.lastIndexOf(`DELETE /v1/files/${outputId}`)).toBeGreaterThan(
      calls.lastIndexOf(`GET /v1/files/${outputId}/content`),
    );
    expect(calls.indexOf(`DELETE /v1/files/${outputId}`)).toBe(
      calls.lastIndexOf(`DELETE /v1/files/${outputId}`),
    );
  });
});

/** True once `holds` is true of the run's manifest (another process writes it). */
async function manifestSays(runDir: string, holds: (manifest: any) => boolean): Promise<void> {
  for (let waited = 0; ; waited += 20) {
    try {
      if (holds(JSON.parse(readFileSync(join(runDir, "manifest.json"), "utf8")))) return;
    } catch {}
    if (waited > 60_000) throw new Error("the manifest never said so");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The run another process makes in `cwd`, once its manifest says a batch was submitted. */
async function submittedRun(cwd: string): Promise<string> {
  await fileAppears(join(cwd, "runs"));
  let runDir = "";
  while (!runDir) {
    runDir = await onlyRunDir(cwd).catch(() => "");
    if (!runDir) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await manifestSays(runDir, (m) => m.batches.some((b: any) => b.step === "submitted"));
  return runDir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] !== "Z";
  } catch {
    return false;
  }
}

describe("kill -9", () => {
  test("of the launcher on the machine's Node stops the run at once (and -k was never on its command line)", async () => {
    const url = await server.start({ pollsPerPhase: 100_000 });
    const cwd = await tempDir();
    // As a user starts it: bin/synthai with the machine's own node first on the PATH.
    const PATH = (process.env.PATH ?? "")
      .split(":")
      .filter((dir) => !dir.includes("node_modules"))
      .join(":");
    const args = ["-n", "10", "-p", "out.csv", "-k", "test-key", "--base-url", url, ...fast];
    const launcher = spawn(LAUNCHER, args, {
      cwd,
      env: { ...process.env, PATH, OPENAI_API_KEY: "", OPENAI_BASE_URL: "" },
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => launcher.on("exit", resolve));
    const runDir = await submittedRun(cwd);
    const worker = Number(readFileSync(join(runDir, ".lock"), "utf8").split(" ")[0]);
    // The key given with -k is not on the command line of the process doing the work (`ps`).
    expect(readFileSync(`/proc/${worker}/cmdline`, "utf8")).toContain("--base-url");
    expect(readFileSync(`/proc/${worker}/cmdline`, "utf8")).not.toContain("test-key");
    launcher.kill("SIGKILL");
    await exited;
    for (let waited = 0; alive(worker); waited += 20) {
      if (waited > 10_000) throw new Error(`process ${worker} still runs after its launcher was killed`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const id = (await readManifest(runDir)).id as string;
    server.fake.batches[0]!.pollsPerPhase = 1;
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(10);
    expect(server.fake.batchesCreated).toBe(1);
  });
});

describe("a damaged run folder", () => {
  async function finishedRun(url: string) {
    const cwd = await tempDir();
    const done = await runCli(["-n", "20", "-b", "2", "-p", "out.csv", "--base-url", url, ...fast], { cwd });
    expect(done.code, done.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    return { cwd, runDir, id: (await readManifest(runDir)).id as string };
  }

  test("one byte of a draw's sample id changed, the size the same: export stops, naming the file", async () => {
    const url = await server.start();
    const { cwd, runDir, id } = await finishedRun(url);
    const draws = join(runDir, "draws", "c0000.jsonl");
    const text = await readFile(draws, "utf8");
    await writeFile(draws, text.replace('"custom_id":"000003"', '"custom_id":"000007"'));
    expect((await readFile(draws, "utf8")).length).toBe(text.length);
    const csv = await readFile(join(cwd, "out.csv"), "utf8");
    const exported = await runCli(["export", id], { cwd });
    expect(exported.code).toBe(2);
    // Its checksum finds it before any line is read.
    expectOneLineError(
      exported.stderr,
      /draws\/c0000\.jsonl has changed since it was written \(the same size, other bytes\) — restore it/,
    );
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(csv);
    // A run from before checksums: each draw is checked to be the sample at its place.
    const { seal, sums, ...older } = await readManifest(runDir);
    await writeFile(join(runDir, "manifest.json"), JSON.stringify(older));
    const again = await runCli(["export", id], { cwd });
    expect(again.code).toBe(2);
    expectOneLineError(
      again.stderr,
      /draws\/c0000\.jsonl line 4 is not sample 4's draw .*the run folder is damaged — restore/,
    );
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(csv);
  });

  test.each([
    ["a draws file deleted", "draws/c0000.jsonl", /draws\/c0000\.jsonl is missing/],
    ["a samples file deleted", "samples/c0001-a1.jsonl", /samples\/c0001-a1\.jsonl is missing/],
  ])("report with %s: one line, no stack trace", async (_, file, message) => {
    const url = await server.start();
    const { cwd, runDir, id } = await finishedRun(url);
    await rm(join(runDir, file));
    const report = await runCli(["report", id], { cwd });
    expect(report.code).toBe(2);
    expectOneLineError(report.stderr, message);
  });

  test.each([
    [
      "a request file deleted",
      (d: string) => rm(join(d, "requests", "c0000-a1.jsonl")),
      /requests\/c0000-a1\.jsonl is missing/,
    ],
    [
      "a draws file torn",
      (d: string) => truncate(join(d, "draws", "c0001.jsonl"), 100),
      /draws\/c0001\.jsonl is cut short/,
    ],
    [
      "a draws file deleted",
      (d: string) => rm(join(d, "draws", "c0000.jsonl")),
      /draws\/c0000\.jsonl is missing/,
    ],
    [
      "a draw's sample id changed, the size the same",
      async (d: string) => {
        const path = join(d, "draws", "c0001.jsonl");
        await writeFile(
          path,
          (await readFile(path, "utf8")).replace('"custom_id":"000012"', '"custom_id":"000021"'),
        );
      },
      /draws\/c0001\.jsonl has changed since it was written \(the same size, other bytes\) — restore it/,
    ],
  ])("resume with %s: one line before anything is sent", async (_, damage, message) => {
    const url = await server.start();
    const cwd = await tempDir();
    const built = await runCli(
      ["-n", "20", "-b", "2", "-p", "out.csv", "--dry-run", "--base-url", url, ...fast],
      { cwd },
    );
    expect(built.code, built.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    await damage(runDir);
    const resumed = await runCli(["resume", (await readManifest(runDir)).id, "--base-url", url], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(resumed.stderr, message);
    expect(server.fake.chatCompletions + server.fake.batchesCreated).toBe(0);
  });
});

describe("a prompt file or spec edited after its run", () => {
  test("is refused by export and resume with the way out; --accept-changed-spec goes on and is recorded", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const prompt = join(cwd, "q.md");
    await writeFile(
      prompt,
      "---\nfields: [Question, Answer]\n---\nAsk about {{Attitude}}. Write [Question] then [Answer].\n",
    );
    const made = await runCli(["--prompt", "q.md", "-n", "6", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
    });
    expect(made.code, made.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const { id, config } = await readManifest(runDir);
    const fingerprint = config.datasetSha256;
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const csv = await readFile(join(cwd, "out.csv"), "utf8");
    await writeFile(
      prompt,
      "---\nfields: [Question, Answer]\n---\nAsk about {{Problem}}. Write [Question] then [Answer].\n",
    );
    for (const command of [
      ["export", id],
      ["resume", id, "--top-up", "2", "--base-url", url],
    ]) {
      const refused = await runCli(command, { cwd });
      expect(refused.code).toBe(2);
      expectOneLineError(
        refused.stderr,
        new RegExp(
          `prompt file .*q\\.md changed since run ${id} was made — restore it, or pass --accept-changed-spec`,
        ),
      );
      expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(csv);
    }
    const accepted = await runCli(["export", id, "--accept-changed-spec"], { cwd });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(6);
    expect((await readManifest(runDir)).config.datasetSha256).not.toBe(fingerprint);
    const again = await runCli(["export", id], { cwd });
    expect(again.code, again.stderr).toBe(0);
  });
});

describe("an export judges once", () => {
  test("a judged run is exported from its samples; another spec judges every answer again", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    await writeFile(
      join(cwd, "q.md"),
      "---\nfields: [Question, Answer]\n---\nAsk about {{Attitude}}. Write [Question] then [Answer].\n",
    );
    const made = await runCli(
      ["--prompt", "q.md", "-n", "6", "-b", "2", "-p", "out.csv", "--base-url", url, ...fast],
      {
        cwd,
      },
    );
    expect(made.code, made.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    // A samples file judged again is written anew (a new file renamed over the old one).
    const samples = async () => {
      const names = (await readdir(join(runDir, "samples"))).sort();
      return Promise.all(names.map(async (n) => [n, (await stat(join(runDir, "samples", n))).ino] as const));
    };
    const judged = await samples();
    expect(judged).toHaveLength(2);
    const again = await runCli(["export", id, "-p", "again.csv"], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(await samples()).toEqual(judged);
    expect(await readFile(join(cwd, "again.csv"), "utf8")).toBe(await readFile(join(cwd, "out.csv"), "utf8"));

    // Another spec: the answers are judged again, with it.
    await writeFile(
      join(cwd, "q.md"),
      "---\nfields: [Question]\n---\nAsk about {{Attitude}}. Write [Question].\n",
    );
    const accepted = await runCli(["export", id, "--accept-changed-spec", "-p", "question.csv"], { cwd });
    expect(accepted.code, accepted.stderr).toBe(0);
    const rejudged = await samples();
    expect(rejudged.map(([n]) => n)).toEqual(judged.map(([n]) => n));
    for (const [i, [, ino]] of rejudged.entries()) expect(ino).not.toBe(judged[i]![1]);
    const rows = await readCsv(join(cwd, "question.csv"));
    expect(rows).toHaveLength(6);
    expect(Object.keys(rows[0]!)).not.toContain("Answer");
    // And once judged with it, not again.
    expect((await runCli(["export", id, "-p", "question2.csv"], { cwd })).code).toBe(0);
    expect(await samples()).toEqual(rejudged);
  });
});

describe("the budget", () => {
  test("holds the canary too: a budget too small for a batch sends nothing at all", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "5", "-l", "0.00001", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("canary skipped: it would not fit the budget beside the first batch");
    expect(result.stderr).toMatch(/stopped: budget: spent \$0\.0000 for 0 valid samples/);
    expect(server.fake.chatCompletions + server.fake.batchesCreated).toBe(0);
  });

  test("a canary that fits beside the first batch is sent, and the whole run stays within the limit", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    // gpt-6-luna: $0.05/$0.25 per 1M at batch price; 5 requests of 1,024 tokens out at most ≈ $0.0013.
    const result = await runCli(["-n", "5", "-l", "0.0016", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.canary.costUsd).toBeGreaterThan(0);
    const spent =
      manifest.canary.costUsd + manifest.batches.reduce((s: number, b: any) => s + b.collected.costUsd, 0);
    expect(spent).toBeLessThanOrEqual(0.0016);
  });

  test("a pilot whose worst case does not fit beside the first batch is refused before it is sent", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const args = ["-n", "5", "--pilot", "3", "--yes", "-l", "0.0016", "-p", "out.csv", "--base-url", url];
    const result = await runCli([...args, ...fast], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(
      result.stderr,
      /the pilot's 3 requests could cost up to \$0\.\d+ at full price.* — ask for fewer/,
    );
    expect(server.fake.chatCompletions + server.fake.batchesCreated).toBe(0);
  });
});

describe("cancel", () => {
  test("of a run another process drives stops that process first, then cancels what is in flight", async () => {
    const url = await server.start({ pollsPerPhase: 100_000 });
    const cwd = await tempDir();
    // The driver is another process: cancel signals it.
    const driving = runCli(["-n", "10", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
      ownProcess: true,
    });
    const runDir = await submittedRun(cwd);
    const id = (await readManifest(runDir)).id as string;
    const cancelled = await runCli(["cancel", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stderr).toMatch(/run is being driven by process \d+: stopping it first/);
    expect((await driving).code).toBe(130);
    const manifest = await readManifest(runDir);
    expect(manifest.state).toBe("stopped");
    expect(manifest.reason).toMatch(/^cancelled with \d+ valid samples/);
    expect(server.fake.batches[0]!.batch.status).toBe("cancelled");
  });
});

describe("smaller promises", () => {
  test("an existing output CSV with a torn last row is one line, and nothing is written", async () => {
    const cwd = await tempDir();
    const torn = `${CUSTOMER_CALL_COLUMNS.join(",")}\n0,a,b,c,d,e,f,g,h,i,j,k,000000\n1,"torn`;
    await writeFile(join(cwd, "out.csv"), torn);
    const result = await runCli(["-n", "2", "-p", "out.csv", "--dry-run", ...fast], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(
      result.stderr,
      /out\.csv does not parse as CSV: Quote Not Closed.* — repair its last rows/,
    );
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(torn);
    expect(existsSync(join(cwd, "runs"))).toBe(false);
  });

  test("a 2 MB field without a space is counted, not stuck in the tokenizer", async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, "big.csv"), `text\n${"a".repeat(2_000_000)}\n`);
    await writeFile(join(cwd, "p.md"), "---\nfields: [Label]\n---\nLabel {{text}}. Write [Label] first.\n");
    const result = await runCli(["--input", "big.csv", "--prompt", "p.md", "--dry-run", "-p", "o.csv"], {
      cwd,
    });
    expect(result.code, result.stderr).toBe(0);
    const tokens = Number(/(\d+) prompt tokens/.exec(result.stderr)?.[1]);
    expect(tokens).toBeGreaterThan(2_000_000 / 10);
  });

  test.each([
    [
      "a NUL byte",
      "rows.csv",
      Buffer.from("text\nfine\nbad\u0000byte\n"),
      /row 2, column "text" holds a NUL byte/,
    ],
    [
      "bytes that are not UTF-8",
      "rows.csv",
      Buffer.concat([Buffer.from("text\nfine\nLatin-1 caf"), Buffer.from([0xe9]), Buffer.from("\n")]),
      /row 2, column "text" is not UTF-8 text — save the file as UTF-8/,
    ],
    [
      "a JSONL row missing a column",
      "rows.jsonl",
      Buffer.from('{"text": "a", "who": "b"}\n{"text": "c"}\n'),
      /row 2 has no "who", which the first row has/,
    ],
  ])(
    "an input with %s is one line naming the row, before anything is built",
    async (_, name, content, message) => {
      const cwd = await tempDir();
      await writeFile(join(cwd, name), content);
      await writeFile(join(cwd, "p.md"), "---\nfields: [Label]\n---\nLabel {{text}}. Write [Label] first.\n");
      const result = await runCli(["--input", name, "--prompt", "p.md", "--dry-run", "-p", "o.csv"], { cwd });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr, message);
      expect(existsSync(join(cwd, "runs"))).toBe(false);
    },
  );

  test("a local base URL that refuses connections says nothing answers there, not that the service has trouble", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const cwd = await tempDir();
    const result = await runCli(["-n", "2", "--base-url", `http://127.0.0.1:${port}/v1`, ...fast], { cwd });
    expect(result.code).toBe(3);
    expectOneLineError(
      result.stderr,
      new RegExp(
        `nothing answers at http://127\\.0\\.0\\.1:${port}/v1 \\(connection refused\\) — check --base-url`,
      ),
    );
    expect(result.stderr).not.toContain("trouble");
  });
});
