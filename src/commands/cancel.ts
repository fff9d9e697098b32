import { stderrLog } from "../io/log.ts";
import { cancel } from "../pipeline/cancel.ts";
import { configOverrides } from "./options.ts";
import { acceptChangedArg, command, connection, connectionArgs, runDirOf, waitArgs } from "./shared.ts";

export default command({
  meta: {
    name: "cancel",
    description: "Cancel a run's batches in flight, keep what they finished; `resume` continues later",
  },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    ...connectionArgs,
    "poll-interval": waitArgs["poll-interval"],
    ...acceptChangedArg,
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    await cancel(runDir, connection(args), {
      log: stderrLog,
      acceptChangedSpec: Boolean(args["accept-changed-spec"]),
      overrides: configOverrides({ "poll-interval": args["poll-interval"] }),
    });
  },
});
