// The build work both build baselines do, with the least code: the run's samples drawn as
// synthai draws them (draw stream 2, xoroshiro128+, seeded per sample), their prompts rendered
// and counted (o200k, as synthai counts them for the budget, here on the one thread), each
// written as a request line with JSON.stringify and its labels as a draws line beside.
import { createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { countTokens } from "gpt-tokenizer";
import type { Message } from "../src/api/endpoints/index.ts";
import { customId, requestFor, toMessages } from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, labelsOf, newFaker } from "../src/dataset/draw.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { checkParams } from "../src/dataset/params.ts";
import { drawsLine } from "./baseline-row.ts";

const params = checkParams(
  readFileSync(new URL("../src/dataset/builtin/params.json", import.meta.url), "utf8"),
  "params.json",
);
const faker = await newFaker("en");

/** A run of `samples` samples: the requests of those from `first` on, `count` of them, to `path` (draws to `path.draws`); their prompt tokens. */
export async function writeRequests(
  path: string,
  samples: number,
  first: number,
  count: number,
): Promise<number> {
  const config = toRunConfig({ samples: String(samples), seed: "1" }, () => 1);
  const requests = createWriteStream(path);
  const draws = createWriteStream(`${path}.draws`);
  let tokens = 0;
  for (let i = first; i < first + count; i++) {
    const draw = drawSample({ faker, params, dataset: customerCalls, seed: config.seed }, i);
    const id = customId(i, samples);
    const messages = toMessages(customerCalls.prompt(draw));
    tokens += promptTokens(messages);
    const more = draws.write(drawsLine(id, i + 1, labelsOf(draw)));
    if (!requests.write(`${JSON.stringify(requestFor(config, id, messages))}\n`))
      await once(requests, "drain");
    if (!more) await once(draws, "drain");
  }
  requests.end();
  draws.end();
  await Promise.all([once(requests, "finish"), once(draws, "finish")]);
  return tokens;
}

/** A prompt's tokens as the chat format counts them: content plus 4 a message, plus 3. */
function promptTokens(messages: Message[]): number {
  return messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3);
}
