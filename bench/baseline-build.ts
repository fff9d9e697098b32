// Baseline for the build stage: the same work, the least code. The same samples, drawn with the
// same generator (draw stream 2, xoroshiro128+, seeded per sample), their prompts rendered and
// counted (o200k, as synthai counts them for the budget), each written as a request line with
// JSON.stringify and its labels as a draws line, in a plain loop on one thread: no split into
// files, no manifest, no checks.
import { createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { customId, requestFor, toMessages } from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, labelsOf, newFaker } from "../src/dataset/draw.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { checkParams } from "../src/dataset/params.ts";
import { drawsLine } from "./baseline-row.ts";
import { promptTokens } from "./baseline-tokens.ts";

const [samples, out] = [Number(process.argv[2]), process.argv[3]!];
const params = checkParams(readFileSync(new URL("../params.json", import.meta.url), "utf8"), "params.json");
const config = toRunConfig({ samples: String(samples), seed: "1" }, () => 1);
const faker = await newFaker("en");
const requests = createWriteStream(out);
const draws = createWriteStream(`${out}.draws`);
let tokens = 0;
for (let i = 0; i < samples; i++) {
  const draw = drawSample({ faker, params, dataset: customerCalls, seed: config.seed }, i);
  const id = customId(i, samples);
  const messages = toMessages(customerCalls.prompt(draw));
  tokens += promptTokens(messages);
  const more = draws.write(drawsLine(id, i + 1, labelsOf(draw)));
  if (!requests.write(`${JSON.stringify(requestFor(config, id, messages))}\n`)) await once(requests, "drain");
  if (!more) await once(draws, "drain");
}
requests.end();
draws.end();
await Promise.all([once(requests, "finish"), once(draws, "finish")]);
console.log(`${samples} requests, ${tokens} prompt tokens`);
