// Baseline for the build stage: the same request objects, drawn the same way, written with
// JSON.stringify to one file in a plain loop — no token counting, no splitting, no labels file.
import { createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { customId, requestFor, toMessages } from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, newFaker } from "../src/dataset/draw.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { checkParams } from "../src/dataset/params.ts";

const [samples, out] = [Number(process.argv[2]), process.argv[3]!];
const params = checkParams(readFileSync(new URL("../params.json", import.meta.url), "utf8"), "params.json");
const config = toRunConfig({ samples: String(samples), seed: "1" }, () => 1);
// The same random generator as synthai's build (draw stream 2, xoroshiro128+), seeded per sample:
// the ratio then says what synthai's own work costs, not which generator draws faster.
const faker = await newFaker("en");
const file = createWriteStream(out);
for (let i = 0; i < samples; i++) {
  const draw = drawSample({ faker, params, dataset: customerCalls, seed: config.seed }, i);
  if (
    !file.write(
      `${JSON.stringify(requestFor(config, customId(i, samples), toMessages(customerCalls.prompt(draw))))}\n`,
    )
  )
    await once(file, "drain");
}
file.end();
await once(file, "finish");
