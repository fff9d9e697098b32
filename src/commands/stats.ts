import { DEFAULTS } from "./options.ts";
import { metaOf } from "./index.ts";
import { UserError } from "../errors.ts";
import { findRunDir, loadManifest } from "../run/manifest.ts";
import { formatStats, statsOfRun } from "../views/stats.ts";
import { command, connectionArgs } from "./shared.ts";
import { resolve } from "node:path";

export default command({
  meta: metaOf("stats"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    other: { type: "positional", description: "Another run, to compare with", required: false },
    json: { type: "boolean", description: "One JSON object (per run) on stdout" },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const ids = [args.run, args.other].filter((id): id is string => Boolean(id));
    const runs = [];
    for (const id of ids) {
      const runDir = await findRunDir(resolve(args["runs-dir"] ?? DEFAULTS.runsDir), id);
      const manifest = await loadManifest(runDir);
      if (!["done", "stopped"].includes(manifest.state))
        throw new UserError(
          `run ${manifest.id} is ${manifest.state}`,
          `finish it first: \`synthai resume ${manifest.id}\``,
        );
      runs.push({ id: manifest.id, stats: await statsOfRun(runDir, manifest) });
    }
    console.log(args.json ? JSON.stringify(runs.length === 1 ? runs[0] : runs) : formatStats(runs));
  },
});
