import { stderrLog } from "../io/log.ts";
import { metaOf } from "./index.ts";
import { cancel } from "../pipeline/cancel.ts";
import { configOverrides } from "./options.ts";
import { acceptChangedArg, command, connection, connectionArgs, runDirOf, waitArgs } from "./shared.ts";

export default command({
  meta: metaOf("cancel"),
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
