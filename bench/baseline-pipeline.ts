// Baseline for the full pipeline: the least a script can do to get the same answers through
// the Batch API with the SDK. Each file of 50,000 requests (drawn as synthai draws them) is
// written with JSON.stringify, uploaded and submitted; the batches are polled until they end;
// each output is downloaded, and every line parsed and written as one CSV row. No token
// counting, no manifest, no retries, no labels, no metrics.
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import OpenAI from "openai";
import { customId, requestFor, toMessages } from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, newFaker } from "../src/dataset/draw.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { baselineRow } from "./baseline-row.ts";
import { checkParams } from "../src/dataset/params.ts";

const [samples, dir, baseURL] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!];
const perFile = 50_000;
const client = new OpenAI({ baseURL });
const params = checkParams(readFileSync(new URL("../params.json", import.meta.url), "utf8"), "params.json");
const config = toRunConfig({ samples: String(samples), seed: "1" }, () => 1);
// The same random generator as synthai's build (draw stream 2), seeded per sample.
const faker = await newFaker("en");

async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  const file = createWriteStream(path);
  for (const line of lines) if (!file.write(line)) await once(file, "drain");
  file.end();
  await once(file, "finish");
}

function* requests(first: number, count: number): Generator<string> {
  for (let i = first; i < first + count; i++)
    yield `${JSON.stringify(requestFor(config, customId(i, samples), toMessages(customerCalls.prompt(drawSample({ faker, params, dataset: customerCalls, seed: config.seed }, i)))))}\n`;
}

const batchIds: string[] = [];
for (let first = 0; first < samples; first += perFile) {
  const path = join(dir, `requests-${first}.jsonl`);
  await writeLines(path, requests(first, Math.min(perFile, samples - first)));
  const file = await client.files.create({ file: createReadStream(path), purpose: "batch" });
  batchIds.push(
    (
      await client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      })
    ).id,
  );
}

const csv = createWriteStream(join(dir, "baseline.csv"));
for (const id of batchIds) {
  let batch = await client.batches.retrieve(id);
  while (!["completed", "failed", "expired", "cancelled"].includes(batch.status)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    batch = await client.batches.retrieve(id);
  }
  const response = await client.files.content(batch.output_file_id!);
  for await (const line of createInterface({
    input: Readable.fromWeb(response.body as never),
    crlfDelay: Infinity,
  })) {
    if (!csv.write(baselineRow(line))) await once(csv, "drain");
  }
}
csv.end();
await once(csv, "finish");
