// One table of exit codes, and the entry's own check of a flag's choices: plain functions, no process.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { EXIT, UserError } from "../src/index.ts";
import { EXIT_MEANINGS } from "../src/errors.ts";
import { checkChoices, exitWhenStopped } from "../src/commands/shared.ts";
import { generateArgs } from "../src/commands/generate.ts";
import { statusExitCode } from "../src/views/status.ts";
import type { RunSummary } from "../src/run/totals.ts";
import type { Manifest } from "../src/run/manifest.ts";
import { ROOT } from "./helpers.ts";

describe("exit codes", () => {
  test("the library's UserError carries a code of the table; bad input is USAGE (2)", () => {
    expect(new UserError("x").exitCode).toBe(EXIT.USAGE);
    expect(EXIT.USAGE).toBe(2);
    expect(new UserError("x", "y", EXIT.SERVICE).exitCode).toBe(3);
  });

  test("--help's list names each code once, from the same table", () => {
    const codes = EXIT_MEANINGS.map(([code]) => code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.sort()).toEqual(
      Object.values(EXIT)
        .filter((c) => c !== EXIT.INTERRUPTED)
        .sort(),
    );
  });

  test("status <run> tells cron jobs: done, under way, needs attention", () => {
    const summary = (state: string, givenUp = 0, more = {}) =>
      ({ state, givenUp, valid: 10, ...more }) as unknown as RunSummary;
    expect(statusExitCode(summary("done"))).toBe(EXIT.DONE);
    expect(statusExitCode(summary("done", 1))).toBe(EXIT.ATTENTION);
    // Nothing valid, or --fill stopped short of its target by --max-draws.
    expect(statusExitCode(summary("done", 0, { valid: 0 }))).toBe(EXIT.ATTENTION);
    expect(statusExitCode(summary("done", 0, { kept: 5, fillTarget: 10 }))).toBe(EXIT.ATTENTION);
    expect(statusExitCode(summary("done", 0, { kept: 10, fillTarget: 10 }))).toBe(EXIT.DONE);
    expect(statusExitCode(summary("running"))).toBe(EXIT.UNDER_WAY);
    expect(statusExitCode(summary("stopped"))).toBe(EXIT.ATTENTION);
  });

  test("a stopped run exits STOPPED (4)", () => {
    const before = process.exitCode;
    try {
      exitWhenStopped({ state: "stopped" } as Manifest);
      expect(process.exitCode).toBe(EXIT.STOPPED);
    } finally {
      process.exitCode = before;
    }
  });
});

describe("a flag's choices, checked before citty parses", () => {
  test("a value not in the list is one line with the options and the flag's hint", () => {
    const refused = (() => {
      try {
        checkChoices(["-n", "3", "--mode", "fast"], generateArgs);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(UserError);
    expect((refused as UserError).toLine()).toBe(
      'error: --mode must be one of batch, sync, got "fast" — batch: the Batch API at half price; sync: direct requests',
    );
    expect((refused as UserError).exitCode).toBe(EXIT.USAGE);
  });

  test("the --flag=value form is read as citty reads it; a value of the list passes", () => {
    expect(() => checkChoices(["--endpoint=chat", "--format", "jsonl"], generateArgs)).not.toThrow();
    expect(() => checkChoices(["--endpoint=rpc"], generateArgs)).toThrow(
      /--endpoint must be one of chat, responses/,
    );
  });
});

describe("one table of exit codes, used everywhere in src/", () => {
  /** Every `new UserError(…, …, <number>)` and `exitCode = <number>` of src/, by file and line. */
  function bareExitCodes(dir: string): string[] {
    const found: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
      const path = join(entry.parentPath, entry.name);
      const file = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true);
      const at = (node: ts.Node) =>
        `${relative(ROOT, path)}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;
      const visit = (node: ts.Node): void => {
        if (ts.isNewExpression(node) && node.expression.getText(file) === "UserError") {
          const code = node.arguments?.[2];
          if (code && ts.isNumericLiteral(code)) found.push(at(code));
        }
        if (
          ts.isBinaryExpression(node) &&
          node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
          /exitCode$/.test(node.left.getText(file)) &&
          ts.isNumericLiteral(node.right)
        )
          found.push(at(node.right));
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
    return found;
  }

  test("no UserError or exit code in src/ is a bare number: each names its EXIT entry", () => {
    expect(bareExitCodes(join(ROOT, "src"))).toEqual([]);
  });
});
