import { makeService, serviceOptions } from "../api/services/index.ts";
import { mainVendor } from "../api/providers/index.ts";
import { metaOf } from "./index.ts";
import { resolve } from "node:path";
import { stderrLog } from "../io/log.ts";
import { uncollectedBatches } from "../run/manifest.ts";
import { DEFAULTS } from "./options.ts";
import { command, connection, connectionArgs, providerArg } from "./shared.ts";

export default command({
  meta: metaOf("gc"),
  args: {
    "api-key": connectionArgs["api-key"],
    "base-url": connectionArgs["base-url"],
    "runs-dir": connectionArgs["runs-dir"],
    ...providerArg,
    "dry-run": { type: "boolean", description: "Only list them" },
  },
  async run({ args }) {
    // The account of --provider's vendor: Anthropic's and Gemini's with their own keys and addresses.
    const given = connection(args);
    const vendor = mainVendor(given.provider);
    const service = makeService(vendor, serviceOptions(vendor, given, { provider: given.provider }));
    // A batch that ended but that its run has not collected yet holds answers paid for: kept.
    const awaited = await uncollectedBatches(resolve(args["runs-dir"] ?? DEFAULTS.runsDir));
    await service.gc(Boolean(args["dry-run"]), stderrLog, new Set(awaited.keys()));
    const runs = [...new Set(awaited.values())];
    if (runs.length)
      stderrLog(
        `kept what ${runs.length === 1 ? "run" : "runs"} ${runs.join(", ")} ha${runs.length === 1 ? "s" : "ve"} not collected yet: ` +
          `\`synthai resume <run-id>\` collects it`,
      );
  },
});
