import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  API_KEY,
  ENTRY,
  expectOneLineError,
  useFake,
  PARAMS,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
} from "./helpers.ts";

const server = useFake();

const fast = ["--poll-interval", "0.02", "-j", PARAMS, "-p", "out.csv"];

/** The run's cost as the service billed it: every answer it returned, at batch price. */
function billedUsd(): number {
  return server.fake.batches.reduce(
    (s, b) =>
      s + ((b.batch.usage?.input_tokens ?? 0) * 0.05 + (b.batch.usage?.output_tokens ?? 0) * 0.25) / 1e6,
    0,
  );
}

/** A run of `samples` submitted and left (--detach): its batch on the service, nobody driving it. */
async function detachedRun(samples: number) {
  const url = await server.start();
  const cwd = await tempDir();
  const args = ["-n", String(samples), "--detach", "--no-canary", "--base-url", url, ...fast];
  const detached = await runCli(args, { cwd });
  expect(detached.code, detached.stderr).toBe(0);
  return { url, cwd, id: detached.stdout.trim() };
}

async function expectExactRun(cwd: string, samples: number) {
  const rows = await readCsv(join(cwd, "out.csv"));
  expect(rows).toHaveLength(samples);
  expect(new Set(rows.map((r) => r.sample_id)).size).toBe(samples);
  expect((await readFile(join(cwd, "out.csv"), "utf8")).match(/^index,/gm)).toHaveLength(1);
  expect(await readCsv(join(cwd, "out_metrics.csv"))).toHaveLength(samples);
  const manifest = await readManifest(await onlyRunDir(cwd));
  expect(manifest.state).toBe("done");
  // One batch on the service per chunk and attempt, and the cost counted once.
  expect(server.fake.batchesCreated).toBe(manifest.batches.length);
  expect(new Set(server.fake.batches.map((b) => b.batch.input_file_id)).size).toBe(manifest.batches.length);
  expect(server.fake.uploads).toHaveLength(manifest.batches.length);
  expect(new Set(server.fake.uploads).size).toBe(manifest.batches.length);
  const spent = manifest.batches.reduce((s: number, b: any) => s + b.collected.costUsd, 0);
  expect(spent).toBeCloseTo(billedUsd(), 12);
  return manifest;
}

describe("kill -9 at any point, then synthai resume", () => {
  const points = [
    "during-build",
    "after-upload",
    "after-create",
    "after-submit",
    "after-finished",
    "during-download",
    "after-collect",
    "during-export",
  ];
  for (const point of points) {
    test(`killed ${point}: resume ends with exactly the asked samples, no batch twice, cost once`, async () => {
      const url = await server.start({ malformedRate: 0.2, seed: 11 });
      const cwd = await tempDir();
      const killed = await runCli(["-n", "12", "-b", "2", "--base-url", url, ...fast], {
        cwd,
        env: { SYNTHAI_CRASH_AT: point },
      });
      expect(killed.signal).toBe("SIGKILL");
      const runId = (await readManifest(await onlyRunDir(cwd))).id;
      const resumed = await runCli(["resume", runId, "--base-url", url, "--poll-interval", "0.02"], { cwd });
      expect(resumed.stderr).toContain("done: 12 of 12 samples");
      expect(resumed.code).toBe(0);
      await expectExactRun(cwd, 12);
    });
  }

  test("a second process on the same run is refused; a lock left by a dead process is taken over", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    await runCli(["-n", "4", "--base-url", url, ...fast], { cwd, env: { SYNTHAI_CRASH_AT: "after-submit" } });
    const runDir = await onlyRunDir(cwd);
    const runId = (await readManifest(runDir)).id;
    await writeFile(join(runDir, ".lock"), String(process.pid));
    // The lock names this process: alive, and another process than the resume's.
    const refused = await runCli(["resume", runId, "--base-url", url], { cwd, ownProcess: true });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: run .* is being driven by process \d+ — wait for it/m);
    await writeFile(join(runDir, ".lock"), "2147483646");
    const resumed = await runCli(["resume", runId.slice(-4), "--base-url", url, "--poll-interval", "0.02"], {
      cwd,
    });
    expect(resumed.code).toBe(0);
    await expectExactRun(cwd, 4);
  });
});

describe("a build killed again and again", () => {
  test("goes on from its first unfinished file each time, and writes what one whole build would", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const args = ["-n", "12", "-b", "4", "--seed", "9", "--base-url", url, ...fast];
    // Each process dies as soon as it has finished one more request file.
    const killed = await runCli(args, { cwd, env: { SYNTHAI_CRASH_AT: "after-chunk" } });
    expect(killed.signal).toBe("SIGKILL");
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    const firstFile = join(runDir, "requests", "c0000-a1.jsonl");
    const { mtimeMs, ino } = await stat(firstFile);
    for (let built = 2; built <= 4; built++) {
      const again = await runCli(["resume", id, "--base-url", url], {
        cwd,
        env: { SYNTHAI_CRASH_AT: "after-chunk" },
      });
      expect(again.signal).toBe("SIGKILL");
      expect(again.stderr).toContain(
        `keeping the ${built - 1} file(s) already built; building from sample ${(built - 1) * 3 + 1}`,
      );
      expect((await readManifest(runDir)).chunks).toHaveLength(built);
    }
    expect(await stat(firstFile)).toMatchObject({ mtimeMs, ino });
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code).toBe(0);
    await expectExactRun(cwd, 12);
    // The same seed built in one go gives the same files, byte for byte.
    const whole = await tempDir();
    await runCli([...args, "--dry-run"], { cwd: whole });
    const wholeDir = await onlyRunDir(whole);
    for (const file of ["requests/c0000-a1.jsonl", "requests/c0003-a1.jsonl", "draws/c0002.jsonl"])
      expect(await readFile(join(runDir, file), "utf8")).toBe(await readFile(join(wholeDir, file), "utf8"));
  });
});

describe("Ctrl-C", () => {
  test("while building, it stops at once and says how to go on", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    // 200,000 samples: seconds of drawing, in four files; Ctrl-C comes after the first 10,000.
    const child = spawn(process.execPath, [ENTRY, "-n", "200000", "--base-url", url, ...fast], {
      cwd,
      env: { ...process.env, OPENAI_API_KEY: API_KEY },
    });
    let stderr = "";
    child.stderr.on("data", (data) => {
      stderr += data;
      if (stderr.includes("building requests: 10000/200000")) child.kill("SIGINT");
    });
    const [code] = await once(child, "close");
    expect(code).toBe(130);
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    expect(stderr).toContain(`interrupted — nothing is lost: \`synthai resume ${id}\` continues run ${id}`);
    expect(await readdir(join(runDir, "requests"))).not.toContain("c0003-a1.jsonl");
    expect(server.fake.uploads).toHaveLength(0);
  });
});

describe("service faults", () => {
  test("a batches.create whose answer is lost (500 after creating) does not create a second batch", async () => {
    const url = await server.start({
      faults: [{ method: "POST", path: /^\/v1\/batches$/, status: 500, times: 1, afterHandling: true }],
    });
    const cwd = await tempDir();
    const result = await runCli(["-n", "6", "-b", "3", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    await expectExactRun(cwd, 6);
    expect(server.fake.batchesCreated).toBe(3);
  });

  test("an upload whose answer is lost is found by name, not sent again", async () => {
    const url = await server.start({
      faults: [{ method: "POST", path: /^\/v1\/files$/, status: 502, times: 1, afterHandling: true }],
    });
    const cwd = await tempDir();
    expect((await runCli(["-n", "4", "-b", "2", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    await expectExactRun(cwd, 4);
  });

  test("429 with retry-after and 503 while polling and downloading are retried", async () => {
    const url = await server.start({
      faults: [
        { method: "GET", path: /^\/v1\/batches\/[^/]+$/, status: 429, times: 2, retryAfter: 0 },
        { method: "GET", path: /^\/v1\/files\/[^/]+\/content$/, status: 503, times: 2 },
      ],
    });
    const cwd = await tempDir();
    expect((await runCli(["-n", "5", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    await expectExactRun(cwd, 5);
    expect(server.fake.requests.filter((r) => r.path.endsWith("/content")).length).toBeGreaterThanOrEqual(3);
  });

  test("an outage longer than the SDK's own retries is waited out, not fatal", async () => {
    const url = await server.start({
      faults: [{ method: "GET", path: /^\/v1\/batches\/[^/]+$/, status: 503, times: 16, retryAfter: 0 }],
    });
    const cwd = await tempDir();
    const result = await runCli(["-n", "3", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: the API failed while checking batch .*503.*; trying again in/);
    await expectExactRun(cwd, 3);
  });

  test("--max-in-flight keeps that many batches running at most", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect(
      (await runCli(["-n", "8", "-b", "4", "--max-in-flight", "2", "--base-url", url, ...fast], { cwd }))
        .code,
    ).toBe(0);
    await expectExactRun(cwd, 8);
    expect(server.fake.batchesCreated).toBe(4);
    expect(server.fake.maxRunning).toBe(2);
  });

  test("many batches in flight, finishing in any order, are polled through listings and all collected", async () => {
    const url = await server.start({ unevenPhases: true, malformedRate: 0.1, seed: 5 });
    const cwd = await tempDir();
    expect((await runCli(["-n", "30", "-b", "10", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    await expectExactRun(cwd, 30);
    const perBatch = server.fake.requests.filter((r) => /^\/v1\/batches\/batch_/.test(r.path)).length;
    const listings = server.fake.requests.filter(
      (r) => r.method === "GET" && r.path === "/v1/batches",
    ).length;
    // Ten batches in flight are read from listings, not one request each per look.
    expect(listings).toBeGreaterThan(perBatch);
    expect(new Set(server.fake.batches.map((b) => b.pollsPerPhase)).size).toBeGreaterThan(1);
  });

  test("an expired batch keeps its finished answers and asks again only for the rest", async () => {
    const url = await server.start({ expireFirst: 1 });
    const cwd = await tempDir();
    expect((await runCli(["-n", "10", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    const manifest = await expectExactRun(cwd, 10);
    expect(manifest.batches[0].status).toBe("expired");
    expect(manifest.batches[0].collected.ok).toBe(5);
    const retry = await readJsonlFile(join(await onlyRunDir(cwd), manifest.batches[1].requestsFile));
    expect(retry).toHaveLength(5);
  });

  test("token_limit_exceeded is not an attempt: the same file goes again", async () => {
    // Two batches of ~7 prompt tokens x 5 lines each fit alone but not together.
    const url = await server.start({ enqueuedTokenLimit: 700, pollsPerPhase: 1 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "10", "-b", "2", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("enqueued-token limit reached");
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.batches.every((b: any) => b.attempt === 1)).toBe(true);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(10);
  });

  test("a batch that fails validation stops the run with the service's errors and line numbers", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const killed = await runCli(["-n", "3", "--base-url", url, ...fast], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "during-build" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const runDir = await onlyRunDir(cwd);
    // Break the uploaded file as a hand-edited request file would be: a repeated custom_id.
    const resumedOnce = await runCli(
      ["resume", (await readManifest(runDir)).id, "--base-url", url, "--detach"],
      { cwd, env: { SYNTHAI_CRASH_AT: "after-upload" } },
    );
    expect(resumedOnce.signal).toBe("SIGKILL");
    expect(server.fake.files.size).toBe(1);
    const [file] = server.fake.files.values();
    file!.content = Buffer.from(
      file!.content.toString().replace(/"custom_id":"000001"/, '"custom_id":"000000"'),
    );
    const resumed = await runCli(
      ["resume", (await readManifest(runDir)).id, "--base-url", url, "--poll-interval", "0.02"],
      { cwd },
    );
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/error: batch \S+ failed validation: line 2: duplicate_custom_id/);
    expect((await readManifest(runDir)).state).toBe("failed");
  });
});

describe("budget", () => {
  test("-l is never exceeded: the run stops before a batch that could pass it, and resumes with a higher limit", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    // Each batch of 5 may cost up to 5 x 1024 output tokens x $0.25/1M + its prompts ≈ $0.00131; the second does not
    // fit after the first's real cost (about $0.0001). No canary: its cost would count too.
    const stopped = await runCli(
      ["-n", "10", "-b", "2", "-l", "0.0014", "--no-canary", "--base-url", url, ...fast],
      {
        cwd,
      },
    );
    expect(stopped.code).toBe(4);
    expect(stopped.stderr).toMatch(/stopped: budget: spent \$0\.\d+ for 5 valid samples/);
    expect(server.fake.batchesCreated).toBe(1);
    const runDir = await onlyRunDir(cwd);
    const manifest = await readManifest(runDir);
    expect(manifest.state).toBe("stopped");
    expect(billedUsd()).toBeLessThanOrEqual(0.0014);
    const resumed = await runCli(
      ["resume", manifest.id, "-l", "1", "--base-url", url, "--poll-interval", "0.02"],
      { cwd },
    );
    expect(resumed.code).toBe(0);
    await expectExactRun(cwd, 10);
  });
});

describe("cancel, remote files, and what the service can break", () => {
  // A cancel costs no sample an attempt: with --max-attempts 1 too, what it cut off is asked again.
  test.each([[[]], [["--max-attempts", "1"]]])(
    "cancel keeps what the batch finished; resume asks only for the rest (%j)",
    async (attempts: string[]) => {
      const url = await server.start();
      const cwd = await tempDir();
      const detached = await runCli(["-n", "8", "--detach", "--base-url", url, ...fast, ...attempts], {
        cwd,
      });
      expect(detached.code).toBe(0);
      const runId = detached.stdout.trim();
      expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-z]{4}$/);
      // One look moves the batch to in_progress, where it has started on its requests.
      await fetch(`${url}/batches/${server.fake.batches[0]!.batch.id}`, {
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      const cancelled = await runCli(["cancel", runId, "--base-url", url, "--poll-interval", "0.02"], {
        cwd,
      });
      expect(cancelled.code).toBe(0);
      expect(cancelled.stderr).toMatch(/stopped: cancelled with 4 valid samples/);
      const runDir = await onlyRunDir(cwd);
      const manifest = await readManifest(runDir);
      expect(manifest.state).toBe("stopped");
      expect(manifest.batches[0]).toMatchObject({ status: "cancelled", collected: { ok: 4, failed: 4 } });
      const resumed = await runCli(["resume", runId, "--base-url", url, "--poll-interval", "0.02"], { cwd });
      expect(resumed.code).toBe(0);
      await expectExactRun(cwd, 8);
      expect(server.fake.requestedIds()).toHaveLength(12);
    },
  );

  test("remote files are deleted once collected; --keep-remote keeps them and gc removes them later", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect((await runCli(["-n", "4", "-b", "2", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    expect(server.fake.files.size).toBe(0);
    expect(
      (await runCli(["-n", "4", "-b", "2", "--keep-remote", "--base-url", url, ...fast], { cwd })).code,
    ).toBe(0);
    expect(server.fake.files.size).toBe(4);
    const listed = await runCli(["gc", "--dry-run", "--base-url", url], { cwd });
    expect(listed.stderr).toContain("4 orphaned synthai file(s) found");
    expect(server.fake.files.size).toBe(4);
    const removed = await runCli(["gc", "--base-url", url], { cwd });
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain("4 orphaned synthai file(s) deleted");
    expect(server.fake.files.size).toBe(0);
  });

  test("gc leaves the results a run has not collected yet: resume collects them, nothing asked twice", async () => {
    const { url, cwd, id } = await detachedRun(4);
    // A look at the service a phase: the batch ends, its results wait on the account.
    for (let look = 0; server.fake.batches[0]!.batch.status !== "completed"; look++) {
      expect(look).toBeLessThan(5);
      expect((await runCli(["status", id, "--base-url", url], { cwd })).code).toBe(5);
    }
    const files = server.fake.files.size;
    const gc = await runCli(["gc", "--base-url", url], { cwd });
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stderr).toContain(`kept what run ${id} has not collected yet`);
    expect(server.fake.files.size).toBe(files);
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(4);
    expect(server.fake.batchesCreated).toBe(1);
  });

  test("import into a run whose batch is on the service is refused: resume collects it", async () => {
    const { url, cwd, id } = await detachedRun(3);
    await writeFile(join(cwd, "o.jsonl"), "{}\n");
    const refused = await runCli(["import", id, "o.jsonl"], { cwd });
    expect(refused.code).toBe(2);
    expectOneLineError(
      refused.stderr,
      /has 1 batch\(es\) in flight on the service .* — `synthai resume \S+` collects them/,
    );
    expect((await readManifest(await onlyRunDir(cwd))).state).toBe("running");
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
  });

  test("a batch the key cannot see stops with a clear message instead of polling forever", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const killed = await runCli(["-n", "3", "--base-url", url, ...fast], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "after-submit" },
    });
    expect(killed.signal).toBe("SIGKILL");
    server.fake.batches.length = 0;
    const resumed = await runCli(
      [
        "resume",
        (await readManifest(await onlyRunDir(cwd))).id,
        "--base-url",
        url,
        "--poll-interval",
        "0.02",
      ],
      { cwd },
    );
    expect(resumed.code).toBe(3);
    expect(resumed.stderr.trim().split("\n").at(-1)).toMatch(
      /^error: not found while checking batch batch_\w+ \(404\).* — the key must belong to the project that made this run; the run is kept: `synthai resume \S+` continues it$/,
    );
  });

  test("a corrupt line in a downloaded file is reported and its sample asked again", async () => {
    const url = await server.start({ corruptOutputLines: 2 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "6", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /warning: corrupt line, sample asked again: results\/c0000-a1\.output\.jsonl: not JSON/,
    );
    await expectExactRun(cwd, 6);
  });

  test("an error that echoes the request's headers never shows the key", async () => {
    const key = "fake-secret-key-abcdef123456";
    const url = await server.start({
      apiKey: key,
      faults: [
        { method: "GET", path: /^\/v1\/batches\/[^/]+$/, status: 400, times: 1, echoAuthorization: true },
      ],
    });
    const cwd = await tempDir();
    const result = await runCli(["-n", "2", "--base-url", url, ...fast], {
      cwd,
      env: { OPENAI_API_KEY: key },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/Authorization: Bearer \*\*\*/);
    expect(result.stderr).not.toContain(key);
  });
});
