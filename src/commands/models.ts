import { makeService } from "../api/services/index.ts";
import { metaOf } from "./index.ts";
import { compareWithService, formatModels } from "../views/models.ts";
import { command, connection, connectionArgs } from "./shared.ts";
import { EXIT } from "../errors.ts";

export default command({
  meta: metaOf("models"),
  args: {
    "api-key": connectionArgs["api-key"],
    "base-url": connectionArgs["base-url"],
    check: {
      type: "boolean",
      description: "Compare the catalogue with the service's GET /v1/models (needs a key)",
    },
  },
  async run({ args }) {
    // Asked first: a check that cannot be made is its one line, not the catalogue and then an error.
    const service = args.check ? await makeService("openai", connection(args)).models() : undefined;
    console.log(formatModels());
    if (!service) return;
    const differences = compareWithService(service);
    console.log(
      differences.length
        ? `\nthe service disagrees:\n${differences.map((d) => `  ${d}`).join("\n")}`
        : "\nthe service agrees with the catalogue",
    );
    if (differences.length) process.exitCode = EXIT.ATTENTION;
  },
});
