// Baseline for the collect stage: the same work, the least code. Each output line is parsed,
// its answer split into fields by synthai's own parser, its sample's labels joined from the
// chunk's draws file, and written as one dataset row and one metrics row. No samples records,
// no manifest, no checks of the run folder, no retries, no reordering.
import { createReadStream, readdirSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { toRunConfig } from "../src/commands/options.ts";
import { readLabels, sameWorkWriter } from "./baseline-row.ts";

const [runDir, out] = [process.argv[2]!, process.argv[3]!];
const { price } = toRunConfig({ seed: "1" }, () => 1);
const writer = sameWorkWriter(out, price);
for (const name of readdirSync(join(runDir, "results"))
  .filter((n) => n.endsWith(".output.jsonl"))
  .sort()) {
  const chunk = Number(/^c(\d+)-/.exec(name)![1]);
  const labels = await readLabels(join(runDir, "draws", `c${String(chunk).padStart(4, "0")}.jsonl`));
  const lines = createInterface({
    input: createReadStream(join(runDir, "results", name)),
    crlfDelay: Infinity,
  });
  await writer.add(lines, labels, chunk);
}
await writer.close();
