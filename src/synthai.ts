#!/usr/bin/env node
// synthai: synthetic, labelled datasets through the OpenAI Batch API.
// This file only lists the commands (each in commands/, loaded when it runs) and turns what
// goes wrong into one line. bin/synthai starts it on the bundled Node 24 with its flags.
import { createRequire } from "node:module";
import { VERSION } from "./run/version.ts";
import { defineCommand, runCommand, runMain, type ArgsDef } from "citty";
import { EXIT, EXIT_MEANINGS, UserError, closest, redact } from "./errors.ts";
import { activeRunId } from "./commands/active-run.ts";
import { stopWhenSafe } from "./io/safe-stop.ts";
import { COMMANDS } from "./commands/index.ts";

const load = (name: string) => () => import(`./commands/${name}.ts`).then((module) => module.default);
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

// Started by bin/synthai as a child (on a Node without execve): stop with the launcher.
if (process.env.SYNTHAI_LAUNCHER_FD) {
  const { Socket } = await import("node:net");
  const launcher = new Socket({ fd: Number(process.env.SYNTHAI_LAUNCHER_FD), readable: true });
  delete process.env.SYNTHAI_LAUNCHER_FD;
  launcher.on("close", () => process.kill(process.pid, "SIGKILL")).unref();
  launcher.resume();
}

const EXIT_CODES = EXIT_MEANINGS.map(([code, meaning]) => [String(code), meaning] as [string, string]);

const rawArgs = process.argv.slice(2);
// A bare `synthai -n 10` means `synthai generate -n 10`, as the seed's single command did.
if (!rawArgs[0] || rawArgs[0].startsWith("-")) {
  if (!["-h", "--help", "-v", "--version"].includes(rawArgs[0] ?? "")) rawArgs.unshift("generate");
}
// Started by hand (`node src/synthai.ts generate …`), not by bin/synthai: a command that streams
// data starts again at once, as the same process, with the launcher's V8 flags, malloc settings
// and compile cache (bin/runtime.cjs), which keep a run of 1,000,000 samples under 200 MB.
const light =
  rawArgs[0] === "status" || rawArgs.some((arg) => ["-h", "--help", "-v", "--version"].includes(arg));
if (!process.env.SYNTHAI_TUNED && process.execve && !light) {
  const runtime: { NODE_FLAGS: string[]; tunedEnv: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv } =
    createRequire(import.meta.url)("../bin/runtime.cjs");
  const [, script, ...args] = process.argv;
  const { execPath } = process;
  try {
    const argv = [execPath, ...runtime.NODE_FLAGS, ...process.execArgv, script!, ...args];
    process.execve(execPath, argv, runtime.tunedEnv(process.env));
  } catch {
    // Refused (a sandbox, say): the command runs here, as it would have before.
  }
}
// bin/synthai hands a -k key over in the environment, off the command line that `ps` shows.
if (process.env.SYNTHAI_API_KEY_FLAG !== undefined) {
  rawArgs.push("--api-key", process.env.SYNTHAI_API_KEY_FLAG);
  delete process.env.SYNTHAI_API_KEY_FLAG;
}

// A reader that stops early (`synthai inspect … | head`) is no error: what it read was right, and
// a run in progress goes on. Output to a closed pipe is dropped; anything else wrong is thrown.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
});

process.on("SIGINT", () => {
  const held = stopWhenSafe(() => {
    process.stderr.write(
      activeRunId()
        ? `\ninterrupted — nothing is lost: \`synthai resume ${activeRunId()}\` continues run ${activeRunId()}\n`
        : "\ninterrupted before a run was made; nothing was sent\n",
    );
    process.exit(EXIT.INTERRUPTED);
  });
  if (held) process.stderr.write("\nstopping once the batch being sent is recorded\n");
});

if (rawArgs.length === 1 && (rawArgs[0] === "-h" || rawArgs[0] === "--help")) {
  // The commands, then the flags of the one a bare `synthai` runs, then what exit codes mean.
  const { helpStyle, renderHelp } = await import("./views/help.ts");
  const style = helpStyle();
  const generate = await load("generate")();
  const flags = await renderHelp(generate, main, style, {
    described: false,
    more: [{ title: "EXIT CODES", rows: EXIT_CODES }],
  });
  process.stdout.write(`${await renderHelp(listed, undefined, style)}\n\n${flags}\n`);
} else if (
  rawArgs.some((arg) => arg === "-h" || arg === "--help") ||
  rawArgs[0] === "-v" ||
  rawArgs[0] === "--version"
) {
  // A command's help, laid out for a terminal or a pipe (views/help.ts); --version needs none of it.
  type Help = Parameters<typeof import("./views/help.ts").renderHelp>;
  const showUsage = async (cmd: Help[0], parent?: Help[1]) => {
    const { helpStyle, renderHelp } = await import("./views/help.ts");
    process.stdout.write(`${await renderHelp(cmd, parent, helpStyle())}\n`);
  };
  await runMain(main, { rawArgs, showUsage });
} else {
  try {
    if (!(rawArgs[0]! in subCommands)) {
      const near = closest(rawArgs[0]!, Object.keys(subCommands));
      throw new UserError(
        `unknown command "${rawArgs[0]}"`,
        `${near ? `did you mean \`synthai ${near}\`? ` : ""}the commands are ${Object.keys(subCommands).join(", ")}`,
      );
    }
    const command = await load(rawArgs[0]!)();
    const { checkChoices } = await import("./commands/shared.ts");
    checkChoices(rawArgs.slice(1), (command.args ?? {}) as ArgsDef);
    await runCommand(main, { rawArgs });
  } catch (error) {
    if (error instanceof UserError) {
      // An API failure during a run leaves the run as it was: say how to go on with it.
      const goOn =
        activeRunId() && error.exitCode === EXIT.SERVICE && error.resumable
          ? `; the run is kept: \`synthai resume ${activeRunId()}\` continues it`
          : "";
      process.stderr.write(
        `${redact(error.toLine() + goOn, [process.env.OPENAI_API_KEY, process.env.HF_TOKEN])}\n`,
      );
      process.exit(error.exitCode);
    }
    const system = error as NodeJS.ErrnoException;
    if (system?.syscall && system.code) {
      // The disk, not synthai: full, read-only, no permission. What was written before stays.
      const where = system.path && !system.message.includes(system.path) ? ` (${system.path})` : "";
      process.stderr.write(
        `error: ${system.message}${where} — free space or fix permissions, ` +
          `then run the command again (\`synthai resume\` for a run)\n`,
      );
      process.exit(EXIT.DISK);
    }
    if ((error as { name?: string }).name === "CLIError") {
      // What citty refuses itself (a missing argument); a wrong choice was refused before it parsed.
      const message = (error as Error).message.replace(/\x1b\[\d+m/g, ""); // its colours
      process.stderr.write(`error: ${message} — see \`synthai --help\`\n`);
      process.exit(EXIT.USAGE);
    }
    process.stderr.write(
      `synthai: internal error (a bug — please ` +
        `report it):\n${redact(String((error as Error)?.stack ?? error), [process.env.OPENAI_API_KEY, process.env.HF_TOKEN])}\n`,
    );
    process.exit(EXIT.BUG);
  }
}
