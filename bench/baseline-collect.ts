// Baseline for the collect stage: parse each output line and write one CSV row, nothing else.
import { createReadStream, createWriteStream, readdirSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [resultsDir, out] = [process.argv[2]!, process.argv[3]!];
const file = createWriteStream(out);
const quote = (text: string) => `"${text.replaceAll('"', '""')}"`;
for (const name of readdirSync(resultsDir).filter((n) => n.endsWith(".output.jsonl")).sort()) {
  for await (const line of createInterface({ input: createReadStream(join(resultsDir, name)), crlfDelay: Infinity })) {
    const result = JSON.parse(line);
    const row = `${result.custom_id},${quote(result.response.body.choices[0].message.content)},${result.response.body.usage.total_tokens}\n`;
    if (!file.write(row)) await once(file, "drain");
  }
}
file.end();
await once(file, "finish");
