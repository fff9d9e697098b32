import { makeService, serviceOptions } from "../api/services/index.ts";
import { mainVendor } from "../api/providers/index.ts";
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
    // The account of --provider's vendor: Anthropic's and Gemini's with their own keys and addresses.
    const given = connection(args);
    const vendor = mainVendor(given.provider);
    const service = makeService(vendor, serviceOptions(vendor, given, { provider: given.provider }));
    await service.gc(Boolean(args["dry-run"]), stderrLog);
  },
});
