import { resolve } from "node:path";
import { datasetOf } from "../dataset/spec.ts";
import { readInput } from "../dataset/input-file.ts";
import { UserError } from "../errors.ts";
import { previewSamples } from "../views/preview.ts";
import { number, parseSampling } from "./options.ts";
import { command, datasetArgs } from "./shared.ts";
import { loadParams } from "../dataset/params.ts";

export default command({
  meta: {
    name: "preview",
    description: "Print the first prompts with their drawn parameters; no API call, no run folder",
  },
  args: {
    samples: { type: "string", alias: "n", description: "How many", default: "5" },
    ...datasetArgs,
    seed: { type: "string", description: "Seed of the random draws", default: "1" },
    input: {
      type: "string",
      description: "A CSV, JSONL or Parquet file whose rows start the samples",
      valueHint: "file",
    },
    "per-row": { type: "string", description: "--input: samples per row", valueHint: "k" },
    "keep-columns": {
      type: "string",
      description: "--input: the columns the output keeps",
      valueHint: "a,b",
    },
    prompt: { type: "string", description: "A prompt file instead of a spec module", valueHint: "file.md" },
  },
  async run({ args }) {
    const params = await loadParams(resolve(args.params ?? "params.json"), { optional: Boolean(args.input) });
    if (args.spec && args.prompt)
      throw new UserError("--spec and --prompt both name the dataset", "give one of them");
    const dataset = await datasetOf({
      specFile: args.spec && resolve(args.spec),
      promptFile: args.prompt && resolve(args.prompt),
    });
    const count = number(args.samples, "-n/--samples", { integer: true, positive: true })!;
    const perRow = number(args["per-row"], "--per-row", { integer: true, positive: true }) ?? 1;
    const keep = args["keep-columns"]
      ?.split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    const input = args.input
      ? await readInput(resolve(args.input), perRow, keep?.length ? keep : undefined)
      : undefined;
    console.log(
      await previewSamples(
        params,
        dataset,
        number(args.seed, "--seed", { integer: true, min: 0 })!,
        count,
        args.locale,
        parseSampling(args.sampling),
        input && { rows: input.firstRows, columns: input.record.columns, perRow },
      ),
    );
  },
});
