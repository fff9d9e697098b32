import { stderrLog } from "../io/log.ts";
import { abandon } from "../pipeline/abandon.ts";
import { command, connection, connectionArgs, runDirOf } from "./shared.ts";

export default command({
  meta: {
    name: "abandon",
    description:
      "Give a run up: cancel what is in flight, delete its files on the account; --delete its folder too",
  },
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
