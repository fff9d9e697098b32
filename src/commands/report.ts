import { loadManifest } from "../run/manifest.ts";
import { metaOf } from "./index.ts";
import { writeReport } from "../views/report.ts";
import { command, connectionArgs, runDirOf } from "./shared.ts";
import { loadParams } from "../dataset/params.ts";

export default command({
  meta: metaOf("report"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const manifest = await loadManifest(runDir);
    const params = await loadParams(manifest.config.paramsFile).catch(() => undefined);
    console.log(await writeReport(runDir, manifest, params));
  },
});
