// What the commands share: flag groups, the run being driven, exit codes, the connection.
import type { ProviderName } from "../api/providers/index.ts";
import { basename, resolve } from "node:path";
import { defineCommand, parseArgs, type ArgDef, type ArgsDef, type CommandDef } from "citty";
import { EXIT, UserError, cliName, closest, type OptionNamer } from "../errors.ts";
import type { Manifest } from "../run/manifest.ts";
import { madeOf, summarize } from "../run/totals.ts";
import { CHOICES, DEFAULTS, baseUrl, choice, notOneOf } from "./options.ts";
import { setActiveRun } from "./active-run.ts";

export const connectionArgs = {
  "api-key": {
    type: "string",
    alias: "k",
    description: "API key (Default: the provider's variable, $OPENAI_API_KEY for OpenAI)",
    valueHint: "key",
  },
  "base-url": {
    type: "string",
    description: "API base URL (Default: the provider's; $OPENAI_BASE_URL for OpenAI)",
    valueHint: "url",
  },
  "runs-dir": {
    type: "string",
    description: `Folder of run folders (Default: ${DEFAULTS.runsDir})`,
    valueHint: "dir",
  },
} as const satisfies ArgsDef;

/** For a run whose spec module or prompt file was edited since it was made. */
export const acceptChangedArg = {
  "accept-changed-spec": {
    type: "boolean",
    description:
      "Go on with the run's spec module, prompt file or params.json as it is now, though it changed (recorded in the run)",
  },
} as const satisfies ArgsDef;

export const providerArg = {
  provider: {
    type: "enum",
    options: CHOICES.provider.options,
    description: "The batch service: openai, azure, groq, together, … (`synthai providers` lists them)",
    valueHint: "name",
  },
} as const satisfies ArgsDef;

export const datasetArgs = {
  sampling: {
    type: "enum",
    options: CHOICES.sampling.options,
    description:
      `random (with replacement, as the seed), unique (no combination twice) or ` +
      `stratified (each value's share balanced) (Default: ${DEFAULTS.sampling})`,
  },
  params: {
    type: "string",
    alias: "j",
    description: `Parameter JSON: field → parameter → values (Default: ${DEFAULTS.params})`,
    valueHint: "path",
  },
  spec: {
    type: "string",
    description:
      "Dataset spec module (.ts): prompt and parser (Default: the built-in customer-service calls)",
    valueHint: "file.ts",
  },
  locale: {
    type: "string",
    description: `Locale of generated values (faker's: en, de, fr, es, …) (Default: ${DEFAULTS.locale})`,
  },
} as const satisfies ArgsDef;

/** Where a dataset's rows and prompt come from without code: an input file, a prompt file. */
export const inputArgs = {
  input: {
    type: "string",
    description:
      "A CSV (any delimiter), JSONL or Parquet file: each row one sample, in " +
      "order, its columns available to the prompt and written beside the labels",
    valueHint: "file",
  },
  "per-row": {
    type: "string",
    description: "--input: samples per row, each with its own draw of params.json",
    valueHint: "k",
  },
  "keep-columns": {
    type: "string",
    description: "--input: the columns to write to the output (Default: all)",
    valueHint: "a,b",
  },
  prompt: {
    type: "string",
    description:
      "A prompt file (front matter with fields:, system:, schema:; a body with " +
      "{{placeholders}}) instead of a spec module; given again, each further file is a stage",
    valueHint: "file.md",
  },
} as const satisfies ArgsDef;

export const waitArgs = {
  "on-done": {
    type: "string",
    description:
      "Shell command to run when the run ends ($SYNTHAI_RUN_ID, $SYNTHAI_RUN_STATE, $SYNTHAI_OUTPUT are set)",
    valueHint: "command",
  },
  "keep-remote": {
    type: "boolean",
    description:
      "Keep the request, output and error files on the account " +
      "after collecting them (on resume, --no-keep-remote stops it)",
  },
  detach: {
    type: "boolean",
    description: "Submit, print the run id and exit; continue with `synthai resume`",
  },
  "poll-interval": {
    type: "string",
    description: "Seconds between status checks (backs off while nothing changes)",
    valueHint: "seconds",
  },
} as const satisfies ArgsDef;

/** A subcommand whose flags are checked first: citty accepts any flag, and a typo must not run with defaults. */
export function command<T extends ArgsDef>(def: CommandDef<T>): CommandDef<T> {
  const name = (def.meta as { name?: string } | undefined)?.name ?? "generate";
  return defineCommand({
    ...def,
    setup: ({ rawArgs }) => checkArgs(rawArgs, (def.args ?? {}) as ArgsDef, name),
  });
}

/** A command's flags as it declares them (for the library, which takes them by name). */
export function argsOf<T extends ArgsDef>(def: CommandDef<T>): T {
  return def.args as T;
}

export { activeRunId, setActiveRun } from "./active-run.ts";

/** Finds a run by (part of) its id, and remembers it as the one being driven. */
export async function runDirOf(args: { "runs-dir"?: string; run: string }): Promise<string> {
  const { findRunDir } = await import("../run/manifest.ts");
  const runDir = await findRunDir(resolve(args["runs-dir"] ?? DEFAULTS.runsDir), args.run);
  setActiveRun(basename(runDir));
  return runDir;
}

/**
 * Tells scripts what a run made: 4 stopped (budget, cancel; resumable), 6 finished without a
 * single valid sample.
 */
export function exitWhenStopped(manifest: Manifest): void {
  if (manifest.state === "stopped") process.exitCode = EXIT.STOPPED;
  else if (manifest.state === "done") {
    const made = madeOf(summarize(manifest));
    if (made === "nothing") process.exitCode = EXIT.ATTENTION;
    // --fill stopped short of its target by --max-draws: resumable, as a budget stop is.
    else if (made === "short") process.exitCode = EXIT.STOPPED;
  }
}

/**
 * What the flags say of the connection; the provider's key variable and address fill the rest
 * (api/client.ts). An error names an option as `name` says (the CLI's flag, the library's option).
 */
export function connection(
  args: { "api-key"?: string; "base-url"?: string; provider?: string },
  name: OptionNamer = cliName,
) {
  return {
    apiKey: args["api-key"],
    baseURL: baseUrl(args["base-url"], name),
    ...(args.provider ? { provider: choice<ProviderName>("provider", args.provider, name) } : {}),
  };
}

/**
 * A flag that takes one of a list, refused as every choice is (its options and hint) before citty
 * parses the flags: citty's own refusal is English text, which the entry would have to read back.
 */
export function checkChoices(rawArgs: string[], def: ArgsDef): void {
  // Parsed leniently (choices as any text, no argument required): citty refuses the rest later.
  const lenient = Object.fromEntries(
    Object.entries(def).map(([name, arg]) => [
      name,
      arg.type === "enum"
        ? { ...arg, type: "string" }
        : arg.type === "positional"
          ? { ...arg, required: false }
          : arg,
    ]),
  ) as ArgsDef;
  const parsed = parseArgs(rawArgs, lenient) as Record<string, unknown>;
  for (const [name, arg] of Object.entries(def)) {
    if (arg.type !== "enum" || !arg.options?.length) continue;
    const value = parsed[name];
    if (value !== undefined && !arg.options.includes(value as string))
      throw notOneOf(name, String(value), arg.options);
  }
}

/** The help that lists `command`'s flags: a bare `synthai --help` lists generate's. */
const helpOf = (command: string) => `\`synthai ${command === "generate" ? "" : `${command} `}--help\``;

function checkArgs(rawArgs: string[], def: ArgsDef, command: string): void {
  const names = (name: string, arg: ArgDef) => [name, ...[("alias" in arg && arg.alias) || []].flat()];
  const entries = Object.entries(def);
  const positionals = entries.filter(([, a]) => a.type === "positional").length;
  const known = new Set(entries.filter(([, a]) => a.type !== "positional").flatMap(([n, a]) => names(n, a)));
  const flagsWithValue = new Set(
    entries.filter(([, a]) => a.type === "string" || a.type === "enum").flatMap(([n, a]) => names(n, a)),
  );
  let seenPositionals = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") {
      if (++seenPositionals > positionals)
        throw new UserError(`unexpected argument "${arg}"`, `see ${helpOf(command)}`);
      continue;
    }
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    const bare = name.startsWith("no-") && !known.has(name) ? name.slice(3) : name;
    if (!known.has(bare)) {
      const near = closest(
        bare,
        [...known].filter((n) => n.length > 1),
      );
      throw new UserError(
        `unknown option ${arg.split("=")[0]}`,
        near
          ? `did you mean --${near}? (${helpOf(command)} lists the options)`
          : `see ${helpOf(command)} for the options`,
      );
    }
    if (flagsWithValue.has(bare) && !arg.includes("=")) i++;
  }
}
