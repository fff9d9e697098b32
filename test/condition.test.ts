import { describe, expect, test } from "vitest";
import { checkTypes, holds, namesIn, parseCondition, whereGiven } from "../src/dataset/condition.ts";
import { UserError } from "../src/errors.ts";

const sample: Record<string, unknown> = {
  score: "4",
  label: "spam",
  Call: { Attitude: "calm" },
  empty: "",
  "Answer_gpt-6-luna": "3",
  "first name": "Ada",
  delta: "-1.5",
  Turn1: "No",
  zip: "007",
  hex: "0x7",
  plus: "+3",
};
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
    // A field named after a model (`-`, `.`), any name between backticks, negative numbers.
    ["Answer_gpt-6-luna >= 3 and Answer_gpt-6-luna < 4", true],
    ["`Answer_gpt-6-luna` == 3", true],
    ['`first name` == "Ada"', true],
    ["delta > -2 and delta <= -1.5", true],
    ["delta >= -1", false],
    ["score>-4", true],
    ["not score == 3", true],
    ["score == 4 and not label == 'x' or missing", true],
    // Quoted is text: a code with leading zeros is not the number; numbers are written as people write them.
    ['zip == "007"', true],
    ['zip == "7"', false],
    ["zip == 7", true],
    ['score == "4.0"', false],
    ["hex == 7", false],
    ['hex == "0x7"', true],
    ["plus == 3", true],
    ['zip != "7"', true],
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

  test.each(["score == 4 == 4", "score >= 4)", "``", "`x` `y`"])("%s is not a condition", (text) => {
    expect(() => parseCondition(text, "judge.md: keep")).toThrow(/is not a condition/);
  });

  test("6,000 or-terms and 10,000-deep nesting parse and evaluate without overflowing the stack", () => {
    const long =
      Array.from({ length: 6000 }, (_, i) => `score == ${i + 100}`).join(" or ") + " or score == 4";
    expect(check(long)).toBe(true);
    expect(namesIn(parseCondition(long, "x"))).toHaveLength(6001);
    const deep = "(".repeat(10_000) + "score >= 4" + ")".repeat(10_000);
    expect(check(deep)).toBe(true);
    expect(check("not ".repeat(10_001) + "label")).toBe(false);
    expect(check("(not ".repeat(10_001) + "empty" + ")".repeat(10_001))).toBe(true);
    const types = () => "integer";
    expect(() => checkTypes(parseCondition(deep, "x"), "x", types)).not.toThrow();
    // An unclosed deep one is the usual one line, the condition shortened in it.
    try {
      parseCondition("(".repeat(10_000) + "score", "judge.md: keep");
      expect.unreachable();
    } catch (error) {
      expect((error as UserError).toLine()).toMatch(
        /^error: judge\.md: keep: "\(+…" is not a condition \(a \( is not closed\)/,
      );
      expect((error as UserError).toLine().length).toBeLessThan(300);
    }
  });

  test('whereGiven: a field with any value at all, "No" and "0" included, but not one missing', () => {
    expect(holds(whereGiven("Turn1"), lookup)).toBe(true);
    expect(holds(whereGiven("empty"), lookup)).toBe(true);
    expect(holds(whereGiven("Turn2"), lookup)).toBe(false);
    expect(holds(whereGiven("Turn1", parseCondition("score > 4", "x")), lookup)).toBe(false);
    expect(namesIn(whereGiven("Turn1", parseCondition("score > 4", "x")))).toEqual(["Turn1", "score"]);
  });

  describe("a field its schema declares text or true/false compared with a number is refused", () => {
    const declared: Record<string, string> = {
      Critique: "string",
      "Final critique": "string",
      Score: "integer",
      Fine: "boolean",
    };
    const checked = (text: string) =>
      checkTypes(parseCondition(text, "x"), "judge.md: keep", (n) => declared[n]);
    test.each([
      [
        "Critique >= 4",
        /^error: judge\.md: keep compares "Critique", a field of type string in its schema, with a number — compare it with text/,
      ],
      ["-1 < Critique", /"Critique", a field of type string/],
      ["Score > 2 and not (Critique == 4)", /"Critique", a field of type string/],
      ["Critique != Score", /"Critique", a field of type string/],
      [
        "`Final critique` < 2",
        /"Final critique", .* — compare it with text \(`Final critique` == "…"\), or, if it holds a number, declare it type: number/,
      ],
      [
        "Fine == 1",
        /"Fine", a field of type boolean in its schema, with a number — compare it with true or false/,
      ],
    ])("%s", (text, message) => {
      expect(() => checked(text)).toThrow(UserError);
      try {
        checked(text);
      } catch (error) {
        expect((error as UserError).toLine()).toMatch(message);
      }
    });
    test.each(['Critique == "fine"', "Score >= -1", "Fine == true", "Label >= 4", "Critique or Score > 1"])(
      "%s is fine",
      (text) => expect(() => checked(text)).not.toThrow(),
    );
  });
});
