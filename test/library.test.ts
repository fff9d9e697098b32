// synthai as a library: a program imports it by its package name and makes, reads and checks runs.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import { OLD_RUN, PARAMS, ROOT, copyOldRun, runCli, tempDir, useFake } from "./helpers.ts";
import type { ArgsDef } from "citty";
import { generateArgs } from "../src/commands/generate.ts";
import { NUMBER_FLAGS, optionName, optionsOf, optionsOfFlags } from "../src/commands/named-options.ts";
import { runConfigOf, toRunConfig } from "../src/commands/options.ts";
import { UserError, cancel, exportRun, generate, openRun, push, resume } from "../src/index.ts";

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
      const option = { [optionName(flag)]: flag === "prompt" ? [value] : value };
      expect(optionsOf("generate", generateArgs, option), flag).toEqual(option);
      // The CLI's text for the flag makes the same option.
      expect(optionsOfFlags({ [flag]: typeof value === "number" ? "3" : value }), flag).toEqual(option);
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

describe("one way in: the library's options as they are, the CLI's flags parsed at its edge", () => {
  test("a bad number is named as its caller wrote it: samples for the library, -n/--samples for the CLI", async () => {
    await expect(generate({ samples: -1 })).rejects.toThrow(/^samples must be greater than 0, got -1$/);
    expect(() => toRunConfig({ samples: "-1" })).toThrow(/^-n\/--samples must be greater than 0, got -1$/);
    await expect(generate({ maxTokens: 2.5 })).rejects.toThrow(/^maxTokens must be a whole number, got 2.5$/);
    const unknown = await generate({ samplez: 3 } as never).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(UserError);
    expect((unknown as UserError).toLine()).toBe(
      'error: generate() has no option "samplez" — did you mean samples?',
    );
  });

  test("numbers, booleans and lists reach the run's config as given, the same as the CLI's flags make it", () => {
    const given = optionsOf("generate", generateArgs, {
      params: PARAMS,
      samples: 4,
      maxTokens: 300,
      budgetUsd: 2,
      csvSafe: true,
      prompts: ["write.md", "judge.md"],
    });
    expect(given).toMatchObject({ samples: 4, maxTokens: 300, budgetUsd: 2, csvSafe: true });
    const config = runConfigOf(given, () => 1);
    expect(config).toMatchObject({ samples: 4, maxTokens: 300, budgetUsd: 2, csvSafe: true });
    expect(config.promptFile).toBe(join(process.cwd(), "write.md"));
    expect(config.stages?.map((s) => s.promptFile)).toEqual([join(process.cwd(), "judge.md")]);
    const flags = ["-j", PARAMS, "-n", "4", "--max-tokens", "300", "-l", "2", "--csv-safe"];
    const cli = toRunConfig(
      {
        params: PARAMS,
        samples: "4",
        "max-tokens": "300",
        budget: "2",
        "csv-safe": true,
        prompt: "judge.md",
      },
      () => 1,
      new Date(),
      [...flags, "--prompt", "write.md", "--prompt", "judge.md"],
    );
    expect(cli).toEqual(config);
  });
});

describe("exportRun takes its options as given, as generate does", () => {
  /** The one line a refused export gives, from the library and from the CLI, on a copy of a finished run. */
  async function refusals(
    options: Record<string, unknown>,
    flags: string[],
    call: (id: string, options: any) => Promise<unknown> = exportRun,
    command = "export",
  ): Promise<[string, string]> {
    const cwd = await tempDir();
    await copyOldRun(cwd);
    const runsDir = join(cwd, "runs");
    const library = await call(OLD_RUN.id, { runsDir, onLog: () => {}, ...options }).then(
      () => "not refused",
      (error: unknown) => (error instanceof UserError ? error.toLine() : `not a UserError: ${error}`),
    );
    const cli = await runCli([command, OLD_RUN.id, ...flags], { cwd, env: { HF_TOKEN: undefined } });
    expect(cli.code).not.toBe(0);
    return [library, cli.stderr.trim().split("\n").at(-1)!];
  }

  test("a threshold out of range is named dedupThreshold by the library, --dedup-threshold by the CLI", async () => {
    expect(
      await refusals({ dedup: "near", dedupThreshold: 2 }, ["--dedup", "near", "--dedup-threshold", "2"]),
    ).toEqual([
      "error: dedupThreshold must be a similarity above 0 and at most 1, got 2 — for example dedupThreshold: 0.9",
      'error: --dedup-threshold must be a similarity above 0 and at most 1, got "2" — for example --dedup-threshold 0.9',
    ]);
  });

  test("an option that applies to another is named as each caller wrote both", async () => {
    expect(await refusals({ dedupThreshold: 0.5 }, ["--dedup-threshold", "0.5"])).toEqual([
      "error: dedupThreshold applies to dedup near or semantic — add that dedup, or leave it out",
      "error: --dedup-threshold applies to --dedup near or semantic — add that --dedup, or leave it out",
    ]);
    expect(await refusals({ hf: "hf", output: "x.csv" }, ["--hf", "hf", "-p", "x.csv"])).toEqual([
      "error: hf writes its own Parquet files: it takes no output — leave it out",
      "error: --hf writes its own Parquet files: it takes no -p — leave it out",
    ]);
  });

  test("a bad split or license is named split or license by the library, --split or --license by the CLI", async () => {
    const hint = "(names of letters, digits and _; shares that add up to 1)";
    expect(await refusals({ hf: "hf", split: "bad" }, ["--hf", "hf", "--split", "bad"])).toEqual([
      `error: split: "bad" is not name=share — e.g. split: "train=0.9,test=0.1" ${hint}`,
      `error: --split: "bad" is not name=share — e.g. --split train=0.9,test=0.1 ${hint}`,
    ]);
    const known = "give its identifier, e.g. cc-by-4.0, apache-2.0, mit or odc-by (or other)";
    expect(await refusals({ hf: "hf", license: "mit2" }, ["--hf", "hf", "--license", "mit2"])).toEqual([
      `error: license: "mit2" is not a license the Hub knows — ${known}`,
      `error: --license mit2 is not a license the Hub knows — ${known}`,
    ]);
  });

  test("an unknown embeddings model is named embeddingModel by the library, --embedding-model by the CLI", async () => {
    const models = "text-embedding-3-small, text-embedding-3-large, text-embedding-ada-002";
    expect(
      await refusals({ dedup: "semantic", embeddingModel: "nope" }, [
        "--dedup",
        "semantic",
        "--embedding-model",
        "nope",
      ]),
    ).toEqual([
      `error: "nope" is not an embeddings model synthai knows — use one of ${models} with embeddingModel`,
      `error: "nope" is not an embeddings model synthai knows — use one of ${models} with --embedding-model`,
    ]);
  });

  test("a push without a token is named push and hfToken by exportRun, --push and --hf-token by the CLI", async () => {
    vi.stubEnv("HF_TOKEN", "");
    try {
      expect(await refusals({ push: "org/name" }, ["--push", "org/name"])).toEqual([
        "error: push needs a Hub token with write access — set HF_TOKEN (or pass hfToken) to a token from your Hub settings (Access Tokens)",
        "error: --push needs a Hub token with write access — set HF_TOKEN (or pass --hf-token) to a token from your Hub settings (Access Tokens)",
      ]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  test("a bad base URL is named baseURL by exportRun, generate and resume, --base-url by the CLI", async () => {
    const hint = "give the server's address with its scheme";
    const [library, cli] = [
      `error: baseURL "ftp://x" does not start with http:// or https:// — ${hint}, e.g. baseURL: "http://localhost:8000/v1"`,
      `error: --base-url "ftp://x" does not start with http:// or https:// — ${hint}, e.g. --base-url http://localhost:8000/v1`,
    ];
    expect(await refusals({ baseURL: "ftp://x" }, ["--base-url", "ftp://x"])).toEqual([library, cli]);
    expect(await refusals({ baseURL: "ftp://x" }, ["--base-url", "ftp://x"], resume, "resume")).toEqual([
      library,
      cli,
    ]);
    const made = await generate({ baseURL: "ftp://x", runsDir: await tempDir() }).catch((e: UserError) => e);
    expect((made as UserError).toLine()).toBe(library);
  });

  test("push's errors name its own options (repo, token, dir) where the CLI names --push, --hf-token, --hf", async () => {
    vi.stubEnv("HF_TOKEN", "");
    try {
      expect(await refusals({ repo: "org/name" }, ["--push", "org/name"], push)).toEqual([
        "error: repo needs a Hub token with write access — set HF_TOKEN (or pass token) to a token from your Hub settings (Access Tokens)",
        "error: --push needs a Hub token with write access — set HF_TOKEN (or pass --hf-token) to a token from your Hub settings (Access Tokens)",
      ]);
    } finally {
      vi.unstubAllEnvs();
    }
    const token = ["--hf-token", "hf_x"];
    expect(
      await refusals(
        { repo: "models/org/name", token: "hf_x" },
        ["--push", "models/org/name", ...token],
        push,
      ),
    ).toEqual([
      'error: repo: "models/org/name" names a models repository, and synthai pushes datasets — name a dataset repository: repo: "namespace/name"',
      "error: --push models/org/name names a models repository, and synthai pushes datasets — name a dataset repository: --push namespace/name",
    ]);
    expect(
      await refusals(
        { repo: "org/name", token: "hf_x", dir: "" },
        ["--hf", "", "--push", "org/name", ...token],
        push,
      ),
    ).toEqual([
      'error: dir needs a folder — e.g. dir: "hf-dataset"',
      "error: --hf needs a folder — e.g. --hf hf-dataset",
    ]);
  });

  test("an output or Hugging Face folder that cannot be written says so without naming a flag the library has not", async () => {
    const cwd = await tempDir();
    const file = join(cwd, "a-file");
    await writeFile(file, "");
    expect(await refusals({ hf: file }, ["--hf", file])).toEqual([
      `error: the Hugging Face folder ${file} is a file — name a new folder for the dataset`,
      `error: the Hugging Face folder ${file} is a file — name a new folder for the dataset`,
    ]);
    expect(await refusals({ output: cwd }, ["-p", cwd])).toEqual([
      `error: output ${cwd} is a folder — give the output a file name, e.g. dataset.csv`,
      `error: output ${cwd} is a folder — give the output a file name, e.g. dataset.csv`,
    ]);
  });

  test("no library error names a CLI flag: each names the option as the caller wrote it, a CLI command stays quoted", async () => {
    const cwd = await tempDir();
    const runsDir = join(cwd, "runs");
    await writeFile(join(cwd, "a-file"), "");
    vi.stubEnv("OPENAI_API_KEY", "");
    const line = (made: Promise<unknown>) =>
      made.then(
        () => "not refused",
        (error: unknown) => (error instanceof UserError ? error.toLine() : `not a UserError: ${error}`),
      );
    const dry = { samples: 1, dryRun: true, runsDir };
    try {
      expect(await line(generate({ ...dry, params: join(cwd, "none.json") }))).toBe(
        `error: params file ${join(cwd, "none.json")} does not exist — pass the right path with params`,
      );
      expect(await line(generate({ ...dry, runsDir: join(cwd, "a-file") }))).toBe(
        `error: runsDir ${join(cwd, "a-file")} is a file, not a folder — pass a folder (it is made if it does not exist)`,
      );
      expect(await line(generate({ samples: 1, runsDir, yes: true }))).toBe(
        "error: no OpenAI API key — set OPENAI_API_KEY or pass apiKey",
      );
      expect(await line(generate({ ...dry, maxDraws: 5 }))).toBe(
        "error: maxDraws applies to fill — add fill, or leave maxDraws out",
      );
      expect(await line(exportRun("nope", { runsDir }))).toBe(
        `error: no run "nope" in ${runsDir} — run \`synthai status\` to list runs, or pass runsDir`,
      );
    } finally {
      vi.unstubAllEnvs();
    }
    // The CLI names its flags, as before.
    const cli = await runCli(["-n", "1", "--dry-run", "--max-draws", "5"], { cwd });
    expect(cli.stderr.trim()).toBe(
      "error: --max-draws applies to --fill — add --fill, or leave --max-draws out",
    );
  });

  test("push without a repository is refused by name, not an export that pushes nothing", async () => {
    expect(await refusals({ token: "hf_x" }, ["--push", ""], push)).toEqual([
      'error: repo needs a repository — e.g. repo: "my-org/my-dataset"',
      "error: --push needs a repository — e.g. --push my-org/my-dataset",
    ]);
  });

  test("an unknown option is refused by name, with the nearest one", async () => {
    const [library, cli] = await refusals({ outptu: "x.csv" }, ["--outptu", "x.csv"]);
    expect(library).toBe('error: exportRun() has no option "outptu" — did you mean output?');
    expect(cli).toMatch(/^error: unknown option --outptu — did you mean --output\?/);
  });

  test("push refuses an unknown option as push's, with push's own names", async () => {
    const refused = (options: Record<string, unknown>) =>
      push(OLD_RUN.id, { repo: "org/name", ...options } as never).then(
        () => "not refused",
        (error: unknown) => (error instanceof UserError ? error.toLine() : `not a UserError: ${error}`),
      );
    expect(await refused({ tokne: "hf_x" })).toBe(
      'error: push() has no option "tokne" — did you mean token?',
    );
    // exportRun's name for the token is not push's: push names its own.
    expect(await refused({ hfToken: "hf_x" })).toBe(
      'error: push() has no option "hfToken" — it takes repo, token, hubUrl, private, split, license, dir, runsDir, onLog',
    );
  });

  test("options that are not an object, callbacks that are not functions, unknown to cancel, or out of an endpoint's range are refused in one line, named as given", async () => {
    const lineOf = (made: Promise<unknown>) =>
      made.then(
        () => "not refused",
        (error: unknown) => (error instanceof UserError ? error.toLine() : `not a UserError: ${error}`),
      );
    // A value the endpoint refuses is named as the library's caller wrote it.
    expect(await lineOf(generate({ temperature: 10, samples: 2, dryRun: true }))).toMatch(
      /^error: temperature 10 is outside what \/v1\/chat\/completions takes \(0 to 2\)/,
    );
    expect(await lineOf(generate({ endpoint: "responses", maxTokens: 8, samples: 1, dryRun: true }))).toMatch(
      /^error: maxTokens 8 is below what \/v1\/responses takes/,
    );
    expect(await lineOf(openRun(OLD_RUN.id, null as never))).toMatch(
      /^error: openRun\(\) takes its options as an object/,
    );
    expect(await lineOf(generate(null as never))).toBe(
      "error: generate() takes its options as an object — e.g. generate({ … }), or none",
    );
    expect(await lineOf(push(OLD_RUN.id, null as never))).toMatch(
      /^error: push\(\) takes its options as an object/,
    );
    // A callback that is not a function would fail mid-run, after a batch was paid for.
    const cwd = await tempDir();
    const runsDir = join(cwd, "runs");
    expect(await lineOf(generate({ samples: 2, runsDir, onProgress: "x" as never }))).toBe(
      'error: onProgress must be a function, got "x" — for example onProgress: (progress) => …',
    );
    expect(await lineOf(generate({ samples: 2, runsDir, onLog: 5 as never }))).toBe(
      "error: onLog must be a function, got 5 — for example onLog: (line) => …",
    );
    expect(await lineOf(exportRun(OLD_RUN.id, { runsDir, onLog: {} as never }))).toBe(
      "error: onLog must be a function, got {} — for example onLog: (line) => …",
    );
    expect(existsSync(runsDir)).toBe(false);
    expect(await lineOf(cancel(OLD_RUN.id, { bogus: 1 } as never))).toBe(
      'error: cancel() has no option "bogus" — it takes apiKey, baseURL, runsDir, onLog',
    );
  });
});
