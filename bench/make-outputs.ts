// Turns a dry-run's request files into what the Batch API would have returned (via the fake's
// own answer generator) and marks every batch collected, so `synthai export` re-collects it all.
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ManifestStore } from "../src/run/store.ts";
import { FakeOpenAI } from "../src/fake/server.ts";
import { resultsFile } from "../src/run/files.ts";

const [runDir, csvFile] = [process.argv[2]!, process.argv[3]!];
await ManifestStore.locked(runDir, async (store) => {
  const { manifest } = store;
  const fake = new FakeOpenAI();
  mkdirSync(join(runDir, "results"), { recursive: true });
  for (const record of manifest.batches) {
    const out = createWriteStream(join(runDir, resultsFile(record, "output")));
    let lines = 0;
    for await (const line of createInterface({
      input: createReadStream(join(runDir, record.requestsFile)),
      crlfDelay: Infinity,
    })) {
      const request = JSON.parse(line);
      const body = fake.complete(request.body).body;
      lines++;
      const text = `${JSON.stringify({ id: `batch_req_${lines}`, custom_id: request.custom_id, response: { status_code: 200, request_id: `req_${lines}`, body }, error: null })}\n`;
      if (!out.write(text)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
    Object.assign(record, {
      step: "collected",
      status: "completed",
      batchId: `batch_bench_${record.chunk}`,
      requestCounts: { total: lines, completed: lines, failed: 0 },
    });
  }
  store.update(() => {
    manifest.config.output = csvFile;
    manifest.state = "done";
  });
});
