// The command line as a function: arguments in, output written, an exit code out. The entry
// (src/synthai.ts) adds what belongs to a process (its flags, signals, the launcher); the tests run
// commands through here in their own process where no process of its own is needed.
import { defineCommand, runCommand, runMain, type ArgsDef, type CommandDef } from "citty";
import { VERSION } from "../run/version.ts";
import { EXIT, EXIT_MEANINGS, UserError, closest, redact } from "../errors.ts";
import { activeRunId, setActiveRun } from "./active-run.ts";
import { COMMANDS, type CommandName } from "./index.ts";

/** Each command's module, loaded only when it runs (a table, so that every tool sees each import). */
const MODULES: Record<CommandName, () => Promise<{ default: CommandDef<any> }>> = {
  generate: () => import("./generate.ts"),
  resume: () => import("./resume.ts"),
  status: () => import("./status.ts"),
  inspect: () => import("./inspect.ts"),
  report: () => import("./report.ts"),
  stats: () => import("./stats.ts"),
  preview: () => import("./preview.ts"),
  init: () => import("./init.ts"),
  import: () => import("./import.ts"),
  export: () => import("./export.ts"),
  cancel: () => import("./cancel.ts"),
  abandon: () => import("./abandon.ts"),
  gc: () => import("./gc.ts"),
  cache: () => import("./cache.ts"),
  models: () => import("./models.ts"),
  providers: () => import("./providers.ts"),
  fake: () => import("./fake.ts"),
};
const load = (name: string) => () => MODULES[name as CommandName]().then((module) => module.default);
const subCommands = Object.fromEntries(Object.keys(COMMANDS).map((name) => [name, load(name)]));
const meta = {
  name: "synthai",
  version: VERSION,
  description: "Synthetic, labelled datasets through the OpenAI Batch API",
};
const main = defineCommand({ meta, subCommands });
/** For the list in `synthai --help`: each command's line, without loading any of them. */
const listed = defineCommand({
  meta,
  subCommands: Object.fromEntries(
    Object.entries(COMMANDS).map(([name, description]) => [name, { meta: { name, description } }]),
  ),
});

const EXIT_CODES = EXIT_MEANINGS.map(([code, meaning]) => [String(code), meaning] as [string, string]);
const HELP_OR_VERSION = ["-h", "--help", "-v", "--version"];

/** `synthai <args>`, as typed: a bare `synthai -n 10` means `synthai generate -n 10`, as the seed's single command did. */
export function withCommand(args: string[]): string[] {
  if (args[0] && !args[0].startsWith("-")) return args;
  return HELP_OR_VERSION.includes(args[0] ?? "") ? args : ["generate", ...args];
}

/**
 * Runs one command. Returns the exit code of a failure, its one line written to stderr; on
 * success undefined (the command may have set `process.exitCode`, as `status` does).
 */
export async function cli(args: string[]): Promise<number | undefined> {
  const rawArgs = withCommand(args);
  setActiveRun(undefined);
  // `synthai <typo> --help` is the unknown command's one line, not the whole help and exit 0.
  const known = rawArgs[0]!.startsWith("-") || Object.hasOwn(subCommands, rawArgs[0]!);
  if (!known) return fail(new UserError(...unknownCommand(rawArgs[0]!)));
  if (rawArgs.length === 1 && (rawArgs[0] === "-h" || rawArgs[0] === "--help")) {
    // The commands, then the flags of the one a bare `synthai` runs, then what exit codes mean.
    const { helpStyle, renderHelp } = await import("../views/help.ts");
    const style = helpStyle();
    const generate = await load("generate")();
    const flags = await renderHelp(generate, main, style, {
      described: false,
      more: [{ title: "EXIT CODES", rows: EXIT_CODES }],
    });
    process.stdout.write(`${await renderHelp(listed, undefined, style)}\n\n${flags}\n`);
  } else if (
    rawArgs.some((arg) => arg === "-h" || arg === "--help") ||
    HELP_OR_VERSION.includes(rawArgs[0]!)
  ) {
    // A command's help, laid out for a terminal or a pipe (views/help.ts); --version needs none of it.
    type Help = Parameters<typeof import("../views/help.ts").renderHelp>;
    const showUsage = async (cmd: Help[0], parent?: Help[1]) => {
      const { helpStyle, renderHelp } = await import("../views/help.ts");
      process.stdout.write(`${await renderHelp(cmd, parent, helpStyle())}\n`);
    };
    await runMain(main, { rawArgs, showUsage });
  } else {
    try {
      await runOne(rawArgs);
    } catch (error) {
      return fail(error);
    }
  }
  return undefined;
}

/** Writes what went wrong in one line, the keys taken out; returns its exit code. */
function fail(error: unknown): number {
  const [line, code] = failureLine(error);
  process.stderr.write(`${redact(line, [process.env.OPENAI_API_KEY, process.env.HF_TOKEN])}\n`);
  return code;
}

function unknownCommand(name: string): [string, string] {
  const near = closest(name, Object.keys(subCommands));
  return [
    `unknown command "${name}"`,
    `${near ? `did you mean \`synthai ${near}\`? ` : ""}the commands are ${Object.keys(subCommands).join(", ")}`,
  ];
}

async function runOne(rawArgs: string[]): Promise<void> {
  const command = await load(rawArgs[0]!)();
  const { checkChoices } = await import("./shared.ts");
  checkChoices(rawArgs.slice(1), (command.args ?? {}) as ArgsDef);
  await runCommand(main, { rawArgs });
}

/** What went wrong, in one line (a bug's stack), and the exit code that says what kind of thing it was. */
function failureLine(error: unknown): [string, number] {
  if (error instanceof UserError) {
    // An API failure during a run leaves the run as it was: say how to go on with it.
    const goOn =
      activeRunId() && error.exitCode === EXIT.SERVICE && error.resumable
        ? `; the run is kept: \`synthai resume ${activeRunId()}\` continues it`
        : "";
    return [error.toLine() + goOn, error.exitCode];
  }
  const system = error as NodeJS.ErrnoException;
  if (system?.syscall && system.code) {
    // The disk, not synthai: full, read-only, no permission. What was written before stays.
    const where = system.path && !system.message.includes(system.path) ? ` (${system.path})` : "";
    return [
      `error: ${system.message}${where} — free space or fix permissions, ` +
        `then run the command again (\`synthai resume\` for a run)`,
      EXIT.DISK,
    ];
  }
  if ((error as { name?: string }).name === "CLIError") {
    // What citty refuses itself (a missing argument); a wrong choice was refused before it parsed.
    const message = (error as Error).message.replace(/\x1b\[\d+m/g, ""); // its colours
    return [`error: ${message} — see \`synthai --help\``, EXIT.USAGE];
  }
  return [
    `synthai: internal error (a bug — please report it):\n${String((error as Error)?.stack ?? error)}`,
    EXIT.BUG,
  ];
}
