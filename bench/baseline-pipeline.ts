// Baseline for the full pipeline: the same work, the least code, through the Batch API with the
// SDK. Each file of 50,000 requests is built as the build baseline builds it (drawn as synthai
// draws, counted, a draws line each), uploaded and submitted; the batches are polled until they
// end; each output is downloaded, and every line written as the collect baseline writes it
// (fields parsed, labels joined, a metrics row). No manifest, no retries, no checks.
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import OpenAI from "openai";
import { toRunConfig } from "../src/commands/options.ts";
import { readLabels, sameWorkWriter } from "./baseline-row.ts";
import { writeRequests } from "./baseline-requests.ts";

const [samples, dir, baseURL] = [Number(process.argv[2]), process.argv[3]!, process.argv[4]!];
const perFile = 50_000;
const client = new OpenAI({ baseURL });
const { price } = toRunConfig({ seed: "1" }, () => 1);

let tokens = 0;
const batches: { id: string; path: string }[] = [];
for (let first = 0; first < samples; first += perFile) {
  const path = join(dir, `requests-${first}.jsonl`);
  tokens += await writeRequests(path, samples, first, Math.min(perFile, samples - first));
  const file = await client.files.create({ file: createReadStream(path), purpose: "batch" });
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
  batches.push({ id: batch.id, path });
}

const writer = sameWorkWriter(join(dir, "baseline.csv"), price);
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
