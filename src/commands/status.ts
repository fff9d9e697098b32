import { DEFAULTS } from "./options.ts";
import { metaOf } from "./index.ts";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { findRunDir, loadManifest, MANIFEST } from "../run/manifest.ts";
import { summarize } from "../run/totals.ts";
import { formatRunDetail, formatRunList, listRuns, statusExitCode } from "../views/status.ts";
import { command, connection, connectionArgs } from "./shared.ts";

export default command({
  meta: metaOf("status"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: false },
    ...connectionArgs,
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const runsDir = resolve(args["runs-dir"] ?? DEFAULTS.runsDir);
    if (!args.run) {
      const runs = await listRuns(runsDir);
      console.log(args.json ? JSON.stringify(runs, null, 2) : formatRunList(runs));
      return;
    }
    const runDir = await findRunDir(runsDir, args.run);
    let manifest = await loadManifest(runDir);
    let note: string | undefined;
    // A run under way is asked about on the service (the SDK is loaded only then).
    if (manifest.state === "running") {
      const { lookAtService } = await import("../pipeline/look.ts");
      const recordedAt = statSync(join(runDir, MANIFEST)).mtime;
      ({ manifest, note } = await lookAtService(runDir, manifest, connection(args), recordedAt));
    }
    console.log(
      args.json
        ? JSON.stringify({ ...summarize(manifest), batches: manifest.batches }, null, 2)
        : formatRunDetail(manifest),
    );
    if (note) process.stderr.write(`${note}\n`);
    process.exitCode = statusExitCode(summarize(manifest));
  },
});
