// What the baselines share: the least code that does a stage's work, without synthai's own
// machinery (no manifest, no samples records, no checks, no retries).
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { parseMarkers } from "../src/dataset/spec.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";

const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
const field = (value: unknown) => {
  const text = String(value ?? "");
  return /[",\n\r]/.test(text) ? quote(text) : text;
};

/** The raw loop: one output line as one CSV row of custom_id, answer and total tokens, no checks. */
export function baselineRow(line: string): string {
  const result = JSON.parse(line);
  return `${result.custom_id},${quote(result.response.body.choices[0].message.content)},${result.response.body.usage.total_tokens}\n`;
}

/** A draws line: the labels a sample was drawn with, to join to its answer. */
export function drawsLine(customId: string, sample: number, labels: Record<string, string>): string {
  return `${JSON.stringify({ custom_id: customId, sample, labels })}\n`;
}

/** A chunk's labels by custom_id, from its draws file (answers come in any order). */
export async function readLabels(path: string): Promise<Map<string, Record<string, string>>> {
  const labels = new Map<string, Record<string, string>>();
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    const draw = JSON.parse(line);
    labels.set(draw.custom_id, draw.labels);
  }
  return labels;
}

/**
 * One output line as the dataset's row and the metrics row, as synthai writes them: the answer
 * parsed into its fields (synthai's own parser), the sample's labels joined, the cost priced.
 * Undefined for an answer that does not parse.
 */
export function sameWorkRows(
  line: string,
  labels: Map<string, Record<string, string>>,
  index: number,
  chunk: number,
  price: { input: number; output: number },
): { row: string; metrics: string } | undefined {
  const result = JSON.parse(line);
  const body = result.response.body;
  const parsed = parseMarkers(body.choices[0].message.content, customerCalls.fields);
  if (!parsed.ok) return undefined;
  const id: string = result.custom_id;
  const { prompt_tokens: input, completion_tokens: output, total_tokens: total } = body.usage;
  const row = [
    index,
    ...customerCalls.fields.map((f) => parsed.fields[f]),
    ...Object.values(labels.get(id)!),
    id,
  ];
  const cost = (input * price.input + output * price.output) / 1e6;
  const metrics = [index, input, output, total, 0, Number(id) + 1, chunk + 1, id, 1, cost, body.model, 0, 0];
  return { row: `${row.map(field).join(",")}\n`, metrics: `${metrics.map(field).join(",")}\n` };
}

/**
 * The dataset and metrics files the collect and pipeline baselines write: each output line as
 * it comes, its rows numbered in that order.
 */
export function sameWorkWriter(out: string, price: { input: number; output: number }) {
  const csv = createWriteStream(out);
  const metrics = createWriteStream(out.replace(/\.csv$/, "_metrics.csv"));
  let index = 0;
  return {
    async add(lines: AsyncIterable<string>, labels: Map<string, Record<string, string>>, chunk: number) {
      for await (const line of lines) {
        const made = sameWorkRows(line, labels, index, chunk, price);
        if (!made) continue;
        index++;
        if (!csv.write(made.row)) await once(csv, "drain");
        if (!metrics.write(made.metrics)) await once(metrics, "drain");
      }
    },
    /** Ends both files; the rows written. */
    async close(): Promise<number> {
      csv.end();
      metrics.end();
      await Promise.all([once(csv, "finish"), once(metrics, "finish")]);
      return index;
    },
  };
}
