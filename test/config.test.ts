// One config: defaults < the manifest < flags, decided in one place and shown here flag by flag.
import { copyFileSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";
import { DEFAULTS, configOverrides, toRunConfig } from "../src/commands/options.ts";
import { withOverrides } from "../src/run/config.ts";
import { UserError } from "../src/errors.ts";
import { loadManifest, type RunConfig } from "../src/run/manifest.ts";
import { RUN_DEFAULTS, resolve, storedConfig } from "../src/run/settings.ts";
import { generate } from "../src/pipeline/generate.ts";
import { PARAMS, ROOT, onlyRunDir, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const FIXTURES = join(ROOT, "test", "fixtures");

const server = useFake();
const made = (args: Parameters<typeof toRunConfig>[0] = {}) =>
  toRunConfig({ params: PARAMS, ...args }, () => 7, new Date("2026-12-06"));

describe("a new run: defaults < flags", () => {
  test("a flag left out takes the one default; a flag given wins", () => {
    const config = made();
    expect(config).toMatchObject({
      samples: DEFAULTS.samples,
      batches: DEFAULTS.batches,
      maxTokens: DEFAULTS.maxTokens,
      maxAttempts: DEFAULTS.maxAttempts,
      pollIntervalSeconds: DEFAULTS.pollIntervalSeconds,
      locale: DEFAULTS.locale,
      seed: 7,
    });
    expect(config.output).toMatch(new RegExp(`${DEFAULTS.output}$`));
    expect(config.keepRemote).toBeUndefined();
    const given = made({
      samples: "40",
      batches: "4",
      "max-tokens": "300",
      "max-attempts": "2",
      "poll-interval": "5",
      locale: "de",
      seed: "3",
      "keep-remote": true,
    });
    expect(given).toMatchObject({
      samples: 40,
      batches: 4,
      maxTokens: 300,
      maxAttempts: 2,
      pollIntervalSeconds: 5,
      locale: "de",
      seed: 3,
      keepRemote: true,
    });
    expect(made({ fill: true, samples: "6" }).fill).toEqual({
      target: 6,
      maxDraws: 6 * DEFAULTS.drawsPerSample,
    });
  });

  test("a choice outside its list is one UserError naming the choices, for the library as for the CLI", () => {
    expect(() => made({ mode: "fast" })).toThrow(UserError);
    expect(() => made({ mode: "fast" })).toThrow(/--mode must be one of batch, sync, got "fast"/);
    expect(() => made({ sampling: "weird" })).toThrow(/--sampling must be one of random, unique, stratified/);
  });
});

describe("going on with a run: the manifest < flags given now", () => {
  const manifest = (): RunConfig => ({
    ...made({ fill: true, samples: "10", "max-draws": "20", budget: "2", "on-done": "echo a" }),
    keepRemote: true,
  });

  // Every flag `resume` takes that changes the run's config: left out, the manifest's value stays.
  const cases: [string, Record<string, string | boolean>, Partial<RunConfig>][] = [
    ["-l/--budget", { budget: "5" }, { budgetUsd: 5 }],
    ["--poll-interval", { "poll-interval": "0.5" }, { pollIntervalSeconds: 0.5 }],
    ["--keep-remote", { "keep-remote": true }, { keepRemote: true }],
    ["--no-keep-remote", { "keep-remote": false }, { keepRemote: undefined }],
    ["--on-done", { "on-done": "echo b" }, { onDone: "echo b" }],
    ["--max-draws", { "max-draws": "50" }, { fill: { target: 10, maxDraws: 50 } }],
  ];
  test.each(cases)("%s given wins; left out, the manifest's value stays", (_flag, args, expected) => {
    const before = manifest();
    const kept = withOverrides(before, configOverrides({}), "r");
    expect(kept).toEqual(before);
    const after = withOverrides(before, configOverrides(args), "r");
    expect(after).toEqual({ ...before, ...expected });
    if (!("keepRemote" in expected && expected.keepRemote === undefined)) return;
    expect("keepRemote" in after).toBe(false);
  });

  test("the manifest's config is not changed in place, and no flag leaves it unchanged", () => {
    const before = manifest();
    const copy = structuredClone(before);
    withOverrides(before, configOverrides({ budget: "9", "keep-remote": false, "max-draws": "30" }), "r");
    expect(before).toEqual(copy);
  });

  test("--max-draws on a run made without --fill, or below its target, is refused", () => {
    expect(() => withOverrides(made(), configOverrides({ "max-draws": "5" }), "r1")).toThrow(
      /run r1 was not made with --fill/,
    );
    expect(() => withOverrides(manifest(), configOverrides({ "max-draws": "5" }), "r1")).toThrow(
      /--max-draws 5 is below the run's target of 10/,
    );
  });
});

test("resume --no-keep-remote: a run made to keep its remote files deletes them from then on", async () => {
  const url = await server.start();
  const cwd = await tempDir();
  const fast = ["--poll-interval", "0.02", "-j", PARAMS, "-p", "out.csv", "--base-url", url];
  const made = await runCli(["-n", "4", "--keep-remote", "--detach", ...fast], { cwd });
  expect(made.code).toBe(0);
  const runDir = await onlyRunDir(cwd);
  expect((await readManifest(runDir)).config.keepRemote).toBe(true);
  const { id } = await readManifest(runDir);
  const resumed = await runCli(
    ["resume", id, "--no-keep-remote", "--base-url", url, "--poll-interval", "0.02"],
    {
      cwd,
    },
  );
  expect(resumed.code).toBe(0);
  const after = await readManifest(runDir);
  expect(after.state).toBe("done");
  expect(after.config.keepRemote).toBeUndefined();
  expect(server.fake.files.size).toBe(0);
});

describe("one resolver: defaults < stored < given, read without ?? anywhere", () => {
  test("a run folder made before a setting existed is read with that setting at its default", async () => {
    const { config } = await loadManifest(join(FIXTURES, "run-before-stages", "20261206-140349-0ty2"));
    expect(config).toMatchObject({
      mode: "batch",
      endpoint: "chat",
      provider: "openai",
      sampling: "random",
      locale: "en",
      concurrency: 8,
    });
  });

  test("given wins over stored, stored over the default; none of the three is changed", () => {
    const stored = { ...made(), mode: "sync" as const, concurrency: 3 };
    delete (stored as Partial<RunConfig>).sampling;
    const copy = structuredClone(stored);
    const config = resolve(RUN_DEFAULTS, stored, { concurrency: 5, budgetUsd: undefined });
    expect(config).toMatchObject({ mode: "sync", concurrency: 5, sampling: "random", endpoint: "chat" });
    expect(stored).toEqual(copy);
  });

  test("a manifest leaves out a default as before: the file a run writes reads the same in older versions", () => {
    const stored = storedConfig(made());
    for (const key of ["mode", "endpoint", "provider", "sampling", "concurrency"])
      expect(stored, key).not.toHaveProperty(key);
    expect(storedConfig(made({ mode: "sync", endpoint: "responses" }))).toMatchObject({
      mode: "sync",
      endpoint: "responses",
    });
    expect(resolve(RUN_DEFAULTS, stored, {})).toEqual(made());
  });

  test('no setting of a run\'s config is read with a default of its own (`config.mode ?? "batch"`)', () => {
    const keys = Object.keys(RUN_DEFAULTS).join("|");
    const read = new RegExp(`\\b(config|run)\\??\\.(${keys})\\s*\\?\\?|\\.mode\\s*\\?\\?\\s*"batch"`);
    const found: string[] = [];
    for (const entry of readdirSync(join(ROOT, "src"), { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
      const path = join(entry.parentPath, entry.name);
      readFileSync(path, "utf8")
        .split("\n")
        .forEach(
          (line, i) => read.test(line) && found.push(`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`),
        );
    }
    expect(found).toEqual([]);
  });

  test("generate() changes nothing of the config it is given", async () => {
    const cwd = await tempDir();
    // A params file of the user's: the run fingerprints it into its config.
    const params = join(cwd, "params.json");
    copyFileSync(PARAMS, params);
    const config = made({ output: join(cwd, "out.csv"), params });
    const copy = structuredClone(config);
    await generate(
      config,
      join(cwd, "runs"),
      { apiKey: undefined, baseURL: undefined },
      { log: () => {}, dryRun: true },
    );
    const [id] = readdirSync(join(cwd, "runs"));
    expect((await loadManifest(join(cwd, "runs", id!))).config.paramsSha256).toBeDefined();
    expect(config).toEqual(copy);
  });
});
