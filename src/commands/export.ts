import type { FormatName } from "../io/formats/index.ts";
import { metaOf } from "./index.ts";
import { resolve } from "node:path";
import { CHOICES, CSV_SAFE_HELP, DEFAULTS, choice, configOverrides, parseDedup } from "./options.ts";
import { UserError } from "../errors.ts";
import { parseSplits } from "../pipeline/export-hf.ts";
import { stderrLog, type Log } from "../io/log.ts";
import type { ParsedArgs } from "citty";
import type { Manifest } from "../run/manifest.ts";
import { reexport } from "../pipeline/finish.ts";
import type { RunView } from "../pipeline/context.ts";
import { statsMarkdown, statsOfRun } from "../views/stats.ts";
import {
  acceptChangedArg,
  argsOf,
  command,
  connection,
  connectionArgs,
  runDirOf,
  waitArgs,
} from "./shared.ts";

const exportCommand = command({
  meta: metaOf("export"),
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    output: {
      type: "string",
      alias: "p",
      description: "Write to this file instead of the run's own",
      valueHint: "path",
    },
    format: {
      type: "enum",
      options: CHOICES.format.options,
      description:
        "csv, jsonl, parquet, chat, preference or openai-preference (Default: the output's extension; " +
        "with --hf, chat and preference keep their messages)",
    },
    hf: {
      type: "string",
      description: "Write a Hugging Face dataset folder (Parquet by split, README.md card) instead",
      valueHint: "dir",
    },
    split: {
      type: "string",
      description: "With --hf: seeded splits by share (Default: train=1)",
      valueHint: "train=0.9,test=0.1",
    },
    dedup: {
      type: "enum",
      options: CHOICES.dedup.options,
      description:
        "Leave out repeated samples: exact (same fields), near (also nearly the same text) or " +
        "semantic (also the same meaning, by embeddings sent as a batch)",
    },
    "dedup-threshold": {
      type: "string",
      description:
        "With --dedup near or semantic: the similarity (0–1) from which a sample counts as a repeat " +
        `(Default: ${DEFAULTS.dedupThreshold.near} near, ${DEFAULTS.dedupThreshold.semantic} semantic)`,
      valueHint: "n",
    },
    "embedding-model": {
      type: "string",
      description: `With --dedup semantic: the embeddings model (Default: ${DEFAULTS.embeddingModel})`,
      valueHint: "model",
    },
    "poll-interval": {
      ...waitArgs["poll-interval"],
      description: "With --dedup semantic: seconds between looks at the embeddings' batches",
    },
    "csv-safe": { type: "boolean", description: CSV_SAFE_HELP },
    ...connectionArgs,
    ...acceptChangedArg,
    "judge-again": {
      type: "boolean",
      description:
        "Judge every downloaded answer again (by default only batches judged with another spec or synthai)",
    },
    "include-dropped": {
      type: "boolean",
      description:
        "With stages: write the samples a stage dropped too, with a dropped_by column saying which",
    },
  },
  async run({ args }) {
    await exportFromArgs(args, await runDirOf(args), stderrLog);
  },
});
export default exportCommand;

/** Every flag of `synthai export`: the CLI's, and by their names the library's `exportRun` options. */
export const exportArgs = argsOf(exportCommand);

/** `synthai export`'s flags to the run's rows written again: the CLI's and the library's one way in. */
export async function exportFromArgs(
  args: Partial<ParsedArgs<typeof exportArgs>>,
  runDir: string,
  log: Log,
): Promise<Manifest> {
  if (args.hf === "") throw new UserError("--hf needs a folder", "e.g. --hf hf-dataset");
  if (args.hf !== undefined && args.output)
    throw new UserError("--hf writes its own Parquet files: it takes no -p", "leave it out");
  if (args.split !== undefined && args.hf === undefined)
    throw new UserError("--split applies to --hf", "add --hf DIR, or leave --split out");
  // The card says how diverse and balanced the data is, with the figures of `synthai stats`.
  const describe = async (run: RunView) => statsMarkdown(await statsOfRun(run.dir, run.manifest));
  const hf =
    args.hf !== undefined ? { dir: resolve(args.hf), splits: parseSplits(args.split), describe } : undefined;
  const dedup = parseDedup(args.dedup, args["dedup-threshold"], args["embedding-model"]);
  if (args["poll-interval"] !== undefined && dedup?.mode !== "semantic")
    throw new UserError(
      "--poll-interval applies to --dedup semantic's batches: no other export waits on the service",
      "leave it out, or add --dedup semantic",
    );
  return reexport(runDir, {
    log,
    connection: connection(args),
    overrides: configOverrides({ "poll-interval": args["poll-interval"] }),
    acceptChangedSpec: Boolean(args["accept-changed-spec"]),
    judgeAgain: Boolean(args["judge-again"]),
    includeDropped: Boolean(args["include-dropped"]),
    ...(dedup ? { dedup } : {}),
    ...(args["csv-safe"] ? { csvSafe: true } : {}),
    ...(hf ? { hf } : {}),
    ...(args.output ? { output: resolve(args.output) } : {}),
    ...(args.format ? { format: choice<FormatName>("format", args.format) } : {}),
  });
}
