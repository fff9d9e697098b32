import { describe, expect, test } from "vitest";
import { holds, namesIn, parseCondition } from "../src/dataset/condition.ts";
import { UserError } from "../src/errors.ts";

const sample: Record<string, unknown> = { score: "4", label: "spam", Call: { Attitude: "calm" }, empty: "" };
const lookup = (name: string) =>
  name.split(".").reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], sample);
const check = (text: string) => holds(parseCondition(text, "judge.md: keep"), lookup);

describe("conditions (keep, when)", () => {
  test.each([
    ["score >= 4", true],
    ["score > 4", false],
    ["score == 4.0", true],
    ['label != "spam"', false],
    ["label == 'spam' and score < 5", true],
    ['score < 2 or label == "spam"', true],
    ["not (score >= 4)", false],
    ['Call.Attitude == "calm"', true],
    ["empty", false],
    ["missing > 1", false],
    ["missing != 'x'", true],
    ["label > 2", false],
  ])("%s → %s", (text, expected) => {
    expect(check(text)).toBe(expected);
  });

  test("names: every name it reads, for the check before building", () => {
    expect(namesIn(parseCondition('score >= 4 and (label != "x" or not Call.Attitude)', "x"))).toEqual([
      "score",
      "label",
      "Call.Attitude",
    ]);
  });

  test.each(["score >=", "score >= 4 and", "(score > 1", "score = 4", "score >= 4 4", "require('fs')"])(
    "%s is one error naming where it is, never code",
    (text) => {
      expect(() => parseCondition(text, "judge.md: keep")).toThrow(UserError);
      try {
        parseCondition(text, "judge.md: keep");
      } catch (error) {
        expect((error as UserError).toLine()).toMatch(
          /^error: judge\.md: keep: ".*" is not a condition \(.+\) — write e\.g\./,
        );
        expect((error as UserError).toLine()).not.toContain("\n");
      }
    },
  );
});
