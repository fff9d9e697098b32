import type { FormatName } from "../io/formats/index.ts";
import { metaOf } from "./index.ts";
import { join, resolve } from "node:path";
import { hubLicense } from "../api/hub-licenses.ts";
import { hubPushOf } from "../pipeline/hub-push.ts";
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
      description: "With --hf or --push: seeded splits by share (Default: train=1)",
      valueHint: "train=0.9,test=0.1",
    },
    push: {
      type: "string",
      description:
        "Push the --hf folder (else runs/<id>/hf) to this Hugging Face dataset repository, as one commit " +
        "(token: $HF_TOKEN)",
      valueHint: "namespace/name",
    },
    "hf-token": {
      type: "string",
      description:
        "With --push: the Hub token (Default: $HF_TOKEN; the launcher keeps it off the command line)",
      valueHint: "token",
    },
    private: { type: "boolean", description: "With --push: make a new repository private" },
    "hub-url": {
      type: "string",
      description:
        "With --push: a mirror's or an enterprise Hub's address (Default: $HF_ENDPOINT, else huggingface.co)",
      valueHint: "url",
    },
    license: {
      type: "string",
      description: "With --hf or --push: the card's license, a Hub identifier (none is written unless given)",
      valueHint: "cc-by-4.0",
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
  const push = checkDestinations(args);
  // The card says how diverse and balanced the data is, with the figures of `synthai stats`.
  const describe = async (run: RunView) => statsMarkdown(await statsOfRun(run.dir, run.manifest));
  const hubPush = push
    ? hubPushOf({ repo: args.push!, token: args["hf-token"], hubUrl: args["hub-url"], private: args.private })
    : undefined;
  const dedup = parseDedup(args.dedup, args["dedup-threshold"], args["embedding-model"]);
  if (args["poll-interval"] !== undefined && dedup?.mode !== "semantic")
    throw new UserError(
      "--poll-interval applies to --dedup semantic's batches: no other export waits on the service",
      "leave it out, or add --dedup semantic",
    );
  // Without --hf, a push sends a folder kept in the run's own: the same files an --hf folder holds.
  const hfDir = args.hf !== undefined ? resolve(args.hf) : push ? join(runDir, "hf") : undefined;
  const hf = hfDir
    ? { dir: hfDir, splits: parseSplits(args.split), describe, license: hubLicense(args.license) }
    : undefined;
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
    ...(hubPush ? { push: hubPush } : {}),
    ...(args.output ? { output: resolve(args.output) } : {}),
    ...(args.format ? { format: choice<FormatName>("format", args.format) } : {}),
  });
}

/** Which destinations the flags name, each flag checked to apply to one of them; whether it pushes. */
function checkDestinations(args: Partial<ParsedArgs<typeof exportArgs>>): boolean {
  if (args.hf === "") throw new UserError("--hf needs a folder", "e.g. --hf hf-dataset");
  if (args.hf !== undefined && args.output)
    throw new UserError("--hf writes its own Parquet files: it takes no -p", "leave it out");
  const push = args.push !== undefined;
  if (args.push === "") throw new UserError("--push needs a repository", "e.g. --push my-org/my-dataset");
  if (push && args.output)
    throw new UserError("--push sends the Hugging Face folder: it takes no -p", "leave it out");
  for (const flag of ["hf-token", "private", "hub-url"] as const)
    if (args[flag] !== undefined && args[flag] !== false && !push)
      throw new UserError(`--${flag} applies to --push`, "add --push namespace/name, or leave it out");
  for (const flag of ["split", "license"] as const)
    if (args[flag] !== undefined && args.hf === undefined && !push)
      throw new UserError(`--${flag} applies to --hf and --push`, "add --hf DIR, or leave it out");
  return push;
}
