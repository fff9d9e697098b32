import type OpenAI from "openai";
import { call } from "./client.ts";
import { isFinished } from "./providers/index.ts";
import type { Log } from "../io/log.ts";

/**
 * `synthai gc`: finds synthai's files left on the account — request files (named `synthai-…`)
 * and the output and error files of batches whose metadata names a synthai run — whose batch
 * is no longer running, and deletes them (or only lists them, with `dryRun`).
 */
export async function collectGarbage(
  client: OpenAI,
  options: { dryRun: boolean; log: Log; uploadPurpose?: string },
): Promise<string[]> {
  const inUse = new Set<string>();
  const ours = new Set<string>();
  await call(client, "listing batches", async () => {
    for await (const batch of client.batches.list({ limit: 100 })) {
      const files = [batch.input_file_id, batch.output_file_id, batch.error_file_id].filter(
        (f): f is string => Boolean(f),
      );
      if (!isFinished(batch.status)) files.forEach((f) => inUse.add(f));
      else if (batch.metadata?.synthai_run) files.forEach((f) => ours.add(f));
    }
  });
  const orphans: { id: string; filename: string; bytes: number }[] = [];
  await call(client, "listing files", async () => {
    for await (const file of client.files.list({ limit: 10_000 })) {
      const mine =
        ours.has(file.id) ||
        (file.purpose === (options.uploadPurpose ?? "batch") && file.filename.startsWith("synthai-"));
      if (mine && !inUse.has(file.id))
        orphans.push({ id: file.id, filename: file.filename, bytes: file.bytes });
    }
  });
  for (const file of orphans) {
    if (!options.dryRun) await call(client, `deleting ${file.id}`, () => client.files.delete(file.id));
    options.log(
      `${options.dryRun ? "would delete" : "deleted"} ${file.id} ${file.filename} (${file.bytes} bytes)`,
    );
  }
  options.log(`${orphans.length} orphaned synthai file(s) ${options.dryRun ? "found" : "deleted"}`);
  return orphans.map((f) => f.id);
}
