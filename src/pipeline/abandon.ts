// `synthai abandon`: give a run up. What is in flight is cancelled (not waited for), the run's
// files on the account are deleted, and with `deleteFolder` so is its run folder; otherwise the
// folder stays to read and export from, and `resume` says the run was abandoned.
import { vendorOfRecord } from "../run/config.ts";
import { sentDirectly } from "./transport.ts";
import { rm } from "node:fs/promises";
import type { BatchService } from "../api/batch-service.ts";
import { runServices } from "../api/services/index.ts";
import type { Log } from "../io/log.ts";
import type { BatchRecord, Manifest } from "../run/manifest.ts";
import { ManifestStore, stopDriver } from "../run/store.ts";
import { deleteRemoteFiles } from "./download.ts";
import type { Connection } from "./generate.ts";
import { applyRemote } from "./wait.ts";
import { recordUnrecorded } from "./submit.ts";
import { UserError } from "../errors.ts";

export async function abandon(
  runDir: string,
  connection: Connection,
  options: { deleteFolder: boolean; log: Log },
): Promise<Manifest> {
  await stopDriver(runDir, options.log);
  return ManifestStore.locked(runDir, async (store) => {
    const { manifest } = store;
    if (manifest.batches.some((b) => b.fileId || b.batchId || b.uploadedAt !== undefined)) {
      const services = runServices(connection, manifest.config, options.log);
      const serviceFor = (record: BatchRecord) => services(vendorOfRecord(record));
      // A driver killed inside an upload or a create left them made but unnamed: named first.
      await recordUnrecorded(store, serviceFor);
      for (const record of manifest.batches.filter((b) => b.step === "submitted" && !sentDirectly(b)))
        await cancelBatch(serviceFor(record), store, record, options.log);
      for (const record of manifest.batches.filter((b) => b.fileId || b.batchId))
        await deleteRemoteFiles(serviceFor(record), record, options.log);
      options.log(
        "deleted the run's files on the account " +
          "(a batch still cancelling may leave its output: `synthai gc` removes it later)",
      );
    }
    store.update(() => Object.assign(manifest, { state: "stopped", reason: "abandoned" }));
    if (options.deleteFolder) {
      await rm(runDir, { recursive: true, force: true });
      options.log(`run ${manifest.id} abandoned, and its folder ${runDir} deleted`);
    } else {
      options.log(
        `run ${manifest.id} abandoned; its folder stays (\`synthai abandon ${manifest.id} --delete\` removes it)`,
      );
    }
    return manifest;
  });
}

/** Cancels a batch in flight; one that finished meanwhile is looked at, so its output is kept or deleted too. */
export async function cancelBatch(
  service: BatchService,
  store: ManifestStore,
  record: BatchRecord,
  log: Log,
): Promise<void> {
  const batch = await service.cancel(record.batchId!);
  // Gone: nothing left to stop.
  if (!batch) return;
  store.update(() => applyRemote(record, batch));
  if (batch.status === "cancelling" || batch.status === "cancelled") log(`cancelled ${record.batchId}`);
}

export function isAbandoned(manifest: Manifest): boolean {
  return manifest.state === "stopped" && manifest.reason === "abandoned";
}

/**
 * `resume`, `cancel` or `import` of an abandoned run: its files are gone and it was given up, so it
 * says so, not what failed (an import would otherwise reopen it, and `resume` then send what was given up).
 */
export function refuseAbandoned(manifest: Manifest): void {
  if (!isAbandoned(manifest)) return;
  throw new UserError(
    `run ${manifest.id} was abandoned: its batches were cancelled and its files on the account deleted`,
    `start a new run instead (\`synthai export ${manifest.id}\` still writes what it had collected)`,
  );
}
