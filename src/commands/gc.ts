import { makeClient } from "../api/client.ts";
import { collectGarbage } from "../api/remote-files.ts";
import { stderrLog } from "../io/log.ts";
import { command, connection, connectionArgs } from "./shared.ts";

export default command({
  meta: {
    name: "gc",
    description: "Delete synthai's leftover files on the OpenAI account (those of batches no longer running)",
  },
  args: {
    "api-key": connectionArgs["api-key"],
    "base-url": connectionArgs["base-url"],
    "dry-run": { type: "boolean", description: "Only list them" },
  },
  async run({ args }) {
    await collectGarbage(await makeClient(connection(args)), {
      dryRun: Boolean(args["dry-run"]),
      log: stderrLog,
    });
  },
});
