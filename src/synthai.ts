#!/usr/bin/env node
// synthai: synthetic, labelled datasets through the OpenAI Batch API.
// This file is what belongs to the process: its flags, signals and the launcher; cli.ts runs the
// command. bin/synthai starts it on the bundled Node 24 with its flags.
import { createRequire } from "node:module";
import { EXIT } from "./errors.ts";
import { activeRunId } from "./commands/active-run.ts";
import { stopWhenSafe } from "./io/safe-stop.ts";
import { cli, withCommand } from "./commands/cli.ts";

// Started by bin/synthai as a child (on a Node without execve): stop with the launcher.
if (process.env.SYNTHAI_LAUNCHER_FD) {
  const { Socket } = await import("node:net");
  const launcher = new Socket({ fd: Number(process.env.SYNTHAI_LAUNCHER_FD), readable: true });
  delete process.env.SYNTHAI_LAUNCHER_FD;
  launcher.on("close", () => process.kill(process.pid, "SIGKILL")).unref();
  launcher.resume();
}

const rawArgs = withCommand(process.argv.slice(2));
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

const failed = await cli(rawArgs);
if (failed !== undefined) process.exit(failed);
