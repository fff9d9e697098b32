import { loadManifest } from "../run/manifest.ts";
import { metaOf } from "./index.ts";
import { summarize } from "../run/totals.ts";
import { formatSample, inspectRun } from "../views/inspect.ts";
import { number } from "./options.ts";
import { command, connectionArgs, runDirOf } from "./shared.ts";

export default command({
  meta: metaOf("inspect"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    failed: {
      type: "boolean",
      description: "Only answers that were malformed, failed or given up, with the reason",
    },
    sample: { type: "string", description: "Only this sample number (1-based, as in the metrics CSV)" },
    id: { type: "string", description: "Only this custom_id" },
    limit: { type: "string", description: "Show at most this many (0: all)", default: "20" },
    json: { type: "boolean", description: "One JSON object per line" },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const manifest = await loadManifest(runDir);
    const filter = {
      failed: Boolean(args.failed),
      ...(args.sample ? { sample: number(args.sample, "--sample", { integer: true, positive: true })! } : {}),
      ...(args.id ? { id: args.id } : {}),
      limit: number(args.limit, "--limit", { integer: true, min: 0 }) ?? 20,
    };
    let shown = 0;
    for await (const sample of inspectRun(runDir, manifest, filter)) {
      if (process.stdout.destroyed) return; // its reader has gone (`| head`)
      process.stdout.write(args.json ? `${JSON.stringify(sample)}\n` : `${formatSample(sample)}\n\n`);
      shown++;
    }
    if (!shown && !args.json)
      console.log(`no sample matches in run ${manifest.id} (${summarize(manifest).valid} valid so far)`);
  },
});
