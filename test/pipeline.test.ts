import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { cp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { AWKWARD } from "./fixtures/awkward-fields-spec.ts";
import {
  useFake,
  PARAMS,
  ROOT,
  LAUNCHER,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  CUSTOMER_CALL_COLUMNS,
} from "./helpers.ts";

const server = useFake();

const fast = ["--poll-interval", "0.02", "-j", PARAMS];

describe("synthai generate against the fake Batch API", () => {
  test("run through its launcher, with the machine's own node first on the PATH, it works and keeps its compile cache in ~/.cache/synthai", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const home = await tempDir();
    for (const round of [1, 2]) {
      const result = await runCli(["-n", "5", "-p", `round${round}.csv`, "--base-url", url, ...fast], {
        cwd,
        env: { HOME: home },
        asExecutable: true,
      });
      expect(result.stderr).toContain("done: 5 of 5 samples");
      expect(result.code).toBe(0);
      expect(await readCsv(join(cwd, `round${round}.csv`))).toHaveLength(5);
      // Node's compile cache, one folder per Node version, filled by the first run.
      const [version] = await readdir(join(home, ".cache", "synthai"));
      expect((await readdir(join(home, ".cache", "synthai", version!))).length).toBeGreaterThan(10);
    }
  });

  test("on a Node that strips types, the launcher runs --help and status in its own process, as the entry runs them", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const home = await tempDir();
    expect((await runCli(["-n", "3", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    // Every Node process that starts appends its pid here: one line is one Node.
    const starts = join(home, "starts");
    await writeFile(
      join(home, "count.mjs"),
      `import { appendFileSync } from "node:fs"; appendFileSync(${JSON.stringify(starts)}, process.pid + "\\n");`,
    );
    const viaLauncher = (args: string[]) => {
      const result = spawnSync(process.execPath, [LAUNCHER, ...args], {
        cwd,
        encoding: "utf8",
        env: { ...process.env, HOME: home, NODE_OPTIONS: `--import=${join(home, "count.mjs")}` },
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    for (const args of [["status"], ["--help"], ["status", "nope"]]) {
      await writeFile(starts, "");
      const launched = viaLauncher(args);
      const direct = await runCli(args, { cwd });
      expect(launched).toEqual({ code: direct.code, stdout: direct.stdout, stderr: direct.stderr });
      expect((await readFile(starts, "utf8")).trim().split("\n")).toHaveLength(1);
    }
    expect(viaLauncher(["status", "nope"]).stderr).toMatch(/^error: no run "nope"/);
    // Its compile cache is kept where a started synthai keeps it.
    expect((await readdir(join(home, ".cache", "synthai"))).length).toBeGreaterThan(0);
  });

  test("on a Node that cannot strip types, --help and status run in its own process from JavaScript stripped once per change of src/", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect((await runCli(["-n", "3", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    // A clone of its own, so that editing its src/ leaves this one alone.
    const clone = await tempDir();
    for (const dir of ["bin", "scripts", "src"])
      await cp(join(ROOT, dir), join(clone, dir), { recursive: true });
    await cp(join(ROOT, "package.json"), join(clone, "package.json"));
    await symlink(join(ROOT, "node_modules"), join(clone, "node_modules"));
    const home = await tempDir();
    const starts = join(home, "starts");
    await writeFile(
      join(home, "count.mjs"),
      `import { appendFileSync } from "node:fs"; appendFileSync(${JSON.stringify(starts)}, process.pid + "\\n");`,
    );
    // Node 24 without type stripping stands for the machine's Node 20, on any machine.
    const viaLauncher = (args: string[], where = cwd) => {
      const result = spawnSync(
        process.execPath,
        ["--no-experimental-strip-types", join(clone, "bin", "synthai"), ...args],
        {
          cwd: where,
          encoding: "utf8",
          env: { ...process.env, HOME: home, NODE_OPTIONS: `--import=${join(home, "count.mjs")}` },
        },
      );
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    const nodesStarted = async (args: string[]) => {
      await writeFile(starts, "");
      const launched = viaLauncher(args);
      const direct = await runCli(args, { cwd });
      expect(launched).toEqual({ code: direct.code, stdout: direct.stdout, stderr: direct.stderr });
      return (await readFile(starts, "utf8")).trim().split("\n").length;
    };
    const stripped = async () => (await readdir(clone)).filter((name) => name.startsWith(".synthai-js-"));

    // The first one starts Node 24 once more, to strip src/; the others find its JavaScript.
    expect(await nodesStarted(["status"])).toBe(2);
    const [first] = await stripped();
    expect(first).toBeDefined();
    for (const args of [["status"], ["--help"], ["status", "nope"]]) expect(await nodesStarted(args)).toBe(1);

    // An edited src/ is stripped again, and the old JavaScript goes.
    const view = join(clone, "src", "views", "status.ts");
    await writeFile(view, (await readFile(view, "utf8")).replace("no runs yet", "no run so far"));
    await writeFile(starts, "");
    const edited = viaLauncher(["status"], await tempDir());
    expect(edited.stdout).toMatch(/^no run so far/);
    expect((await readFile(starts, "utf8")).trim().split("\n")).toHaveLength(2);
    expect(await stripped()).toHaveLength(1);
    expect(await stripped()).not.toContain(first);
  });

  test("run by hand on Node 24 (node src/synthai.ts), a command that streams data becomes itself again with the launcher's Node flags, malloc settings and compile cache; status does not", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const home = await tempDir();
    // Every Node that starts in the process appends what it was started with (its threads do not).
    const starts = join(home, "starts");
    await writeFile(
      join(home, "runtime.mjs"),
      `import { appendFileSync } from "node:fs"; import { isMainThread } from "node:worker_threads"; if (isMainThread) appendFileSync(${JSON.stringify(starts)}, JSON.stringify({ pid: process.pid, execArgv: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX, mmap: process.env.MALLOC_MMAP_THRESHOLD_, cache: process.env.NODE_COMPILE_CACHE }) + "\\n");`,
    );
    const byHand = async (args: string[], env: Record<string, string> = {}) => {
      await writeFile(starts, "");
      const result = await runCli(args, {
        cwd,
        env: {
          SYNTHAI_TUNED: undefined,
          MALLOC_ARENA_MAX: undefined,
          MALLOC_MMAP_THRESHOLD_: undefined,
          NODE_COMPILE_CACHE: undefined,
          HOME: home,
          ...env,
          NODE_OPTIONS: `--import=${join(home, "runtime.mjs")}`,
        },
      });
      const lines = (await readFile(starts, "utf8")).trim().split("\n");
      return { result, started: lines.map((line) => JSON.parse(line)) };
    };
    const { NODE_FLAGS } = createRequire(import.meta.url)("../bin/runtime.cjs") as { NODE_FLAGS: string[] };

    const run = await byHand(["-n", "4", "-p", "out.csv", "--base-url", url, ...fast]);
    expect(run.result.stderr).toContain("done: 4 of 4 samples");
    expect(run.result.code).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(4);
    const [first, again] = run.started;
    expect(run.started).toHaveLength(2);
    expect(again.pid).toBe(first.pid);
    expect(first.execArgv).not.toContain(NODE_FLAGS[0]);
    expect(again.execArgv).toEqual(expect.arrayContaining(NODE_FLAGS));
    expect(again).toMatchObject({ arenas: "2", mmap: "32768", cache: join(home, ".cache", "synthai") });
    // The compile cache, filled as the launcher fills it.
    const [version] = await readdir(join(home, ".cache", "synthai"));
    expect((await readdir(join(home, ".cache", "synthai", version!))).length).toBeGreaterThan(10);

    // A user's own setting is kept; a command that streams no data starts once, as it was started.
    const own = await byHand(["export", (await readdir(join(cwd, "runs")))[0]!, "-p", "again.csv"], {
      MALLOC_ARENA_MAX: "4",
    });
    expect(own.result.code).toBe(0);
    expect(own.started.at(-1)).toMatchObject({ arenas: "4", mmap: "32768" });
    const status = await byHand(["status"]);
    expect(status.result.code).toBe(0);
    expect(status.started).toHaveLength(1);
    expect(status.started[0].execArgv).not.toContain(NODE_FLAGS[0]);
  });

  test("25 samples in 3 batches: rows, metrics equal to the service's usage, batch price; a second run appends", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const first = await runCli(
      ["-n", "25", "-b", "3", "-p", "out.csv", "--base-url", url, "--seed", "7", ...fast],
      { cwd },
    );
    expect(first.stderr).toContain("done: 25 of 25 samples");
    expect(first.code).toBe(0);

    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows).toHaveLength(25);
    expect(Object.keys(rows[0]!)).toEqual(CUSTOMER_CALL_COLUMNS);
    for (const row of rows) {
      expect(row.Call).not.toBe("");
      expect(row.Summary).not.toBe("");
      expect(row.Company).not.toBe("Company");
    }
    expect(rows.map((r) => Number(r.index))).toEqual([...Array(25).keys()]);
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(25);
    expect(server.fake.batchesCreated).toBe(3);

    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    expect(metrics).toHaveLength(25);
    const usage = server.fake.batches.reduce(
      (s, b) => ({
        input: s.input + b.batch.usage.input_tokens,
        output: s.output + b.batch.usage.output_tokens,
      }),
      { input: 0, output: 0 },
    );
    expect(metrics.reduce((s, m) => s + Number(m.prompt_tokens), 0)).toBe(usage.input);
    expect(metrics.reduce((s, m) => s + Number(m.completion_tokens), 0)).toBe(usage.output);
    for (const m of metrics) {
      // gpt-6-luna at batch price: $0.05 in, $0.25 out per 1M tokens.
      expect(Number(m.cost_usd)).toBeCloseTo(
        (Number(m.prompt_tokens) * 0.05 + Number(m.completion_tokens) * 0.25) / 1e6,
        12,
      );
      expect(Number(m.total_tokens)).toBe(Number(m.prompt_tokens) + Number(m.completion_tokens));
      expect(m.model).toBe("gpt-6-luna-2024-07-18");
    }

    const second = await runCli(["-n", "25", "-b", "3", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
    });
    expect(second.code).toBe(0);
    const text = await readFile(join(cwd, "out.csv"), "utf8");
    expect(text.match(/^index,/gm)).toHaveLength(1);
    const all = await readCsv(join(cwd, "out.csv"));
    expect(all.map((r) => Number(r.index))).toEqual([...Array(50).keys()]);
    expect(await readCsv(join(cwd, "out_metrics.csv"))).toHaveLength(50);
  });

  test("with 20% malformed answers and 10% failed lines: 25 valid rows, and only the bad ones are asked again", async () => {
    const url = await server.start({ malformedRate: 0.2, failedRate: 0.1, seed: 3 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "25", "-b", "3", "-p", "out.csv", "--base-url", url, ...fast], {
      cwd,
    });
    expect(result.code).toBe(0);
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows).toHaveLength(25);
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(25);

    const runDir = await onlyRunDir(cwd);
    const manifest = await readManifest(runDir);
    const retries = manifest.batches.filter((b: any) => b.attempt > 1);
    expect(retries.length).toBeGreaterThan(0);
    for (const retry of retries) {
      const previous = manifest.batches.find(
        (b: any) => b.chunk === retry.chunk && b.attempt === retry.attempt - 1,
      );
      const previousResults = await readJsonlFile(
        join(runDir, `samples/c${String(previous.chunk).padStart(4, "0")}-a${previous.attempt}.jsonl`),
      );
      const bad = previousResults
        .filter((r) => r.status !== "ok")
        .map((r) => r.custom_id)
        .sort();
      const asked = (await readJsonlFile(join(runDir, retry.requestsFile))).map((r) => r.custom_id).sort();
      expect(asked).toEqual(bad);
    }
    // The service saw each sample once, plus once more per bad answer.
    const badAnswers = manifest.batches.reduce(
      (s: number, b: any) => s + b.collected.malformed + b.collected.failed + b.collected.missing,
      0,
    );
    expect(server.fake.requestedIds()).toHaveLength(25 + badAnswers);
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    expect(metrics.some((m) => Number(m.attempt) > 1)).toBe(true);
  });

  test("--dry-run builds request files and prints an estimate without any API call", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "12", "-b", "2", "--dry-run", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/estimate: 12 requests in 2 batch\(es\), \d+ prompt tokens/);
    expect(server.fake.requests).toHaveLength(0);
    const runDir = await onlyRunDir(cwd);
    const files = await readdir(join(runDir, "requests"));
    expect(files.sort()).toEqual(["c0000-a1.jsonl", "c0001-a1.jsonl"]);
    const lines = await readJsonlFile(join(runDir, "requests", "c0000-a1.jsonl"));
    expect(lines[0]).toMatchObject({
      custom_id: "000000",
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "gpt-6-luna" },
    });
    expect((await readManifest(runDir)).state).toBe("dry-run");
    await expect(stat(join(cwd, "dataset.csv"))).rejects.toThrow();
  });

  test("50,001 samples in one job make a file of exactly 50,000 requests and one of 1, both accepted and collected", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "50001", "-b", "1", "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const first = await readFile(join(runDir, "requests", "c0000-a1.jsonl"), "utf8");
    const second = await readJsonlFile(join(runDir, "requests", "c0001-a1.jsonl"));
    expect(first.split("\n").length - 1).toBe(50_000);
    expect(second.map((r) => r.custom_id)).toEqual(["050000"]);
    expect(server.fake.batches.map((b) => b.batch.request_counts.total).sort((a, b) => a - b)).toEqual([
      1, 50_000,
    ]);
    // The metrics CSV has no multi-line cells: one line per sample after the header.
    expect((await readFile(join(cwd, "dataset_metrics.csv"), "utf8")).trimEnd().split("\n")).toHaveLength(
      1 + 50_001,
    );
  });

  test("--no-m writes no metrics file; --delimiter ';' is kept when appending, whatever --delimiter says then", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect(
      (
        await runCli(["-n", "3", "--no-m", "--delimiter", ";", "-p", "d.csv", "--base-url", url, ...fast], {
          cwd,
        })
      ).code,
    ).toBe(0);
    await expect(stat(join(cwd, "d_metrics.csv"))).rejects.toThrow();
    expect(
      (
        await runCli(["generate", "-n", "2", "--no-metrics", "-p", "d.csv", "--base-url", url, ...fast], {
          cwd,
        })
      ).code,
    ).toBe(0);
    // --delimiter is a new file's: given another, the existing file still keeps its own.
    const other = ["-n", "2", "--no-m", "--delimiter", "|", "-p", "d.csv", "--base-url", url, ...fast];
    const third = await runCli(other, { cwd });
    expect(third.code, third.stderr).toBe(0);
    const rows = await readCsv(join(cwd, "d.csv"), ";");
    expect(rows.map((r) => r.index)).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
  });

  test("a metrics file kept beside a new output goes on in its own delimiter", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const run = (delimiter: string) =>
      runCli(["-n", "2", "--delimiter", delimiter, "-p", "m.csv", "--base-url", url, ...fast], { cwd });
    expect((await run(";")).code).toBe(0);
    await rm(join(cwd, "m.csv"));
    const second = await run("|");
    expect(second.code, second.stderr).toBe(0);
    expect(await readCsv(join(cwd, "m.csv"), "|")).toHaveLength(2);
    const metrics = await readCsv(join(cwd, "m_metrics.csv"), ";");
    expect(metrics.map((r) => r.index)).toEqual(["0", "1", "0", "1"]);
  });

  test("fields with quotes, delimiters and line breaks of every kind come back from the CSV as they were", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    await writeFile(
      join(cwd, "params.json"),
      JSON.stringify({ Text: { Mood: ["calm", "odd"] }, Mac: {}, Plain: { Kind: ["x"] } }),
    );
    const spec = join(ROOT, "test", "fixtures", "awkward-fields-spec.ts");
    const result = await runCli(
      [
        "-n",
        "3",
        "--spec",
        spec,
        "-j",
        "params.json",
        "--delimiter",
        ";",
        "-p",
        "d.csv",
        "--base-url",
        url,
        "--poll-interval",
        "0.02",
      ],
      { cwd },
    );
    expect(result.code, result.stderr).toBe(0);
    const rows = await readCsv(join(cwd, "d.csv"), ";");
    expect(rows.map((r) => [r.Text, r.Mac, r.Plain])).toEqual(
      Array(3).fill([AWKWARD.Text, AWKWARD.Mac, AWKWARD.Plain]),
    );
    // Each field that holds a quote, the delimiter or a line break of any kind is quoted.
    const text = await readFile(join(cwd, "d.csv"), "utf8");
    expect(
      text.split(
        `;"she said ""hi"", then left\r\nnew line\nand a ; too";"an old Mac line end\ronly";=1+1 and nothing to quote;`,
      ),
    ).toHaveLength(4);
  });

  test("an output CSV with other columns is refused and left untouched", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    await writeFile(join(cwd, "other.csv"), "a,b\n1,2\n");
    const result = await runCli(["-n", "2", "-p", "other.csv", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(
      /^error: .*other\.csv has columns a,b, this run writes index,Call,Summary/,
    );
    expect(await readFile(join(cwd, "other.csv"), "utf8")).toBe("a,b\n1,2\n");
    expect(server.fake.requests).toHaveLength(0);
  });

  test("synthai export rebuilds the CSV from the run folder without an API call", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect(
      (await runCli(["-n", "6", "-b", "2", "-p", "out.csv", "--base-url", url, ...fast], { cwd })).code,
    ).toBe(0);
    const before = await readFile(join(cwd, "out.csv"), "utf8");
    const calls = server.fake.requests.length;
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    const again = await runCli(["export", runId], { cwd });
    expect(again.code).toBe(0);
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(before);
    expect(server.fake.requests.length).toBe(calls);
    const elsewhere = await runCli(["export", runId, "-p", "copy.csv"], { cwd });
    expect(elsewhere.code).toBe(0);
    expect(await readCsv(join(cwd, "copy.csv"))).toHaveLength(6);
    // Each target is remembered on its own: exporting again, to either, never doubles rows.
    expect((await runCli(["export", runId], { cwd })).code).toBe(0);
    expect((await runCli(["export", runId, "-p", "copy.csv"], { cwd })).code).toBe(0);
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(before);
    expect(await readCsv(join(cwd, "copy.csv"))).toHaveLength(6);
  });

  test("a full disk while exporting is one line and a non-zero exit; the CSV written before stays", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect(
      (await runCli(["-n", "3", "--no-m", "-p", "out.csv", "--base-url", url, ...fast], { cwd })).code,
    ).toBe(0);
    const before = await readFile(join(cwd, "out.csv"), "utf8");
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    // Linux's /dev/full takes any open and fails every write with ENOSPC.
    const full = await runCli(["export", runId, "-p", "/dev/full"], { cwd });
    expect(full.code).toBe(7);
    expect(full.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^error: ENOSPC: no space left on device.* — free space or fix permissions/),
    ]);
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(before);
    // A failed export takes away only what it wrote: a file that was there stays, a device too.
    expect(statSync("/dev/full").isCharacterDevice()).toBe(true);
  });

  test("status lists runs and shows one run batch by batch", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    expect((await runCli(["-n", "4", "-b", "2", "--base-url", url, ...fast], { cwd })).code).toBe(0);
    const list = await runCli(["status"], { cwd });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/RUN\s+CREATED\s+MODEL\s+SAMPLES/);
    expect(list.stdout).toMatch(/gpt-6-luna\s+4\/4\s+2 completed/);
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    const detail = await runCli(["status", runId, "--json"], { cwd });
    const json = JSON.parse(detail.stdout);
    expect(json).toMatchObject({ id: runId, valid: 4, asked: 4, state: "done" });
    expect(json.batches).toHaveLength(2);
  });

  test("the API key lands nowhere in the run folder or the output", async () => {
    const url = await server.start({ apiKey: "fake-secret-key-abcdef123456" });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "3", "-k", "fake-secret-key-abcdef123456", "--base-url", url, ...fast],
      { cwd, env: { OPENAI_API_KEY: undefined } },
    );
    expect(result.code).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const texts = [
      result.stdout,
      result.stderr,
      await readFile(join(cwd, "dataset.csv"), "utf8"),
      await readFile(join(runDir, "manifest.json"), "utf8"),
    ];
    for (const sub of await readdir(runDir, { recursive: true })) {
      const path = join(runDir, sub);
      if ((await stat(path)).isFile()) texts.push(await readFile(path, "utf8"));
    }
    for (const text of texts) expect(text).not.toContain("fake-secret-key-abcdef123456");
    const refused = await runCli(["-n", "2", "-k", "wrong-secret-key-999", "--base-url", url, ...fast], {
      cwd,
      env: { OPENAI_API_KEY: undefined },
    });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/error: the API refused the key/);
    expect(refused.stderr).not.toContain("wrong-secret-key-999");
  });
});
