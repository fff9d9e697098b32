// The library's options are the CLI's flags, by name: a command's flag table (its citty args) is
// the one list of what it takes, and this turns `{ samples: 5, maxTokens: 300 }` into the flags
// `--samples 5 --max-tokens 300` that the command parses, checks and runs as it does its own.
import type { ArgDef, ArgsDef, ParsedArgs } from "citty";
import { UserError, closest } from "../errors.ts";
import type { OptionNamer } from "./options.ts";

/** Flags whose library name says its unit, or that a list gives. */
const RENAMED = {
  budget: "budgetUsd",
  "base-url": "baseURL",
  "poll-interval": "pollIntervalSeconds",
  prompt: "prompts",
} as const;

/** Flags that take a number, which the library takes as a number. */
export const NUMBER_FLAGS = [
  "samples",
  "batches",
  "budget",
  "seed",
  "poll-interval",
  "max-tokens",
  "temperature",
  "max-attempts",
  "max-draws",
  "input-price",
  "cached-input-price",
  "output-price",
  "list-input-price",
  "list-output-price",
  "max-in-flight",
  "max-enqueued-tokens",
  "concurrency",
  "rpm",
  "tpm",
  "per-row",
  "pilot",
  "top-up",
  "dedup-threshold",
] as const;

/** A flag given again for each value; the library takes a list. */
const LIST_FLAGS = ["prompt"] as const;

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<Camel<Tail>>}`
  : S;
type NameOf<F extends string> = F extends keyof typeof RENAMED ? (typeof RENAMED)[F] : Camel<F>;
type ValueOf<F extends string, D> = F extends (typeof LIST_FLAGS)[number]
  ? string[]
  : F extends (typeof NUMBER_FLAGS)[number]
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
 * A library call's options as its command's flags (and the command line a repeated flag needs);
 * an option the command has no flag for, or a value of the wrong type, is one UserError naming
 * it. `own` are the call's options that are not flags (callbacks), left to the caller.
 */
export function flagsOf<T extends ArgsDef>(
  call: string,
  def: T,
  options: Record<string, unknown>,
  own: string[] = [],
): { args: Partial<ParsedArgs<T>>; rawArgs: string[] } {
  const byName = new Map(
    Object.entries(def)
      .filter(([, arg]) => arg.type !== "positional")
      .map(([flag, arg]) => [optionName(flag), { flag, arg }]),
  );
  const args: Record<string, string | boolean> = {};
  const rawArgs: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || own.includes(name)) continue;
    const known = byName.get(name);
    if (!known) {
      const near = closest(name, [...byName.keys()]);
      throw new UserError(
        `${call}() has no option "${name}"`,
        near ? `did you mean ${near}?` : `it takes ${[...byName.keys(), ...own].join(", ")}`,
      );
    }
    const given = flagValue(name, known.flag, known.arg, value);
    if (Array.isArray(given)) {
      rawArgs.push(...given.flatMap((v) => [`--${known.flag}`, v]));
      if (given[0] !== undefined) args[known.flag] = given[0];
    } else args[known.flag] = given;
  }
  return { args: args as Partial<ParsedArgs<T>>, rawArgs };
}

/** An option's value as its flag's (text, or true/false), checked to be of the option's type. */
function flagValue(name: string, flag: string, arg: ArgDef, value: unknown): string | boolean | string[] {
  const wrong = (what: string, example: string) =>
    new UserError(`${name} must be ${what}, got ${JSON.stringify(value)}`, `for example ${name}: ${example}`);
  if ((LIST_FLAGS as readonly string[]).includes(flag)) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
      throw wrong("a list of files", '["write.md", "judge.md"]');
    return value;
  }
  if ((NUMBER_FLAGS as readonly string[]).includes(flag)) {
    if (typeof value !== "number") throw wrong("a number", "10");
    return String(value);
  }
  if (arg.type === "boolean") {
    if (typeof value !== "boolean") throw wrong("true or false", "true");
    return value;
  }
  if (typeof value !== "string") throw wrong("text", '"…"');
  return value;
}
