import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FAKE_MODELS } from "../src/fake/models.ts";
import {
  PARAMS,
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-j", PARAMS, "-p", "out.csv"];
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** What the fake billed for every batch, at gpt-6-luna's batch prices (cached input at a tenth). */
function billed(fake: typeof server.fake) {
  let usd = 0;
  let cached = 0;
  for (const { batch } of fake.batches) {
    const u = batch.usage ?? { input_tokens: 0, output_tokens: 0 };
    const c = u.input_tokens_details?.cached_tokens ?? 0;
    cached += c;
    usd += ((u.input_tokens - c) * 0.05 + c * 0.005 + u.output_tokens * 0.25) / 1e6;
  }
  return { usd, cached };
}

describe("today's models", () => {
  test("the default is gpt-6-luna at reasoning effort none, priced from the catalogue, with a canary first", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "20", "--base-url", url, ...fast], { cwd });
    expect(result.stderr).toContain("done: 20 of 20 samples");
    expect(result.stderr).toContain("canary: the service took the first request");
    expect(result.code).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const [request] = await readJsonlFile(join(runDir, "requests", "c0000-a1.jsonl"));
    expect(request.body).toMatchObject({ model: "gpt-6-luna", reasoning_effort: "none" });
    expect(request.body.temperature).toBeUndefined();
    expect(server.fake.chatCompletions).toBe(1);
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    expect(metrics.reduce((s, m) => s + Number(m.reasoning_tokens), 0)).toBe(0);
    const manifest = await readManifest(runDir);
    const batches = manifest.batches.reduce((s: number, b: any) => s + b.collected.costUsd, 0);
    expect(batches).toBeCloseTo(billed(server.fake).usd, 12);
    expect(manifest.canary.costUsd).toBeGreaterThan(0);
    expect(manifest.canary.costUsd).toBeLessThanOrEqual(0.01);
  });

  test.each([
    [
      ["--reasoning-effort", "medium", "--temperature", "0.7"],
      /gpt-6-luna refuses a temperature while it reasons \(effort medium\) — add --reasoning-effort none/,
    ],
    [
      ["--model", "gpt-6.2-sol", "--reasoning-effort", "none"],
      /gpt-6.2-sol does not take --reasoning-effort none — use one of low, medium, high, xhigh, max/,
    ],
    [
      ["--model", "gpt-6.1-sol", "--temperature", "0.5"],
      /gpt-6.1-sol refuses a temperature while it reasons \(effort minimal\) — leave --temperature out/,
    ],
    [
      ["--model", "gpt-4.1-nano"],
      /model gpt-4.1-nano shuts down on 2026-10-23 — use gpt-5.6-sol, gpt-5.6-terra or gpt-5.6-luna/,
    ],
    [["--model", "gpt-4o-mini", "--reasoning-effort", "low"], /gpt-4o-mini does not reason/],
    [
      ["--reasoning-effort", "huge"],
      /--reasoning-effort must be one of none, minimal, low, medium, high, xhigh, max/,
    ],
  ])("%j is refused before anything is built or sent", async (args, message) => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(["-n", "5", "--base-url", url, ...fast, ...args], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(message);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(await readdir(cwd)).toEqual([]);
    expect(server.fake.requests).toHaveLength(0);
  });

  test("the service is asked about the model: unknown or shutting down stops, within 30 days warns", async () => {
    const models = [
      ...FAKE_MODELS,
      { id: "acme-soon", shutdown_date: day(10) },
      { id: "acme-tomorrow", shutdown_date: day(1) },
    ];
    const url = await server.start({ models });
    const cwd = await tempDir();
    const prices = ["--input-price", "0.1", "--output-price", "0.4"];
    const unknown = await runCli(
      ["-n", "3", "--model", "acme-nothing", ...prices, "--base-url", url, ...fast],
      { cwd },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: the service has no model acme-nothing for this key/m);
    const tomorrow = await runCli(
      ["-n", "3", "--model", "acme-tomorrow", ...prices, "--base-url", url, ...fast],
      { cwd },
    );
    expect(tomorrow.code).toBe(2);
    expect(tomorrow.stderr).toMatch(
      /model acme-tomorrow shuts down on \d{4}-\d\d-\d\d, before a batch sent now could finish/,
    );
    expect(server.fake.batchesCreated).toBe(0);
    const soon = await runCli(["-n", "3", "--model", "acme-soon", ...prices, "--base-url", url, ...fast], {
      cwd,
    });
    expect(soon.stderr).toMatch(/warning: model acme-soon shuts down on \d{4}-\d\d-\d\d, in (9|10) days/);
    expect(soon.code).toBe(0);
  });

  test("what no table knows is caught by the canary: nothing is submitted, the service's error is shown", async () => {
    const models = [
      ...FAKE_MODELS,
      { id: "acme-thinker", shutdown_date: null, efforts: ["low", "medium"], defaultEffort: "low" },
    ];
    const url = await server.start({ models });
    const cwd = await tempDir();
    const args = [
      "-n",
      "4",
      "--model",
      "acme-thinker",
      "--reasoning-effort",
      "none",
      "--input-price",
      "0.1",
      "--output-price",
      "0.4",
    ];
    const result = await runCli([...args, "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /error: the service refused the run's first request \(400\): .*'reasoning_effort' does not support 'none'.* — nothing was submitted/,
    );
    expect(server.fake.batchesCreated).toBe(0);
    expect(server.fake.uploads).toHaveLength(0);
    // --no-canary sends the batch, and every line comes back refused: the run stops there, exit 3.
    const blind = await runCli([...args, "--no-canary", "--base-url", url, ...fast], { cwd });
    expect(server.fake.batchesCreated).toBe(1);
    expectOneLineError(
      blind.stderr,
      /^error: stage 1 \(acme-thinker\): the service refused every request of requests\/c0000-a1\.jsonl \(400 unsupported_value: /,
    );
    expect(blind.code).toBe(3);
  });

  test("an answer left empty by reasoning is its own verdict, not asked again; a warning came first", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "6", "--reasoning-effort", "medium", "--max-tokens", "300", "--base-url", url, ...fast],
      { cwd },
    );
    expect(result.stderr).toMatch(
      /warning: --max-tokens 300 leaves little room: reasoning at effort medium often takes 800 tokens/,
    );
    expect(result.stderr).toContain("done: 0 of 6 samples");
    expect(result.stderr).toContain("0 re-requested");
    expect(result.stderr).toContain("6 left empty by reasoning");
    expect(result.code).toBe(6);
    const runDir = await onlyRunDir(cwd);
    const manifest = await readManifest(runDir);
    expect(manifest.batches).toHaveLength(1);
    expect(manifest.batches[0].collected).toMatchObject({ reasoning: 6, truncated: 0, givenUp: 6 });
    const status = await runCli(["status", manifest.id], { cwd });
    expect(status.stdout).toContain("6 answers left empty by reasoning");
    const inspect = await runCli(["inspect", manifest.id, "--failed", "--limit", "1"], { cwd });
    expect(inspect.stdout).toContain(
      "reasoning, given up: reasoning used all 300 tokens; raise --max-tokens or lower --reasoning-effort",
    );
  });

  test("cached prompt tokens are billed at the cached price, counted per sample and for the run, as the service billed them", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const spec = join(ROOT, "test", "fixtures", "long-prefix-spec.ts");
    const result = await runCli(["-n", "12", "-b", "2", "--spec", spec, "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    const { usd, cached } = billed(server.fake);
    expect(cached).toBeGreaterThan(0);
    expect(metrics.reduce((s, m) => s + Number(m.cached_tokens), 0)).toBe(cached);
    for (const m of metrics)
      expect(Number(m.cost_usd)).toBeCloseTo(
        ((Number(m.prompt_tokens) - Number(m.cached_tokens)) * 0.05 +
          Number(m.cached_tokens) * 0.005 +
          Number(m.completion_tokens) * 0.25) /
          1e6,
        12,
      );
    const manifest = await readManifest(await onlyRunDir(cwd));
    const status = JSON.parse((await runCli(["status", manifest.id, "--json"], { cwd })).stdout);
    expect(status.cachedTokens).toBe(cached);
    expect(status.costUsd - manifest.canary.costUsd).toBeCloseTo(usd, 12);
    expect(status.cacheSavedUsd).toBeCloseTo((cached * (0.05 - 0.005)) / 1e6, 12);
    expect((await runCli(["status", manifest.id], { cwd })).stdout).toMatch(
      /tokens \d+ prompt, \d+ of them cached \(\d+\.\d%, saved \$/,
    );
  });

  test("1,000 samples with markers cost at most 1.15 times the batch price of their valid answers' own tokens", async () => {
    const url = await server.start({ malformedRate: 0.1, seed: 4 });
    const cwd = await tempDir();
    const result = await runCli(["-n", "1000", "-b", "2", "--base-url", url, ...fast], { cwd });
    expect(result.code).toBe(0);
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    expect(metrics).toHaveLength(1000);
    const own = metrics.reduce((s, m) => s + Number(m.cost_usd), 0);
    const manifest = await readManifest(await onlyRunDir(cwd));
    const total = JSON.parse((await runCli(["status", manifest.id, "--json"], { cwd })).stdout).costUsd;
    expect(total / own).toBeLessThanOrEqual(1.15);
    expect(total / own).toBeGreaterThan(1);
  });

  test("synthai models lists the catalogue; --check compares it with the service's /v1/models", async () => {
    const cwd = await tempDir();
    const list = await runCli(["models"], { cwd, env: { OPENAI_API_KEY: undefined } });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/gpt-6-luna \(default\)\s+\$0\.1\s+\$0\.01\s+\$0\.5\s+\$0\.05 \/ \$0\.25/);
    expect(list.stdout).toMatch(/gpt-4o-mini .* 2027-01-14 → gpt-6-luna/);
    expect(list.stdout).toContain("as of 2026-11-30");
    const url = await server.start({
      models: [
        ...FAKE_MODELS.filter((m) => m.id !== "gpt-4o"),
        { id: "gpt-4o", shutdown_date: "2027-02-01" },
      ],
    });
    const check = await runCli(["models", "--check", "--base-url", url], { cwd });
    expect(check.stdout).toContain(
      "gpt-4o: the service says it shuts down 2027-02-01, the catalogue 2027-01-14",
    );
    expect(check.stdout).toContain("gpt-5.6-sol: in the catalogue, not offered by the service to this key");
    expect(check.stdout).not.toMatch(/^\s+gpt-6-luna:/m);
    expect(check.code).toBe(6);
    // A check that cannot be made is one line on stderr: no catalogue before it.
    const keyless = await runCli(["models", "--check", "--base-url", url], {
      cwd,
      env: { OPENAI_API_KEY: undefined },
    });
    expect(keyless.code).not.toBe(0);
    expect(keyless.stdout).toBe("");
    expectOneLineError(keyless.stderr, /OPENAI_API_KEY/);
  });
});

describe("the Responses endpoint and the flex tier", () => {
  test("--endpoint responses sends /v1/responses lines in batch, reads output items, resumes and exports alike", async () => {
    const url = await server.start({ malformedRate: 0.2, seed: 6 });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "10", "-b", "2", "--endpoint", "responses", "--base-url", url, ...fast],
      { cwd },
    );
    expect(result.stderr).toContain("done: 10 of 10 samples");
    expect(result.code).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const [request] = await readJsonlFile(join(runDir, "requests", "c0000-a1.jsonl"));
    expect(request).toMatchObject({
      url: "/v1/responses",
      body: { model: "gpt-6-luna", reasoning: { effort: "none" } },
    });
    expect(request.body.max_output_tokens).toBe(1024);
    expect(request.body.input[0].role).toBe("user");
    expect(server.fake.batches.every((b) => b.batch.endpoint === "/v1/responses")).toBe(true);
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row.Call).not.toBe("");
    const manifest = await readManifest(runDir);
    expect(manifest.batches.reduce((s: number, b: any) => s + b.collected.costUsd, 0)).toBeCloseTo(
      billed(server.fake).usd,
      12,
    );
    const exported = await runCli(["export", manifest.id, "-p", "again.csv"], { cwd });
    expect(exported.code).toBe(0);
    expect((await readCsv(join(cwd, "again.csv"))).map((r) => r.Call)).toEqual(rows.map((r) => r.Call));
  });

  test("--endpoint responses in sync mode, with an answer cut by reasoning read from incomplete_details", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(
      [
        "-n",
        "3",
        "--mode",
        "sync",
        "--endpoint",
        "responses",
        "--reasoning-effort",
        "high",
        "--max-tokens",
        "400",
        "--base-url",
        url,
        ...fast,
      ],
      { cwd },
    );
    expect(result.stderr).toContain("3 left empty by reasoning");
    expect(result.code).toBe(6);
  });

  test("--mode sync --service-tier flex asks for flex, waits out a busy tier, and bills what flex served at batch price", async () => {
    const url = await server.start({ flexBusy: 2 });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "4", "--mode", "sync", "--service-tier", "flex", "--base-url", url, ...fast],
      { cwd },
    );
    expect(result.stderr).toContain("done: 4 of 4 samples");
    expect(result.code).toBe(0);
    const [request] = await readJsonlFile(join(await onlyRunDir(cwd), "requests", "c0000-a1.jsonl"));
    expect(request.body.service_tier).toBe("flex");
    for (const m of await readCsv(join(cwd, "out_metrics.csv")))
      expect(Number(m.cost_usd)).toBeCloseTo(
        (Number(m.prompt_tokens) * 0.05 + Number(m.completion_tokens) * 0.25) / 1e6,
        12,
      );
    const refused = await runCli(["-n", "4", "--service-tier", "flex", "--base-url", url, ...fast], { cwd });
    expect(refused.stderr).toMatch(/--service-tier flex is for --mode sync/);
    expect(refused.code).toBe(2);
  });
});
