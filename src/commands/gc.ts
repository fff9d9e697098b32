import { makeClient } from "../api/client.ts";
import { metaOf } from "./index.ts";
import { collectGarbage } from "../api/remote-files.ts";
import { stderrLog } from "../io/log.ts";
import { providerFor } from "../api/providers/index.ts";
import { command, connection, connectionArgs, providerArg } from "./shared.ts";

export default command({
  meta: metaOf("gc"),
  args: {
    "api-key": connectionArgs["api-key"],
    "base-url": connectionArgs["base-url"],
    ...providerArg,
    "dry-run": { type: "boolean", description: "Only list them" },
  },
  async run({ args }) {
    const link = connection(args);
    await collectGarbage(await makeClient(link), {
      uploadPurpose: providerFor(link.provider).uploadPurpose,
      dryRun: Boolean(args["dry-run"]),
      log: stderrLog,
    });
  },
});
