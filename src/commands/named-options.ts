// The library's options are the CLI's flags, by name: a command's flag table (its citty args) is
// the one list of what it takes. Both ways in end as the same typed options (`{ samples: 5,
// maxTokens: 300 }`): the library's values checked as they are (optionsOf), the CLI's flags with
// their text parsed into numbers (optionsOfFlags); each error names the option as its caller wrote it.
import type { ArgDef, ArgsDef } from "citty";
import { UserError, closest } from "../errors.ts";
import type { OptionNamer } from "../errors.ts";

/** Flags whose library name says its unit, or that a list gives. */
const RENAMED = {
  budget: "budgetUsd",
  "base-url": "baseURL",
  "poll-interval": "pollIntervalSeconds",
  prompt: "prompts",
} as const;

/** What a number must be: a whole one, above 0, within bounds. */
export interface NumberCheck {
  integer?: boolean;
  positive?: boolean;
  min?: number;
  max?: number;
  /** What the number is, said whole whatever is wrong with it, and an example of one. */
  said?: { what: string; example: number };
}

/**
 * The flags that take a number, each with what it must be: the CLI parses their text, the library
 * takes numbers, and both edges check them here (`short`: the flag's one-letter alias, for errors).
 */
export const NUMBERS = {
  samples: { short: "n", integer: true, positive: true },
  batches: { short: "b", integer: true, positive: true },
  budget: { short: "l", positive: true },
  seed: { integer: true, min: 0 },
  "poll-interval": { positive: true },
  "max-tokens": { integer: true, positive: true },
  temperature: { min: 0 },
  "max-attempts": { integer: true, positive: true },
  "max-draws": { integer: true, positive: true },
  "input-price": { min: 0 },
  "cached-input-price": { min: 0 },
  "output-price": { min: 0 },
  "list-input-price": { min: 0 },
  "list-output-price": { min: 0 },
  "max-in-flight": { integer: true, positive: true },
  "max-enqueued-tokens": { integer: true, positive: true },
  concurrency: { integer: true, positive: true },
  rpm: { positive: true },
  tpm: { positive: true },
  "per-row": { integer: true, positive: true },
  pilot: { integer: true, positive: true },
  "top-up": { integer: true, positive: true },
  "dedup-threshold": {
    positive: true,
    max: 1,
    said: { what: "a similarity above 0 and at most 1", example: 0.9 },
  },
} as const satisfies Record<string, NumberCheck & { short?: string }>;

type NumberFlag = keyof typeof NUMBERS;
/** Flags that take a number, which the library takes as a number. */
export const NUMBER_FLAGS = Object.keys(NUMBERS) as NumberFlag[];

/** A number flag as the CLI's errors name it: `-n/--samples`, `--max-tokens`. */
export function flagLabel(flag: string): string {
  const short = (NUMBERS as Record<string, { short?: string }>)[flag]?.short;
  return short ? `-${short}/--${flag}` : `--${flag}`;
}

/** A number as its option must be, or the one line that says what it must be (`label` as the caller wrote it). */
export function checkNumber(n: number, label: string, check: NumberCheck, shown = String(n)): number {
  const fault = faultOf(n, check, shown);
  if (!fault) return n;
  // A flag's example is a command line's (`-n 10`), an option's an object's (`samples: 10`).
  const example = label.startsWith("-") ? label.split("/")[0] : `${label}:`;
  if (check.said)
    throw new UserError(
      `${label} must be ${check.said.what}, got ${shown}`,
      `for example ${example} ${check.said.example}`,
    );
  throw new UserError(
    `${label} must be ${fault.must}, got ${fault.got}`,
    `for example ${example} ${fault.example}`,
  );
}

/** What is wrong with a number for its check, if anything: what it must be, what it is, an example. */
function faultOf(
  n: number,
  check: NumberCheck,
  shown: string,
): { must: string; got: string; example: number } | undefined {
  const got = String(n);
  if (!Number.isFinite(n) || (check.integer && !Number.isInteger(n)))
    return { must: check.integer ? "a whole number" : "a number", got: shown, example: 10 };
  if (check.positive && n <= 0) return { must: "greater than 0", got, example: 10 };
  if (check.min !== undefined && n < check.min)
    return { must: `at least ${check.min}`, got, example: check.min };
  if (check.max !== undefined && n > check.max)
    return { must: `at most ${check.max}`, got, example: check.max };
  return undefined;
}

/** A flag given again for each value; the library takes a list. */
const LIST_FLAGS = ["prompt"] as const;

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<Camel<Tail>>}`
  : S;
type NameOf<F extends string> = F extends keyof typeof RENAMED ? (typeof RENAMED)[F] : Camel<F>;
type ValueOf<F extends string, D> = F extends (typeof LIST_FLAGS)[number]
  ? string[]
  : F extends NumberFlag
    ? number
    : D extends { type: "boolean" }
      ? boolean
      : string;

/** A command's flags as library options: each by its name (`maxTokens`), typed as its value. */
export type NamedOptions<T extends ArgsDef> = {
  [F in keyof T & string as T[F] extends { type: "positional" } ? never : NameOf<F>]?: ValueOf<F, T[F]>;
};

/** The library's name of a flag: `max-tokens` → `maxTokens`, `budget` → `budgetUsd`. */
export function optionName(flag: string): string {
  return (
    (RENAMED as Record<string, string>)[flag] ??
    flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
  );
}

/** How the library's errors name an option: as its caller wrote it (`samples`, not `-n/--samples`). */
export const libraryName: OptionNamer = (flag) => optionName(flag.replace(/^.*--/, ""));

/**
 * A library call's options, checked as they are: an option the command has no flag for, a value
 * of the wrong type, or a number its flag would refuse is one UserError naming the option as the
 * caller wrote it. `own` are the call's options that are not flags (callbacks), left to the caller.
 */
export function optionsOf<T extends ArgsDef>(
  call: string,
  def: T,
  options: Record<string, unknown>,
  own: string[] = [],
): NamedOptions<T> {
  if (options === null || typeof options !== "object" || Array.isArray(options))
    throw new UserError(`${call}() takes its options as an object`, `e.g. ${call}({ … }), or none`);
  const byName = new Map(
    Object.entries(def)
      .filter(([, arg]) => arg.type !== "positional")
      .map(([flag, arg]) => [optionName(flag), { flag, arg }]),
  );
  const typed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    // The library's own options are callbacks: one that is not a function would fail mid-run, after paying.
    if (own.includes(name)) {
      if (typeof value !== "function")
        throw new UserError(
          `${name} must be a function, got ${JSON.stringify(value)}`,
          `for example ${name}: (${name === "onLog" ? "line" : "progress"}) => …`,
        );
      continue;
    }
    const known = byName.get(name);
    if (!known) {
      const near = closest(name, [...byName.keys()]);
      throw new UserError(
        `${call}() has no option "${name}"`,
        near ? `did you mean ${near}?` : `it takes ${[...byName.keys(), ...own].join(", ")}`,
      );
    }
    checkType(name, known.flag, known.arg, value);
    const check = (NUMBERS as Record<string, NumberCheck>)[known.flag];
    typed[name] = check ? checkNumber(value as number, name, check) : value;
  }
  return typed as NamedOptions<T>;
}

/**
 * The CLI's flags (citty's text) as the same options: a number flag's text parsed and checked (an
 * error names the flag: `-n/--samples`), and every `--prompt` in a list (citty keeps only the last
 * of a repeated flag, so they are read from the command line itself).
 */
export function optionsOfFlags(
  args: Record<string, unknown>,
  rawArgs: string[] = [],
): Record<string, unknown> {
  const typed: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(args)) {
    // citty also gives each flag by its camelCase name, and `_` for the positionals: flags are kebab-case.
    if (value === undefined || flag === "_" || /[A-Z]/.test(flag)) continue;
    const check = (NUMBERS as Record<string, NumberCheck>)[flag];
    if (check && value === "") continue;
    typed[optionName(flag)] = check
      ? checkNumber(Number(value), flagLabel(flag), check, JSON.stringify(String(value)))
      : value;
  }
  const prompts = promptFlags(rawArgs);
  if (prompts.length || typeof args.prompt === "string")
    typed.prompts = prompts.length ? prompts : [args.prompt];
  return typed;
}

function promptFlags(rawArgs: string[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (arg === "--prompt" && rawArgs[i + 1] !== undefined) found.push(rawArgs[++i]!);
    else if (arg.startsWith("--prompt=")) found.push(arg.slice("--prompt=".length));
  }
  return found;
}

/** An option's value, checked to be of the option's type. */
function checkType(name: string, flag: string, arg: ArgDef, value: unknown): void {
  const wrong = (what: string, example: string) =>
    new UserError(`${name} must be ${what}, got ${JSON.stringify(value)}`, `for example ${name}: ${example}`);
  if ((LIST_FLAGS as readonly string[]).includes(flag)) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
      throw wrong("a list of files", '["write.md", "judge.md"]');
  } else if (flag in NUMBERS) {
    if (typeof value !== "number") throw wrong("a number", "10");
  } else if (arg.type === "boolean") {
    if (typeof value !== "boolean") throw wrong("true or false", "true");
  } else if (typeof value !== "string") throw wrong("text", '"…"');
}
