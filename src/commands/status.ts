import { DEFAULTS } from "./options.ts";
import { metaOf } from "./index.ts";
import { resolve } from "node:path";
import { findRunDir, loadManifest } from "../run/manifest.ts";
import { summarize } from "../run/totals.ts";
import { formatRunDetail, formatRunList, listRuns, statusExitCode } from "../views/status.ts";
import { command, connectionArgs } from "./shared.ts";

export default command({
  meta: metaOf("status"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: false },
    "runs-dir": connectionArgs["runs-dir"],
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const runsDir = resolve(args["runs-dir"] ?? DEFAULTS.runsDir);
    if (!args.run) {
      const runs = await listRuns(runsDir);
      console.log(args.json ? JSON.stringify(runs, null, 2) : formatRunList(runs));
      return;
    }
    const manifest = await loadManifest(await findRunDir(runsDir, args.run));
    console.log(
      args.json
        ? JSON.stringify({ ...summarize(manifest), batches: manifest.batches }, null, 2)
        : formatRunDetail(manifest),
    );
    process.exitCode = statusExitCode(summarize(manifest));
  },
});
