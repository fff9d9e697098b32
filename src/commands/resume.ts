import { stderrLog } from "../io/log.ts";
import { metaOf } from "./index.ts";
import { configOverrides, number } from "./options.ts";
import {
  acceptChangedArg,
  command,
  connection,
  connectionArgs,
  exitWhenStopped,
  runDirOf,
  waitArgs,
} from "./shared.ts";
import { resume } from "../pipeline/resume.ts";

export default command({
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
    const runDir = await runDirOf(args);
    const manifest = await resume(runDir, connection(args), {
      log: stderrLog,
      acceptChangedSpec: Boolean(args["accept-changed-spec"]),
      overrides: configOverrides(args),
      ...(args["top-up"]
        ? { topUp: number(args["top-up"], "--top-up", { integer: true, positive: true })! }
        : {}),
      detach: Boolean(args.detach),
    });
    exitWhenStopped(manifest);
  },
});
