import { stderrLog } from "../io/log.ts";
import { metaOf } from "./index.ts";
import { abandon } from "../pipeline/abandon.ts";
import { command, connection, connectionArgs, runDirOf } from "./shared.ts";

export default command({
  meta: metaOf("abandon"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    ...connectionArgs,
    delete: { type: "boolean", description: "Delete the run folder as well (its answers with it)" },
  },
  async run({ args }) {
    await abandon(await runDirOf(args), connection(args), {
      deleteFolder: Boolean(args.delete),
      log: stderrLog,
    });
  },
});
