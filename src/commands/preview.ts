import type { Sampling } from "../dataset/sampling.ts";
import { metaOf } from "./index.ts";
import { datasetOf } from "../dataset/spec.ts";
import { readInput } from "../dataset/input-file.ts";
import { previewSamples } from "../views/preview.ts";
import { choice, DEFAULTS, datasetFiles, inputOptions, number, paramsFileOf } from "./options.ts";
import { command, datasetArgs, inputArgs } from "./shared.ts";
import { optionsOfFlags } from "./named-options.ts";
import { loadParams } from "../dataset/params.ts";

export default command({
  meta: metaOf("preview"),
  args: {
    samples: { type: "string", alias: "n", description: "How many", default: "5" },
    ...datasetArgs,
    seed: { type: "string", description: "Seed of the random draws", default: "1" },
    ...inputArgs,
  },
  async run({ args, rawArgs }) {
    const params = await loadParams(paramsFileOf(args), {
      optional: Boolean(args.input),
    });
    // Each further --prompt is a stage: preview shows the first's prompts and every stage's prefix.
    const { stagePromptFiles, ...files } = datasetFiles(optionsOfFlags({ ...args }, rawArgs));
    const dataset = await datasetOf({
      ...files,
      ...(stagePromptFiles ? { stages: stagePromptFiles.map((promptFile) => ({ promptFile })) } : {}),
    });
    const count = number(args.samples, "-n/--samples", { integer: true, positive: true })!;
    const input = args.input ? inputOptions(optionsOfFlags({ ...args })) : undefined;
    const rows = input
      ? await readInput(input.path, input.perRow, input.keepColumns, { hash: false })
      : undefined;
    console.log(
      await previewSamples(
        params,
        dataset,
        number(args.seed, "--seed", { integer: true, min: 0 })!,
        count,
        args.locale ?? DEFAULTS.locale,
        choice<Sampling>("sampling", args.sampling || DEFAULTS.sampling),
        rows && { rows: rows.firstRows, columns: rows.record.columns, perRow: input!.perRow },
      ),
    );
  },
});
