// Waiting for batches: what each vendor's service says about each one, read into its record.
import { vendorOfRecord } from "../run/config.ts";
import type { BatchService, RemoteBatch, Vendor } from "../api/batch-service.ts";
import { isFinished } from "../api/providers/index.ts";
import { crashPoint, stageOf, type BatchRecord } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";

/**
 * Looks at every batch in flight once; true if any moved. Each vendor's batches are looked at
 * together (one listing for many, where its service has one).
 */
export async function poll(
  run: Pick<RunContext, "serviceFor" | "store">,
  inFlight: BatchRecord[],
): Promise<boolean> {
  const byVendor = new Map<Vendor, BatchRecord[]>();
  for (const record of inFlight) {
    const vendor = vendorOfRecord(record);
    byVendor.set(vendor, [...(byVendor.get(vendor) ?? []), record]);
  }
  let changed = false;
  for (const records of byVendor.values())
    if (await pollService(run, run.serviceFor(records[0]), records)) changed = true;
  return changed;
}

async function pollService(
  run: Pick<RunContext, "store">,
  service: BatchService,
  inFlight: BatchRecord[],
): Promise<boolean> {
  const oldest = Math.min(...inFlight.map((b) => b.createdAt ?? 0));
  const seen = await service.look(
    inFlight.map((b) => b.batchId!),
    oldest,
  );
  let changed = false;
  for (const record of inFlight) {
    const batch = seen.get(record.batchId!);
    if (!batch) continue;
    const where = (r: BatchRecord) => `${r.status}:${r.requestCounts?.completed}:${r.requestCounts?.failed}`;
    const before = where(record);
    // What it says is kept with the next update; a batch that finished is recorded at once.
    applyRemote(record, batch);
    if (before !== where(record)) changed = true;
    if (isFinished(record.status)) {
      run.store.updateLocal(() => (record.step = "finished"));
      crashPoint("after-finished", stageOf(record));
    }
  }
  return changed;
}

/** Copies what the service says about a batch into its record. */
export function applyRemote(record: BatchRecord, batch: RemoteBatch): void {
  record.batchId = batch.id;
  record.status = batch.status;
  record.createdAt = batch.createdAt;
  if (batch.counts) record.requestCounts = { ...batch.counts };
  if (batch.inProgressAt) record.inProgressAt = batch.inProgressAt;
  if (batch.finalizingAt) record.finalizingAt = batch.finalizingAt;
  if (batch.finishedAt) record.finishedAt = batch.finishedAt;
  if (batch.expiresAt) record.expiresAt = batch.expiresAt;
  if (batch.usage) record.usage = { cached_tokens: 0, reasoning_tokens: 0, ...batch.usage };
  if (batch.outputRef) record.outputFileId = batch.outputRef;
  if (batch.errorRef) record.errorFileId = batch.errorRef;
  if (batch.errors?.length) record.errors = batch.errors;
}

/** A record's batch as the service last said it, for steps that go on from the record (collect, a later process). */
export function remoteOf(record: BatchRecord): RemoteBatch {
  return {
    id: record.batchId!,
    status: (record.status ?? "in_progress") as RemoteBatch["status"],
    said: record.status ?? "",
    ...(record.requestCounts ? { counts: record.requestCounts } : {}),
    createdAt: record.createdAt ?? 0,
    ...(record.outputFileId ? { outputRef: record.outputFileId } : {}),
    ...(record.errorFileId ? { errorRef: record.errorFileId } : {}),
  };
}
