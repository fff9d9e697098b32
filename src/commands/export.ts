import type { FormatName } from "../io/formats/index.ts";
import { metaOf } from "./index.ts";
import { join, resolve } from "node:path";
import { hubLicense } from "../api/hub-licenses.ts";
import { hubPushOf } from "../pipeline/hub-push.ts";
import { CHOICES, CSV_SAFE_HELP, DEFAULTS, choice, overridesOf, parseDedup } from "./options.ts";
import { optionsOfFlags, type NamedOptions } from "./named-options.ts";
import { UserError, cliName, givenAs, type OptionNamer } from "../errors.ts";
import { parseSplits } from "../pipeline/export-hf.ts";
import { stderrLog, type Log } from "../io/log.ts";
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
    const options = optionsOfFlags({ ...args }) as ExportOptions;
    await exportFrom(options, await runDirOf(args), stderrLog);
  },
});
export default exportCommand;

/** Every flag of `synthai export`: the CLI's, and by their names the library's `exportRun` options. */
export const exportArgs = argsOf(exportCommand);

/** What `export` takes: every flag by its option name, typed. */
export type ExportOptions = NamedOptions<typeof exportArgs>;

/**
 * `export`'s options (the CLI's parsed flags, the library's values) to the run's rows written
 * again; an error names an option as `name` says (the CLI's flag, the library's option).
 */
export async function exportFrom(
  o: ExportOptions,
  runDir: string,
  log: Log,
  name: OptionNamer = cliName,
): Promise<Manifest> {
  const push = checkDestinations(o, name);
  // The card says how diverse and balanced the data is, with the figures of `synthai stats`.
  const describe = async (run: RunView) => statsMarkdown(await statsOfRun(run.dir, run.manifest));
  const hubPush = push
    ? hubPushOf({ repo: o.push!, token: o.hfToken, hubUrl: o.hubUrl, private: o.private }, name)
    : undefined;
  const dedup = parseDedup(o, name);
  if (o.pollIntervalSeconds !== undefined && dedup?.mode !== "semantic")
    throw new UserError(
      `${name("--poll-interval")} applies to ${name("--dedup")} semantic's batches: no other export waits on the service`,
      `leave it out, or add ${givenAs(name, "dedup", "semantic")}`,
    );
  // Without --hf, a push sends a folder kept in the run's own: the same files an --hf folder holds.
  const hfDir = o.hf !== undefined ? resolve(o.hf) : push ? join(runDir, "hf") : undefined;
  const hf = hfDir
    ? { dir: hfDir, splits: parseSplits(o.split, name), describe, license: hubLicense(o.license, name) }
    : undefined;
  return reexport(runDir, {
    log,
    connection: connection({ "api-key": o.apiKey, "base-url": o.baseURL }, name),
    overrides: overridesOf({ pollIntervalSeconds: o.pollIntervalSeconds }),
    acceptChangedSpec: Boolean(o.acceptChangedSpec),
    judgeAgain: Boolean(o.judgeAgain),
    includeDropped: Boolean(o.includeDropped),
    ...(dedup ? { dedup } : {}),
    ...(o.csvSafe ? { csvSafe: true } : {}),
    ...(hf ? { hf } : {}),
    ...(hubPush ? { push: hubPush } : {}),
    ...(o.output ? { output: resolve(o.output) } : {}),
    ...(o.format ? { format: choice<FormatName>("format", o.format, name) } : {}),
  });
}

/** -p as its caller wrote it: the CLI's short flag, the library's `output`. */
const outputAs = (name: OptionNamer) => (name("--output").startsWith("-") ? "-p" : name("--output"));

/** Which destinations the options name, each checked to apply to one of them; whether it pushes. */
function checkDestinations(o: ExportOptions, name: OptionNamer): boolean {
  if (o.hf === "")
    throw new UserError(`${name("--hf")} needs a folder`, `e.g. ${givenAs(name, "hf", "hf-dataset")}`);
  if (o.hf !== undefined && o.output)
    throw new UserError(
      `${name("--hf")} writes its own Parquet files: it takes no ${outputAs(name)}`,
      "leave it out",
    );
  const push = o.push !== undefined;
  if (o.push === "")
    throw new UserError(
      `${name("--push")} needs a repository`,
      `e.g. ${givenAs(name, "push", "my-org/my-dataset")}`,
    );
  if (push && o.output)
    throw new UserError(
      `${name("--push")} sends the Hugging Face folder: it takes no ${outputAs(name)}`,
      "leave it out",
    );
  const given = { "hf-token": o.hfToken, private: o.private, "hub-url": o.hubUrl };
  for (const [flag, value] of Object.entries(given))
    if (value !== undefined && value !== false && !push)
      throw new UserError(
        `${name(`--${flag}`)} applies to ${name("--push")}`,
        `add ${givenAs(name, "push", "namespace/name")}, or leave it out`,
      );
  for (const [flag, value] of Object.entries({ split: o.split, license: o.license }))
    if (value !== undefined && o.hf === undefined && !push)
      throw new UserError(
        `${name(`--${flag}`)} applies to ${name("--hf")} and ${name("--push")}`,
        `add ${givenAs(name, "hf", "DIR")}, or leave it out`,
      );
  return push;
}
