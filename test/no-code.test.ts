import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, expectOneLineError, runCli, tempDir } from "./helpers.ts";

/**
 * Every file synthai is given (prompt files, params, inputs) is parsed as data. Each case below
 * holds code that, were it run, would write `pwned` into the working folder.
 */
const WRITE_PWNED = `require("fs").writeFileSync("pwned", "ran")`;
const FIELDS_AFTER_CODE = `{ fields: (${WRITE_PWNED}, ["Question", "Answer"]) }`;
const BODY = "Ask about {{Attitude}}. Write [Question] then [Answer].\n";

async function expectNothingRan(files: Record<string, string>, args: string[], message: RegExp) {
  const cwd = await tempDir();
  for (const [name, content] of Object.entries(files)) await writeFile(join(cwd, name), content);
  const before = await readdir(cwd);
  const result = await runCli(args, { cwd });
  expect(existsSync(join(cwd, "pwned")), "the file's code ran").toBe(false);
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expectOneLineError(result.stderr, message);
  expect(await readdir(cwd)).toEqual(before);
}

describe("a file given to synthai never runs code", () => {
  test.each(["js", "javascript", "JS", " js", "coffee", "cson"])(
    "front matter opened with ---%s is refused by name before anything is parsed",
    async (language) => {
      await expectNothingRan(
        { "evil.md": `---${language}\n${FIELDS_AFTER_CODE}\n---\n${BODY}` },
        ["preview", "--prompt", "evil.md", "-j", PARAMS],
        new RegExp(
          `prompt file .*evil\\.md: its front matter is marked "${language.trim().toLowerCase()}", ` +
            `but front matter is read as data only, never run — open it with a plain --- line`,
        ),
      );
    },
  );

  test("the same for a run, not only a preview: nothing is built", async () => {
    await expectNothingRan(
      { "evil.md": `---javascript\n${FIELDS_AFTER_CODE}\n---\n${BODY}` },
      ["--prompt", "evil.md", "-j", PARAMS, "--dry-run", "--base-url", "http://127.0.0.1:9/v1"],
      /front matter is marked "javascript"/,
    );
  });

  test("YAML front matter with a code tag (!!js/function) is refused, not evaluated", async () => {
    await expectNothingRan(
      {
        "evil.md": `---\nfields: [Question, Answer]\nsystem: !!js/function 'function () { ${WRITE_PWNED} }'\n---\n${BODY}`,
      },
      ["preview", "--prompt", "evil.md", "-j", PARAMS],
      /prompt file .*evil\.md: its front matter does not parse \(.*js\/function.*\) — write it as YAML/,
    );
  });

  test("a YAML alias bomb in front matter is refused in one line; a few aliases still read", async () => {
    const levels = ["a", "b", "c", "d", "e", "f"].map((name, i, all) =>
      i === 0
        ? `  x0: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`
        : `  x${i}: &${name} [${Array(9)
            .fill(`*${all[i - 1]}`)
            .join(",")}]`,
    );
    const bomb = [
      "---",
      "fields: [Question, Answer]",
      "schema:",
      "  type: object",
      ...levels,
      "  properties: {Question: {type: string, enum: *f}, Answer: {type: string}}",
      "---",
      BODY,
    ].join("\n");
    await expectNothingRan(
      { "bomb.md": bomb },
      ["--prompt", "bomb.md", "-j", PARAMS, "--dry-run", "--base-url", "http://127.0.0.1:9/v1"],
      /prompt file .*bomb\.md: its front matter holds over 1,000,000 values and characters once its YAML aliases \(\*name\) are expanded — write the values out/,
    );
    const cwd = await tempDir();
    const schema = "schema: {type: object, properties: {Question: &text {type: string}, Answer: *text}}";
    await writeFile(join(cwd, "q.md"), `---\nfields: [Question, Answer]\n${schema}\n---\n${BODY}`);
    const result = await runCli(["preview", "--prompt", "q.md", "-j", PARAMS, "-n", "1"], { cwd });
    expect(result.code, result.stderr).toBe(0);
  });

  test("---json and ---yaml front matter are data, and work", async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, "q.md"), `---json\n{ "fields": ["Question", "Answer"] }\n---\n${BODY}`);
    await writeFile(join(cwd, "y.md"), `---yaml\nfields: [Question, Answer]\n---\n${BODY}`);
    for (const file of ["q.md", "y.md"]) {
      const result = await runCli(["preview", "--prompt", file, "-j", PARAMS, "-n", "1"], { cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Ask about \w/);
    }
  });

  test("a params file is JSON: code in it is a parse error, not a call", async () => {
    await expectNothingRan(
      { "params.json": `{ "Call": { "Attitude": [(${WRITE_PWNED}, "calm")] } }` },
      ["preview", "-j", "params.json"],
      /params\.json/,
    );
  });

  test("an input row that looks like code or a template is only text in the prompt", async () => {
    const cwd = await tempDir();
    await writeFile(join(cwd, "rows.jsonl"), JSON.stringify({ text: `{{#x}}${WRITE_PWNED}{{/x}}` }) + "\n");
    await writeFile(join(cwd, "p.md"), "---\nfields: [Label]\n---\nLabel: {{text}}. Write [Label] first.\n");
    const result = await runCli(["preview", "--input", "rows.jsonl", "--prompt", "p.md", "-n", "1"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Label: {{#x}}${WRITE_PWNED}{{/x}}.`);
    expect(existsSync(join(cwd, "pwned"))).toBe(false);
  });
});
