// What synthai prints for a person reads at 80 columns: help in a pipe or a file, and stats of two runs.
import { defineCommand } from "citty";
import { describe, expect, test } from "vitest";
import { formatStats, type RunStats } from "../src/views/stats.ts";
import { columns, helpStyle, renderHelp, wrap } from "../src/views/help.ts";
import { runCli, tempDir } from "./helpers.ts";

const ESC = "\x1b";
const widest = (text: string) => Math.max(...text.split("\n").map((line) => line.length));

/** A run's stats with wide figures: four- and five-digit word counts, a long label value. */
function statsOf(scale: number): RunStats {
  return {
    samples: 12_000 * scale,
    texts: [
      {
        field: "Conversation",
        samples: 12_000 * scale,
        words: { mean: 1234.4 * scale, p50: 1200, p90: 4567 * scale, max: 12_345 * scale },
        distinct: [0.123, 0.456, 0.789],
        compression: 3.21,
        repeated8: { share: 0.1234, sampled: 20_000 },
        selfBleu: { score: 0.321, sampled: 500 },
      },
    ],
    labels: [
      {
        label: "Attitude",
        unbalanced: scale > 1,
        shares: [
          { value: "positive", count: 10, share: 0.333, expected: 0.333 },
          {
            value: "a value of a label that is far longer than any column has room for",
            count: 5,
            share: 0.1,
          },
        ],
      },
    ],
    scores: [
      {
        field: "Score",
        counts: { "1": 3, "5": 12_000 },
        keepRate: { Attitude: { positive: 0.5, "a value of a label that is far longer than a column": 1 } },
      },
    ],
    nearDuplicates: { share: 0.0123, sampled: 20_000 },
  };
}

describe("synthai stats A B", () => {
  const ids = ["1207-023404-fomu", "1207-025215-zrll"];
  const text = formatStats([
    { id: ids[0]!, stats: statsOf(1) },
    { id: ids[1]!, stats: statsOf(2) },
  ]);
  const lines = text.split("\n");

  test("fits 80 columns, with both run ids whole and apart", () => {
    expect(widest(text)).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(new RegExp(`\\s${ids[0]}\\s+${ids[1]}$`));
  });

  test("every figure is whole, and each run's figures end in its id's column", () => {
    const words = lines.find((l) => l.includes("words (mean / p90 / max)"))!;
    expect(words).toMatch(/\s1234 \/ 4567 \/ 12345\s+2469 \/ 9134 \/ 24690$/);
    const idEnds = ids.map((id) => lines[0]!.indexOf(id) + id.length);
    for (const line of lines.filter((l) => /\d$/.test(l))) {
      const figures = [...line.matchAll(/(\S+(?: \S+)*)(?=\s{2,}|$)/g)].slice(-2);
      expect(figures.map((m) => m.index! + m[0].length)).toEqual(idEnds);
    }
    expect(text).toContain("8-grams repeated across samples");
    expect(text).toMatch(/12\.3% of 20000\s+12\.3% of 20000/);
  });
});

describe("--help", () => {
  test("in a pipe: no colour, no line over 80 columns, for synthai and each command", async () => {
    const cwd = await tempDir();
    // citty leaves colour out under a test runner or CI: these are as a user's shell has them.
    const env = { TEST: undefined, CI: undefined, VITEST: undefined, NODE_ENV: undefined };
    for (const args of [["--help"], ["export", "--help"], ["status", "--help"], ["generate", "-h"]]) {
      const help = await runCli(args, { cwd, env });
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout, args.join(" ")).not.toContain(ESC);
      expect(widest(help.stdout), args.join(" ")).toBeLessThanOrEqual(80);
    }
    // bin/synthai answers --help in its own process: the same.
    const launched = await runCli(["--help"], { cwd, env, asExecutable: true });
    expect(launched.code, launched.stderr).toBe(0);
    expect(launched.stdout).not.toContain(ESC);
    expect(widest(launched.stdout)).toBeLessThanOrEqual(80);
    expect(launched.stdout).toMatch(/EXIT CODES\n\n {2}0 {2}done/);
  });

  test("colour on a terminal only, and never with NO_COLOR; the terminal's width, else 80", () => {
    expect(helpStyle({ isTTY: true, columns: 120 }, {})).toEqual({ width: 120, colour: true });
    expect(helpStyle({ isTTY: true, columns: 120 }, { NO_COLOR: "1" }).colour).toBe(false);
    expect(helpStyle({ isTTY: true, columns: 120 }, { NO_COLOR: "true" }).colour).toBe(false);
    expect(helpStyle({ isTTY: true, columns: 120 }, { TERM: "dumb" }).colour).toBe(false);
    expect(helpStyle({ isTTY: false, columns: 200 }, {})).toEqual({ width: 80, colour: false });
    expect(helpStyle({}, {})).toEqual({ width: 80, colour: false });
  });

  test("wrapped at the width given, names in colour on a terminal", async () => {
    const cmd = defineCommand({
      meta: { name: "demo", description: "A command with a long description. ".repeat(4) },
      args: {
        run: { type: "positional" as const, description: "Run id", required: true },
        "a-rather-long-option-name": {
          type: "enum",
          options: ["first", "second", "third", "fourth", "fifth", "sixth"],
          description: "An option whose meaning takes more words than one line of a narrow terminal holds.",
        },
      },
    });
    const coloured = await renderHelp(cmd, undefined, { width: 40, colour: true });
    expect(coloured).toContain(`${ESC}[36m--a-rather-long-option-name`);
    const plain = coloured.replace(/\x1b\[[\d;]*m/g, "");
    expect(plain).toBe(await renderHelp(cmd, undefined, { width: 40, colour: false }));
    expect(widest(plain)).toBeLessThanOrEqual(40);
    expect(plain).toMatch(/USAGE demo \[OPTIONS\] <RUN>/);
    expect(plain.replace(/\s+/g, " ")).toContain(
      "An option whose meaning takes more words than one line of a narrow terminal holds.",
    );
  });

  test("wrap and columns: lines within the width, a long list of choices broken after a bar", () => {
    expect(wrap("one two three four", 9)).toEqual(["one two", "three", "four"]);
    expect(wrap("<a|bb|ccc|dddd>", 8)).toEqual(["<a|bb|", "ccc|", "dddd>"]);
    const laid = columns(
      [
        ["-n", "How many samples to make, counted after every stage when filling"],
        ["--an-option-wider-than-a-third", "Its meaning goes on the line below"],
      ],
      { width: 40, colour: false },
    );
    // The meanings start in one column, a third of the way in; the wide name has its own line.
    const column = laid[0]!.indexOf("How");
    expect(column).toBe(2 + Math.floor(40 / 3) + 2);
    expect(laid[1]!.search(/\S/)).toBe(column);
    expect(laid).toContain("  --an-option-wider-than-a-third");
    expect(laid[laid.indexOf("  --an-option-wider-than-a-third") + 1]).toBe(
      `${" ".repeat(column)}Its meaning goes on the`,
    );
    expect(Math.max(...laid.map((l) => l.length))).toBeLessThanOrEqual(40);
  });
});
