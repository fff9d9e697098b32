// The raw loop, for reference beside the collect baseline: parse each output line and write one CSV row, nothing else.
import { createReadStream, createWriteStream, readdirSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { baselineRow } from "./baseline-row.ts";

const [resultsDir, out] = [process.argv[2]!, process.argv[3]!];
const file = createWriteStream(out);
for (const name of readdirSync(resultsDir)
  .filter((n) => n.endsWith(".output.jsonl"))
  .sort()) {
  for await (const line of createInterface({
    input: createReadStream(join(resultsDir, name)),
    crlfDelay: Infinity,
  })) {
    if (!file.write(baselineRow(line))) await once(file, "drain");
  }
}
file.end();
await once(file, "finish");
