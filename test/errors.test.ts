import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, ROOT, runCli, tempDir } from "./helpers.ts";

/** Bad input: one line naming the problem and the fix, exit code 2, no stack trace. */
async function expectUserError(
  args: string[],
  message: RegExp,
  options: {
    env?: Record<string, string | undefined>;
    setup?: (cwd: string) => Promise<void>;
    code?: number;
  } = {},
) {
  const cwd = await tempDir();
  await options.setup?.(cwd);
  const result = await runCli(args, { cwd, env: options.env });
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: .+ — .+/);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.code).toBe(options.code ?? 2);
  return cwd;
}

const offline = ["--base-url", "http://127.0.0.1:9/v1", "-j", PARAMS];

describe("bad input gets one clear line and exit code 2", () => {
  test.each([
    [["-n", "0"], /-n\/--samples must be greater than 0, got 0 — for example -n 10/],
    [["-n", "-5"], /-n\/--samples must be greater than 0/],
    [["-n", "ten"], /-n\/--samples must be a whole number, got "ten"/],
    [["-n", "2.5"], /-n\/--samples must be a whole number/],
    [["-n", "2", "-b", "3"], /-b\/--batches \(3\) is larger than -n\/--samples \(2\)/],
    [["-l", "abc"], /-l\/--budget must be a number, got "abc"/],
    [["-l", "-1"], /-l\/--budget must be greater than 0/],
    [
      ["--model", "my-own-model"],
      /no price is known for model "my-own-model" — pass the service.s list prices/,
    ],
    [["--delimiter", "ab"], /--delimiter must be one character/],
  ])("%j", async (args, message) => {
    await expectUserError([...args, ...offline], message);
  });

  test("a value the endpoint refuses on every line, before anything is built: max_output_tokens 8, temperature 2.5", async () => {
    const judged = join(ROOT, "examples", "judged-calls");
    const refusals: [string[], RegExp, ((cwd: string) => Promise<void>)?][] = [
      [
        ["--endpoint", "responses", "--max-tokens", "8"],
        /--max-tokens 8 is below what \/v1\/responses takes \(max_output_tokens of at least 16\) — give 16 or more/,
      ],
      [
        ["--temperature", "2.5"],
        /--temperature 2\.5 is outside what \/v1\/chat\/completions takes \(0 to 2\)/,
      ],
      [
        ["--endpoint", "responses", "--temperature", "2.5", "--reasoning-effort", "none"],
        /--temperature 2\.5 is outside what \/v1\/responses takes \(0 to 2\)/,
      ],
      [
        ["--endpoint", "responses", "--prompt", join(judged, "write.md"), "--prompt", "judge.md"],
        /prompt file .*judge\.md: max_tokens 8 is below what \/v1\/responses takes \(max_output_tokens of at least 16\)/,
        async (cwd) => {
          const judge = await readFile(join(judged, "judge.md"), "utf8");
          await writeFile(join(cwd, "judge.md"), judge.replace(/^max_tokens: \d+$/m, "max_tokens: 8"));
        },
      ],
    ];
    for (const [args, message, setup] of refusals) {
      const cwd = await expectUserError([...args, "-n", "2", "-j", join(judged, "params.json")], message, {
        ...(setup ? { setup } : {}),
      });
      await expect(readdir(join(cwd, "runs"))).rejects.toThrow();
    }
  });

  test("a missing params file", async () => {
    await expectUserError(
      ["-j", "nope.json", "--dry-run"],
      /params file .*nope\.json does not exist — pass the right path with -j\/--params/,
    );
  });

  test("invalid JSON in params.json, with line and column", async () => {
    await expectUserError(["-j", "p.json", "--dry-run"], /p\.json: invalid JSON at line 3 column 1/, {
      setup: (cwd) => writeFile(join(cwd, "p.json"), '{\n  "Call": {"A": ["x"]},\n}\n'),
    });
  });

  test.each([
    ['{"Call": {"A": []}}', /Call\.A has no values/],
    ['{"Call": {"A": ["x", 3]}}', /Call\.A\[1\] is not a non-empty string/],
    ['{"Call": ["x"]}', /field "Call" must be an object of parameters/],
    ["[]", /expected an object of fields/],
    ['{"Call": {"A": ["x"]}, "Summary": {"A": ["y"]}}', /parameter "A" is in both Call and Summary/],
  ])("params.json %s", async (text, message) => {
    await expectUserError(["-j", "p.json", "--dry-run"], message, {
      setup: (cwd) => writeFile(join(cwd, "p.json"), text),
    });
  });

  test("a spec that does not exist, does not load, or has the wrong shape", async () => {
    await expectUserError(
      ["--spec", "missing.ts", "-j", PARAMS, "--dry-run"],
      /spec .*missing\.ts does not exist/,
    );
    await expectUserError(
      ["--spec", join(ROOT, "test/fixtures/throwing-spec.ts"), "-j", PARAMS, "--dry-run"],
      /throwing-spec\.ts does not load: boom while loading/,
    );
    await expectUserError(
      ["--spec", join(ROOT, "test/fixtures/bad-shape-spec.ts"), "-j", PARAMS, "--dry-run"],
      /bad-shape-spec\.ts: "prompt" must be a function/,
    );
    // A prompt that throws mid-build: the run had started, so its first line came before.
    const thrown = await runCli(
      ["--spec", join(ROOT, "test/fixtures/prompt-throws-spec.ts"), "-j", PARAMS, "-n", "50", "--dry-run"],
      { cwd: await tempDir() },
    );
    expect(thrown.code).toBe(2);
    expect(thrown.stderr.trim().split("\n").at(-1)).toMatch(
      /^error: spec .*prompt-throws-spec\.ts: prompt\(\) threw for sample \d+: no template for negative calls — fix the spec/,
    );
    expect(thrown.stderr).not.toMatch(/\n\s+at /);
  });

  test("no API key", async () => {
    await expectUserError(["-n", "2", ...offline], /no OpenAI API key — set OPENAI_API_KEY or pass -k/, {
      env: { OPENAI_API_KEY: undefined },
    });
  });

  test("an unreachable base URL fails before anything is built", async () => {
    const cwd = await expectUserError(
      ["-n", "2", ...offline],
      /cannot reach the API at http:\/\/127\.0\.0\.1:9\/v1/,
      { code: 3 },
    );
    await expect(readFile(join(cwd, "dataset.csv"))).rejects.toThrow();
  });

  test("an unwritable output path", async () => {
    await expectUserError(
      ["-n", "2", "-p", "no/such/dir/out.csv", ...offline, "--dry-run"],
      /cannot create .*out\.csv: its folder does not exist/,
    );
  });

  test("an unknown run id, and a corrupt or hand-edited manifest", async () => {
    await expectUserError(
      ["resume", "20990101-000000-zzzz"],
      /no run "20990101-000000-zzzz" in .*runs — run `synthai status`/,
    );
    const setupRun = (manifest: string) => async (cwd: string) => {
      await mkdir(join(cwd, "runs", "20260101-000000-abcd"), { recursive: true });
      await writeFile(join(cwd, "runs", "20260101-000000-abcd", "manifest.json"), manifest);
    };
    await expectUserError(["resume", "abcd"], /manifest\.json is not valid JSON/, {
      setup: setupRun("{oops"),
    });
    await expectUserError(["resume", "abcd"], /manifest\.json is corrupt at (version|id|config)/, {
      setup: setupRun('{"version": 1}'),
    });
  });

  test("synthai --help shows the commands, the main command's flags and what each exit code means", async () => {
    const help = await runCli(["--help"], { cwd: await tempDir() });
    expect(help.code).toBe(0);
    for (const part of [
      "COMMANDS",
      "fake",
      "--samples",
      "--budget",
      "--fill",
      "EXIT CODES",
      "7  the disk refused",
    ])
      expect(help.stdout).toContain(part);
  });

  test("an unknown command, option or argument", async () => {
    await expectUserError(
      ["frobnicate", "x"],
      /unknown command "frobnicate" — the commands are generate, resume, status, /,
    );
    await expectUserError(["--sample", "10"], /unknown option --sample — did you mean --samples\? /);
    await expectUserError(["resme", "x"], /unknown command "resme" — did you mean `synthai resume`\? /);
    await expectUserError(["constructor"], /unknown command "constructor" — the commands are /);
    // Asked for its help, an unknown command is still unknown: not the whole help, exit 0.
    await expectUserError(["resme", "--help"], /unknown command "resme" — did you mean `synthai resume`\? /);
    await expectUserError(
      ["--frobnicate", "10"],
      /unknown option --frobnicate — see `synthai --help` for the options/,
    );
    await expectUserError(["generate", "-n", "3", "extra"], /unexpected argument "extra"/);
    // A subcommand's flag is looked up in its own help, not in generate's.
    await expectUserError(
      ["export", "x", "--delimiter", ";"],
      /unknown option --delimiter — see `synthai export --help` for the options/,
    );
    await expectUserError(
      ["resume", "x", "--budgt", "1"],
      /did you mean --budget\? \(`synthai resume --help` lists/,
    );
  });

  test.each([
    [
      "localhost:8000/v1",
      /--base-url "localhost:8000\/v1" does not start with http:\/\/ or https:\/\/ — give the server's address with its scheme/,
    ],
    ["not a url", /--base-url "not a url" is not a URL/],
    ["http://localhost:99999/v1", /--base-url "http:\/\/localhost:99999\/v1" is not a URL/],
    ["http://localhost:0/v1", /has port 0 — give a port from 1 to 65535/],
  ])("--base-url %s: nothing written", async (url, message) => {
    const cwd = await expectUserError(["-n", "2", "-j", PARAMS, "--base-url", url], message);
    expect(await readdir(cwd)).toEqual([]);
  });

  test.each([
    ["anthropic", "claude-haiku-5-5", "ANTHROPIC_BASE_URL", "notaurl", /is not a URL/],
    ["gemini", "gemini-3-flash", "GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:99999", /is not a URL/],
    ["anthropic", "claude-haiku-5-5", "ANTHROPIC_BASE_URL", "ftp://host", /does not start with http/],
  ])(
    "--provider %s (%s), %s set to %s: one line naming the variable, nothing written",
    async (provider, model, variable, url, why) => {
      const cwd = await expectUserError(
        ["-n", "2", "-j", PARAMS, "--provider", provider, "--model", model, "--no-cache"],
        new RegExp(
          `^error: \\$${variable} "${url.replace(/[.:/]/g, "\\$&")}" ${why.source}.* — set it to the server's address`,
        ),
        { env: { [variable]: url, ANTHROPIC_API_KEY: "test-key", GEMINI_API_KEY: "test-key" } },
      );
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  test.each([
    ["anthropic", "gemini-3-flash", "Anthropic's", "Gemini's"],
    ["together", "claude-haiku-5-5", "Together AI's", "Anthropic's"],
    ["gemini", "gpt-6-luna", "Gemini API's", "OpenAI's"],
    ["openai", "claude-haiku-5-5", "OpenAI's", "Anthropic's"],
  ])(
    "--provider %s --model %s: the model is another vendor's, one line before anything is made",
    async (provider, model, runs, is) => {
      const cwd = await expectUserError(
        [
          "-n",
          "2",
          "-j",
          PARAMS,
          "--provider",
          provider,
          "--model",
          model,
          "--dry-run",
          ...["--list-input-price", "1", "--list-output-price", "1"],
        ],
        new RegExp(
          `^error: --provider ${provider} runs ${runs} models, and ${model} is ${is} — leave --provider out`,
        ),
      );
      expect(await readdir(cwd)).toEqual([]);
    },
  );

  test.each([
    ["--per-row", "3"],
    ["--keep-columns", "a,b"],
    ["--input-sample", "random"],
  ])("%s %s without --input: one line, not ignored", async (flag, value) => {
    const cwd = await expectUserError(
      ["-n", "2", "-j", PARAMS, "--dry-run", flag, value],
      new RegExp(`^error: ${flag} shapes the rows of --input, and none was given — add --input rows\\.csv`),
    );
    expect(await readdir(cwd)).toEqual([]);
  });

  test("a prompt that returns neither a string nor messages, before anything is built", async () => {
    const cwd = await expectUserError(
      ["--spec", join(ROOT, "test/fixtures/bad-prompt-spec.ts"), ...offline, "--dry-run"],
      /bad-prompt-spec\.ts: prompt\(\) returned number for sample 1 — return a string, or a list of messages/,
    );
    expect(await readdir(cwd)).toEqual([]);
  });

  test('params.json without a parameter the spec uses: stopped before building, not sent as "undefined"', async () => {
    const cwd = await expectUserError(
      ["-j", "p.json", "--dry-run"],
      /the spec uses Call\.Conversation, which .*p\.json does not have — add "Conversation" with its values under "Call"/,
      {
        setup: (cwd) =>
          writeFile(
            join(cwd, "p.json"),
            JSON.stringify({
              Call: { Attitude: ["calm"], Problem: ["a bill"], Solved: ["was"], Manner: ["quickly"] },
              Summary: { Extension: ["short"] },
            }),
          ),
      },
    );
    expect(await readdir(cwd)).toEqual(["p.json"]);
  });

  test("--runs-dir that is a file, -p that is a folder", async () => {
    await expectUserError(
      ["-n", "2", ...offline, "--dry-run", "--runs-dir", "runs"],
      /--runs-dir .*runs is a file, not a folder/,
      { setup: (cwd) => writeFile(join(cwd, "runs"), "") },
    );
    await expectUserError(["status", "--runs-dir", "runs"], /--runs-dir .*runs is a file, not a folder/, {
      setup: (cwd) => writeFile(join(cwd, "runs"), ""),
    });
    const cwd = await expectUserError(
      ["-n", "2", ...offline, "--dry-run", "-p", "out"],
      /output .*out is a folder — give the output a file name/,
      { setup: (cwd) => mkdir(join(cwd, "out")) },
    );
    expect(await readdir(cwd)).toEqual(["out"]);
  });

  test("-n so large that the build would fill the disk is refused before writing", async () => {
    const cwd = await expectUserError(
      ["-n", "1e12", ...offline, "--dry-run"],
      /the request files of this run would take about [\d.]+ [TPE]B, and .* has [\d.]+ [KMGT]?B free — ask for fewer samples with -n, pass --runs-dir on a bigger disk, or --yes/,
    );
    expect(await readdir(cwd)).toEqual([]);
  });
});
