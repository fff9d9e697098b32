import { resolve } from "node:path";
import { parseFormat } from "./options.ts";
import { stderrLog } from "../io/log.ts";
import { reexport } from "../pipeline/finish.ts";
import { command, connectionArgs, runDirOf } from "./shared.ts";

export default command({
  meta: {
    name: "export",
    description: "Re-parse a run's downloaded answers and rewrite its CSV and metrics; no API call",
  },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    output: {
      type: "string",
      alias: "p",
      description: "Write to this file instead of the run's own",
      valueHint: "path",
    },
    format: { type: "string", description: "csv, jsonl, parquet or chat (default: the output's extension)" },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    await reexport(runDir, {
      log: stderrLog,
      ...(args.output ? { output: resolve(args.output) } : {}),
      ...(args.format ? { format: parseFormat(args.format) } : {}),
    });
  },
});
