import { resolve } from "node:path";
import { metaOf } from "./index.ts";
import { stderrLog } from "../io/log.ts";
import { importResults } from "../pipeline/import.ts";
import { command, connectionArgs, exitWhenStopped, runDirOf } from "./shared.ts";

export default command({
  meta: metaOf("import"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    results: { type: "positional", description: "Output JSONL in the Batch-API format", required: true },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const manifest = await importResults(runDir, resolve(args.results), { log: stderrLog });
    exitWhenStopped(manifest);
  },
});
