import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { ProfileName } from "../src/fake/profiles.ts";
import {
  PARAMS,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const KEY = "provider-key";
const LIST_PRICE = 0.88;
const OPEN_MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo";

/** A run on each service: synthai's preset against the fake playing that service. */
const SERVICES: {
  profile: ProfileName;
  args: string[];
  env: Record<string, string>;
  share: number;
  window: string;
}[] = [
  { profile: "openai", args: [], env: { OPENAI_API_KEY: KEY }, share: 0.5, window: "24h" },
  {
    profile: "together",
    args: ["--provider", "together", "--model", OPEN_MODEL],
    env: { TOGETHER_API_KEY: KEY },
    share: 0.5,
    window: "24h",
  },
  {
    profile: "groq",
    args: ["--provider", "groq", "--model", OPEN_MODEL, "--completion-window", "48h"],
    env: { GROQ_API_KEY: KEY },
    share: 0.5,
    window: "48h",
  },
  {
    profile: "novita",
    args: ["--provider", "novita", "--model", OPEN_MODEL],
    env: { NOVITA_API_KEY: KEY },
    share: 0.5,
    window: "24h",
  },
  {
    profile: "cerebras",
    args: ["--provider", "cerebras", "--model", OPEN_MODEL],
    env: { CEREBRAS_API_KEY: KEY },
    share: 0.5,
    window: "24h",
  },
];

const prices = ["--list-input-price", String(LIST_PRICE), "--list-output-price", String(LIST_PRICE)];
const fast = ["--poll-interval", "0.02", "-j", PARAMS, "-p", "out.csv"];

/** What the service billed for the batches' answers, at the list price times the preset's share. */
function billedUsd(share: number): number {
  return server.fake.batches.reduce(
    (s, b) =>
      s +
      (((b.batch.usage?.input_tokens ?? 0) + (b.batch.usage?.output_tokens ?? 0)) * LIST_PRICE * share) / 1e6,
    0,
  );
}

async function expectExactRun(cwd: string, samples: number, share: number) {
  const rows = await readCsv(join(cwd, "out.csv"));
  expect(rows).toHaveLength(samples);
  expect(new Set(rows.map((r) => r.sample_id)).size).toBe(samples);
  const manifest = await readManifest(await onlyRunDir(cwd));
  expect(manifest.state).toBe("done");
  // One batch on the service per chunk and attempt: no duplicate after the crash. A file under
  // a service's minimum (Cerebras: 10 requests) went directly, at list price.
  const batched = manifest.batches.filter((b: any) => b.batchId !== "sync");
  expect(server.fake.batchesCreated).toBe(batched.length);
  expect(new Set(server.fake.uploads).size).toBe(server.fake.uploads.length);
  expect(server.fake.uploads).toHaveLength(batched.length);
  const spent = manifest.batches.reduce((s: number, b: any) => s + b.collected.costUsd, 0);
  const direct = manifest.batches.filter((b: any) => b.batchId === "sync").length;
  const directUsd = server.fake.directUsage
    .slice(manifest.canary ? 1 : 0)
    .reduce((s, u) => s + ((u.prompt_tokens + u.completion_tokens) * LIST_PRICE) / 1e6, 0);
  expect(spent).toBeCloseTo(billedUsd(share) + (direct ? directUsd : 0), 12);
  return manifest;
}

describe.each(SERVICES)("on $profile's profile", ({ profile, args, env, share, window }) => {
  const run = (cwd: string, url: string, extra: Record<string, string> = {}) =>
    runCli(["-n", "24", "-b", "2", "--base-url", url, ...args, ...prices, ...fast], {
      cwd,
      env: { OPENAI_API_KEY: "an-openai-key-that-must-not-be-sent", ...env, ...extra },
    });

  for (const point of ["after-upload", "after-create", "after-submit"])
    test(`kill -9 ${point}: resume makes no second batch, and the cost is the preset's share of list`, async () => {
      const url = await server.start({ apiKey: KEY, profile, malformedRate: 0.2, seed: 4 });
      const cwd = await tempDir();
      const killed = await run(cwd, url, { SYNTHAI_CRASH_AT: point });
      expect(killed.signal).toBe("SIGKILL");
      const { id } = await readManifest(await onlyRunDir(cwd));
      const resumed = await runCli(["resume", id, "--poll-interval", "0.02"], {
        cwd,
        env: { OPENAI_API_KEY: "an-openai-key-that-must-not-be-sent", ...env },
      });
      expect(resumed.stderr).toContain("done: 24 of 24 samples");
      expect(resumed.code).toBe(0);
      const manifest = await expectExactRun(cwd, 24, share);
      expect(server.fake.batches.every((b) => b.batch.completion_window === window)).toBe(true);
      expect(manifest.config.provider).toBe(profile === "openai" ? undefined : profile);
      if (point !== "after-submit" || profile === "openai") return;
      // Its batches run no embeddings: --dedup semantic is refused before anything is sent.
      const created = server.fake.batchesCreated;
      const semantic = await runCli(["export", id, "-p", "s.csv", "--dedup", "semantic"], { cwd, env });
      expect(semantic.code).toBe(2);
      expectOneLineError(
        semantic.stderr,
        /batches do not run \/v1\/embeddings, which --dedup semantic sends/,
      );
      expect(server.fake.batchesCreated).toBe(created);
    });

  test("a pilot costs its usage at the service's list price, never its batch price doubled", async () => {
    const url = await server.start({ apiKey: KEY, profile });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "6", "--pilot", "3", "--yes", "--base-url", url, ...args, ...prices, ...fast],
      { cwd, env },
    );
    expect(result.code, result.stderr).toBe(0);
    const manifest = await readManifest(await onlyRunDir(cwd));
    const listUsd = (u: { prompt_tokens: number; completion_tokens: number }) =>
      ((u.prompt_tokens + u.completion_tokens) * LIST_PRICE) / 1e6;
    // The pilot's three requests went first (the canary is skipped after a pilot).
    expect(manifest.pilot.costUsd).toBeCloseTo(
      server.fake.directUsage.slice(0, 3).reduce((s, u) => s + listUsd(u), 0),
      12,
    );
  });

  test("a create whose answer is lost, and an upload whose answer is lost, are found again, not repeated", async () => {
    const url = await server.start({
      apiKey: KEY,
      profile,
      seed: 6,
      faults: [
        { method: "POST", path: /^\/v1\/files$/, status: 500, times: 1, afterHandling: true },
        { method: "POST", path: /^\/v1\/batches$/, status: 500, times: 1, afterHandling: true },
      ],
    });
    const cwd = await tempDir();
    const result = await run(cwd, url);
    expect(result.code, result.stderr).toBe(0);
    await expectExactRun(cwd, 24, share);
  });
});

describe("what services do differently", () => {
  test("Together keeps no metadata: its batches were found by their request files, uploaded as batch-api", async () => {
    const url = await server.start({ apiKey: KEY, profile: "together" });
    const cwd = await tempDir();
    const result = await runCli(
      [
        "-n",
        "4",
        "--provider",
        "together",
        "--model",
        OPEN_MODEL,
        "--base-url",
        url,
        "--keep-remote",
        ...prices,
        ...fast,
      ],
      { cwd, env: { TOGETHER_API_KEY: KEY } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect([...server.fake.files.values()].some((f) => f.purpose === "batch-api")).toBe(true);
    expect(server.fake.batches.every((b) => b.batch.metadata === null)).toBe(true);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const status = await runCli(["status", id], { cwd });
    expect(status.stdout).toContain(`model ${OPEN_MODEL} on Together AI`);
  });

  test("Cerebras: a follow-up file under its 10-request minimum is sent directly, at list price", async () => {
    const url = await server.start({ apiKey: KEY, profile: "cerebras", malformedRate: 0.2, seed: 9 });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "30", "--provider", "cerebras", "--model", OPEN_MODEL, "--base-url", url, ...prices, ...fast],
      { cwd, env: { CEREBRAS_API_KEY: KEY } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(30);
    const manifest = await readManifest(await onlyRunDir(cwd));
    const direct = manifest.batches.filter((b: any) => b.batchId === "sync");
    expect(direct.length).toBeGreaterThan(0);
    expect(server.fake.batches.every((b) => b.lines.length >= 10)).toBe(true);
    expect(server.fake.batchesCreated).toBe(manifest.batches.length - direct.length);
    // Batches at the preset's share of list, direct requests at list (the canary among them).
    const directUsd = server.fake.directUsage.reduce(
      (s, u) => s + ((u.prompt_tokens + u.completion_tokens) * LIST_PRICE) / 1e6,
      0,
    );
    const spent =
      manifest.canary.costUsd + manifest.batches.reduce((s: number, b: any) => s + b.collected.costUsd, 0);
    expect(spent).toBeCloseTo(billedUsd(0.5) + directUsd, 12);
  });

  test.each([
    ["cerebras", "queued", "validating"],
    ["novita", "PROGRESS", "in_progress"],
  ] as const)(
    "gc keeps the files of a batch %s shows as %s (still running), and deletes them once it is done",
    async (profile, _word, status) => {
      const url = await server.start({ apiKey: KEY, profile, pollsPerPhase: 1_000_000 });
      const cwd = await tempDir();
      const env = { [`${profile.toUpperCase()}_API_KEY`]: KEY };
      const detached = await runCli(
        ["-n", "12", "--provider", profile, "--model", OPEN_MODEL, "--detach", "--base-url", url].concat(
          prices,
          fast,
          ["--no-canary"],
        ),
        { cwd, env },
      );
      expect(detached.code, detached.stderr).toBe(0);
      const stored = server.fake.batches[0]!;
      stored.batch.status = status;
      const gc = await runCli(["gc", "--provider", profile, "--base-url", url], { cwd, env });
      expect(gc.code, gc.stderr).toBe(0);
      expect(gc.stderr).toContain("0 orphaned synthai file(s) deleted");
      expect(server.fake.files.has(stored.batch.input_file_id)).toBe(true);
      stored.batch.status = "completed";
      // Ended, but its run has not collected it yet: kept for resume.
      const kept = await runCli(["gc", "--provider", profile, "--base-url", url], { cwd, env });
      expect(kept.stderr).toContain("has not collected yet");
      expect(server.fake.files.has(stored.batch.input_file_id)).toBe(true);
      // Where no run waits for it, it is a leftover.
      const elsewhere = ["--runs-dir", join(cwd, "elsewhere")];
      const after = await runCli(["gc", "--provider", profile, "--base-url", url, ...elsewhere], {
        cwd,
        env,
      });
      expect(after.code, after.stderr).toBe(0);
      expect(server.fake.files.has(stored.batch.input_file_id)).toBe(false);
    },
  );

  test.each([
    [
      ["--provider", "digitalocean", "--model", "x"],
      /synthai cannot run batches on DigitalOcean Gradient yet: it has no \/v1\/files/,
    ],
    [
      ["--provider", "kimi", "--model", "kimi-k2"],
      /Kimi \(Moonshot AI\)'s batches take only kimi-k2\.6 and kimi-k2\.5, not kimi-k2 — pass --model kimi-k2\.6/,
    ],
    [
      ["--provider", "kimi", "--model", "kimi-k2.6", "--temperature", "0.7"],
      /Kimi \(Moonshot AI\)'s batches refuse a temperature — leave --temperature out/,
    ],
  ])(
    "what a service's batches cannot take is one line before anything is built: %s",
    async (args, message) => {
      const cwd = await tempDir();
      const result = await runCli([...args, ...prices, ...fast, "--dry-run"], { cwd });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr, message);
    },
  );

  test("upper-case statuses (Novita) are read as the same statuses", async () => {
    const url = await server.start({ apiKey: KEY, profile: "novita", pollsPerPhase: 2 });
    const cwd = await tempDir();
    const result = await runCli(
      [
        "-n",
        "6",
        "-b",
        "2",
        "--provider",
        "novita",
        "--model",
        OPEN_MODEL,
        "--base-url",
        url,
        ...prices,
        ...fast,
      ],
      { cwd, env: { NOVITA_API_KEY: KEY } },
    );
    expect(result.code, result.stderr).toBe(0);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.batches.map((b: any) => b.status)).toEqual(["completed", "completed"]);
  });

  test("a server that refuses metadata and expiry gets each request again without them, once, and the run remembers", async () => {
    const url = await server.start({ apiKey: KEY, profile: "strict" });
    const cwd = await tempDir();
    const killed = await runCli(["-n", "12", "-b", "3", "--base-url", url, ...prices, ...fast], {
      cwd,
      env: { OPENAI_API_KEY: KEY, SYNTHAI_CRASH_AT: "after-create" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const { id } = await readManifest(await onlyRunDir(cwd));
    const resumed = await runCli(["resume", id, "--poll-interval", "0.02"], {
      cwd,
      env: { OPENAI_API_KEY: KEY },
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    const manifest = await expectExactRun(cwd, 12, 0.5);
    expect([...manifest.refusedFields].sort()).toEqual(["expiry", "metadata"]);
    // Refused once each: the first upload, with expiry; the first create, with metadata (expiry was known by then).
    const posts = (path: string) =>
      server.fake.requests.filter((r) => r.method === "POST" && r.path === path).length;
    expect(posts("/v1/files")).toBe(manifest.batches.length + 1);
    expect(posts("/v1/batches")).toBe(manifest.batches.length + 1);
  });
});

describe("provider flags", () => {
  test("synthai providers lists each preset with its purpose, window, share and how it was tried", async () => {
    const result = await runCli(["providers"], { cwd: await tempDir() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /together\s+https:\/\/api\.together\.xyz\/v1\s+TOGETHER_API_KEY\s+batch-api\s+24h\s+50%/,
    );
    expect(result.stdout).toMatch(/groq\s+\S+\s+GROQ_API_KEY\s+batch\s+24h–7d\s+50%.*fake profile/);
    expect(result.stdout).toMatch(/kimi\s.*12h–7d\s+60%.*docs only/);
  });

  test.each([
    [["--completion-window", "48h"], /--completion-window 48h is not one OpenAI takes/],
    [
      ["--provider", "groq", "--model", OPEN_MODEL, "--completion-window", "10d"],
      /10d is not one Groq takes/,
    ],
    [
      ["--provider", "groq", "--model", OPEN_MODEL, "--completion-window", "two days"],
      /must be hours or days/,
    ],
    [["--provider", "nowhere"], /--provider must be one of openai, azure, groq, together/],
    [["--provider", "together"], /--provider together needs --model/],
    [["--provider", "azure", "--model", "my-deployment"], /--provider azure has no single address/],
    [
      ["--provider", "together", "--model", OPEN_MODEL, "--endpoint", "responses"],
      /does not run --endpoint responses/,
    ],
    [["--provider", "together", "--model", OPEN_MODEL], /no price is known.*--list-input-price/],
  ])("%j is refused before anything is written", async (flags, message) => {
    const cwd = await tempDir();
    const priced =
      flags.includes("--list-input-price") || message.source.startsWith("no price") ? [] : prices;
    const result = await runCli(["-n", "2", "-j", PARAMS, ...flags, ...priced], {
      cwd,
      env: { TOGETHER_API_KEY: KEY },
    });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, message);
    await expect(readFile(join(cwd, "runs"))).rejects.toThrow();
  });

  test("a provider's key comes from its own variable, never OPENAI_API_KEY", async () => {
    const url = await server.start({ apiKey: KEY, profile: "together" });
    const cwd = await tempDir();
    const result = await runCli(
      ["-n", "2", "--provider", "together", "--model", OPEN_MODEL, "--base-url", url, ...prices, ...fast],
      { cwd, env: { OPENAI_API_KEY: KEY, TOGETHER_API_KEY: undefined } },
    );
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /no Together AI API key — set TOGETHER_API_KEY or pass -k/);
    expect(server.fake.requests).toHaveLength(0);
  });
});
