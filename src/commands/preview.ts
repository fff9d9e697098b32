import { resolve } from "node:path";
import { loadDataset } from "../dataset/spec.ts";
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
  },
  async run({ args }) {
    const params = await loadParams(resolve(args.params ?? "params.json"));
    const dataset = await loadDataset(args.spec ? resolve(args.spec) : undefined);
    const count = number(args.samples, "-n/--samples", { integer: true, positive: true })!;
    console.log(
      await previewSamples(
        params,
        dataset,
        number(args.seed, "--seed", { integer: true, min: 0 })!,
        count,
        args.locale,
        parseSampling(args.sampling),
      ),
    );
  },
});
