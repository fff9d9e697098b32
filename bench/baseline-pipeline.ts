// Baseline for the full pipeline: the same work, the least code, through the Batch API with the
// SDK. Each file of 50,000 requests is built as the build baseline builds it (drawn as synthai
// draws, counted, a draws line each), uploaded and submitted; the batches are polled until they
// end; each output is downloaded, and every line written as the collect baseline writes it
// (fields parsed, labels joined, a metrics row). No manifest, no retries, no checks.
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import OpenAI from "openai";
import { customId, requestFor, toMessages } from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, labelsOf, newFaker } from "../src/dataset/draw.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { drawsLine, readLabels, sameWorkWriter } from "./baseline-row.ts";
import { promptTokens } from "./baseline-tokens.ts";
import { checkParams } from "../src/dataset/params.ts";

const [samples, dir, baseURL] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!];
const perFile = 50_000;
const client = new OpenAI({ baseURL });
const params = checkParams(readFileSync(new URL("../params.json", import.meta.url), "utf8"), "params.json");
const config = toRunConfig({ samples: String(samples), seed: "1" }, () => 1);
// The same random generator as synthai's build (draw stream 2), seeded per sample.
const faker = await newFaker("en");

let tokens = 0;
async function writeChunk(path: string, first: number, count: number): Promise<void> {
  const requests = createWriteStream(path);
  const draws = createWriteStream(`${path}.draws`);
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
}

const batches: { id: string; path: string }[] = [];
for (let first = 0; first < samples; first += perFile) {
  const path = join(dir, `requests-${first}.jsonl`);
  await writeChunk(path, first, Math.min(perFile, samples - first));
  const file = await client.files.create({ file: createReadStream(path), purpose: "batch" });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
  batches.push({ id: batch.id, path });
}

const writer = sameWorkWriter(join(dir, "baseline.csv"), config.price);
for (const [chunk, { id, path }] of batches.entries()) {
  let batch = await client.batches.retrieve(id);
  while (!["completed", "failed", "expired", "cancelled"].includes(batch.status)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    batch = await client.batches.retrieve(id);
  }
  const labels = await readLabels(`${path}.draws`);
  const response = await client.files.content(batch.output_file_id!);
  const lines = createInterface({ input: Readable.fromWeb(response.body as never), crlfDelay: Infinity });
  await writer.add(lines, labels, chunk);
}
console.log(`${await writer.close()} rows, ${tokens} prompt tokens`);
