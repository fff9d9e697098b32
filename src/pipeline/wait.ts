// Waiting for batches: what the service says about each one, read into its record.
import type { Batch } from "openai/resources/batches";
import { call } from "../api/client.ts";
import { isFinished, readStatus } from "../api/providers/index.ts";
import { crashPoint, stageOf, type BatchRecord } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";

/**
 * Looks at every batch in flight once; true if any moved. Many batches are read from one
 * listing (newest first) instead of one request each.
 */
export async function poll(
  run: Pick<RunContext, "service" | "store">,
  inFlight: BatchRecord[],
): Promise<boolean> {
  const client = run.service;
  const seen = new Map<string, Batch>();
  if (inFlight.length > 3) {
    const oldest = Math.min(...inFlight.map((b) => b.createdAt ?? 0));
    await call(client, "listing batches", async () => {
      for await (const batch of client.batches.list({ limit: 100 })) {
        seen.set(batch.id, batch);
        if (batch.created_at < oldest || seen.size >= inFlight.length + 200) break;
      }
    });
  }
  let changed = false;
  for (const record of inFlight) {
    const batch =
      seen.get(record.batchId!) ??
      (await call(client, `checking batch ${record.batchId}`, () =>
        client.batches.retrieve(record.batchId!),
      ));
    const where = (r: BatchRecord) => `${r.status}:${r.requestCounts?.completed}:${r.requestCounts?.failed}`;
    const before = where(record);
    // What it says is kept with the next update; a batch that finished is recorded at once.
    applyBatch(record, batch);
    if (before !== where(record)) changed = true;
    if (isFinished(record.status)) {
      run.store.updateLocal(() => (record.step = "finished"));
      crashPoint("after-finished", stageOf(record));
    }
  }
  return changed;
}

/** Copies what the service says about a batch into its record. */
export function applyBatch(record: BatchRecord, batch: Batch): void {
  record.batchId = batch.id;
  // Some services (Novita) say COMPLETED: statuses are read case-insensitively.
  record.status = readStatus(batch.status);
  record.createdAt = batch.created_at;
  if (batch.request_counts) record.requestCounts = { ...batch.request_counts };
  if (batch.in_progress_at) record.inProgressAt = batch.in_progress_at;
  if (batch.finalizing_at) record.finalizingAt = batch.finalizing_at;
  const finished = batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.failed_at;
  if (finished) record.finishedAt = finished;
  if (batch.expires_at) record.expiresAt = batch.expires_at;
  if (batch.usage)
    record.usage = {
      input_tokens: batch.usage.input_tokens,
      output_tokens: batch.usage.output_tokens,
      cached_tokens: batch.usage.input_tokens_details?.cached_tokens ?? 0,
      reasoning_tokens: batch.usage.output_tokens_details?.reasoning_tokens ?? 0,
    };
  if (batch.output_file_id) record.outputFileId = batch.output_file_id;
  if (batch.error_file_id) record.errorFileId = batch.error_file_id;
  if (batch.errors?.data?.length)
    record.errors = batch.errors.data.map(
      (e) => `${e.line ? `line ${e.line}: ` : ""}${e.code ?? "error"}: ${e.message ?? ""}`,
    );
}
