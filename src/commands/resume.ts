import { stderrLog, type Log } from "../io/log.ts";
import type { Progress } from "../pipeline/progress.ts";
import type { Manifest } from "../run/manifest.ts";
import { metaOf } from "./index.ts";
import { overridesOf } from "./options.ts";
import type { OptionNamer } from "../errors.ts";
import { optionsOfFlags, type NamedOptions } from "./named-options.ts";
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
    const options = optionsOfFlags({ ...args }) as ResumeOptions;
    exitWhenStopped(await resumeFrom(options, await runDirOf(args), { log: stderrLog }));
  },
});
export default resumeCommand;

/** Every flag of `synthai resume`: the CLI's, and by their names the library's `resume` options. */
export const resumeArgs = argsOf(resumeCommand);

/** What `resume` takes: every flag by its option name, typed. */
export type ResumeOptions = NamedOptions<typeof resumeArgs>;

/**
 * `resume`'s options (the CLI's parsed flags, the library's values) to the run driven on; an error
 * names an option as `hooks.name` says (the CLI's flag by default, the library's option).
 */
export async function resumeFrom(
  options: ResumeOptions,
  runDir: string,
  hooks: { log: Log; onProgress?: (progress: Progress) => void; name?: OptionNamer },
): Promise<Manifest> {
  const given = connection({ "api-key": options.apiKey, "base-url": options.baseURL }, hooks.name);
  return resume(runDir, given, {
    log: hooks.log,
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    acceptChangedSpec: Boolean(options.acceptChangedSpec),
    overrides: overridesOf(options),
    ...(options.topUp ? { topUp: options.topUp } : {}),
    detach: Boolean(options.detach),
  });
}
