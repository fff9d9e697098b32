import { makeService } from "../api/services/index.ts";
import { metaOf } from "./index.ts";
import { stderrLog } from "../io/log.ts";
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
    await makeService("openai", connection(args)).gc(Boolean(args["dry-run"]), stderrLog);
  },
});
