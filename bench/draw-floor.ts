// The least a rerun from the cache must do before any lookup: draw each sample and render its
// request, as the build does (no token count, no manifest, no split): the floor for issue 44's target.
import { createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { customId, requestFor, toMessages } from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, newFaker } from "../src/dataset/draw.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { checkParams } from "../src/dataset/params.ts";

const [samples, out] = [Number(process.argv[2]), process.argv[3]!];
const params = checkParams(readFileSync(new URL("../params.json", import.meta.url), "utf8"), "params.json");
const faker = await newFaker("en");
const config = toRunConfig({ samples: String(samples), seed: "1" }, () => 1);
const requests = createWriteStream(out);
for (let i = 0; i < samples; i++) {
  const draw = drawSample({ faker, params, dataset: customerCalls, seed: config.seed }, i);
  const line = `${JSON.stringify(requestFor(config, customId(i, samples), toMessages(customerCalls.prompt(draw))))}\n`;
  if (!requests.write(line)) await once(requests, "drain");
}
requests.end();
await once(requests, "finish");
