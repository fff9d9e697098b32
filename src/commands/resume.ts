import type { ParsedArgs } from "citty";
import { stderrLog, type Log } from "../io/log.ts";
import type { Progress } from "../pipeline/progress.ts";
import type { Manifest } from "../run/manifest.ts";
import { metaOf } from "./index.ts";
import { cliName, configOverrides, number, type OptionNamer } from "./options.ts";
import {
  acceptChangedArg,
  argsOf,
  command,
  connection,
  connectionArgs,
  exitWhenStopped,
  runDirOf,
  waitArgs,
} from "./shared.ts";
import { resume } from "../pipeline/resume.ts";

const resumeCommand = command({
  meta: metaOf("resume"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    ...connectionArgs,
    budget: { type: "string", alias: "l", description: "New budget limit in USD", valueHint: "usd" },
    "top-up": {
      type: "string",
      description: "Add this many new samples to a finished run, continuing its random stream",
      valueHint: "n",
    },
    ...waitArgs,
    ...acceptChangedArg,
    "max-draws": {
      type: "string",
      description: "A run made with --fill: a new limit on draws, to go on toward its target",
      valueHint: "n",
    },
  },
  async run({ args }) {
    exitWhenStopped(await resumeFromArgs(args, await runDirOf(args), { log: stderrLog }));
  },
});
export default resumeCommand;

/** Every flag of `synthai resume`: the CLI's, and by their names the library's `resume` options. */
export const resumeArgs = argsOf(resumeCommand);

/** `synthai resume`'s flags to the run driven on: the CLI's and the library's one way in. */
export async function resumeFromArgs(
  args: Partial<ParsedArgs<typeof resumeArgs>>,
  runDir: string,
  hooks: { log: Log; onProgress?: (progress: Progress) => void; name?: OptionNamer },
): Promise<Manifest> {
  const { name = cliName } = hooks;
  return resume(runDir, connection(args), {
    log: hooks.log,
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    acceptChangedSpec: Boolean(args["accept-changed-spec"]),
    overrides: configOverrides(args, name),
    ...(args["top-up"]
      ? { topUp: number(args["top-up"], name("--top-up"), { integer: true, positive: true })! }
      : {}),
    detach: Boolean(args.detach),
  });
}
