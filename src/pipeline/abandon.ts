// `synthai abandon`: give a run up. What is in flight is cancelled (not waited for), the run's
// files on the account are deleted, and with `deleteFolder` so is its run folder; otherwise the
// folder stays to read and export from, and `resume` says the run was abandoned.
import { sentDirectly } from "./transport.ts";
import { rm } from "node:fs/promises";
import { apiFailure, call, isApiError, makeClient, type Service } from "../api/client.ts";
import type { Log } from "../io/log.ts";
import type { BatchRecord, Manifest } from "../run/manifest.ts";
import { ManifestStore, stopDriver } from "../run/store.ts";
import { deleteRemoteFiles } from "./download.ts";
import type { Connection } from "./generate.ts";
import { applyBatch } from "./wait.ts";
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
      const client = await makeClient({
        apiKey: connection.apiKey,
        baseURL: connection.baseURL ?? manifest.config.baseURL,
        provider: manifest.config.provider,
      });
      // A driver killed inside an upload or a create left them made but unnamed: named first.
      await recordUnrecorded(store, client);
      for (const record of manifest.batches.filter((b) => b.step === "submitted" && !sentDirectly(b)))
        await cancelBatch(client, store, record, options.log);
      for (const record of manifest.batches.filter((b) => b.fileId || b.batchId))
        await deleteRemoteFiles(client, record, options.log);
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
  client: Service,
  store: ManifestStore,
  record: BatchRecord,
  log: Log,
): Promise<void> {
  try {
    const batch = await client.batches.cancel(record.batchId!);
    store.update(() => applyBatch(record, batch));
    log(`cancelled ${record.batchId}`);
  } catch (error) {
    // Already finished, or gone: nothing left to stop.
    if (!isApiError(error) || ![400, 404, 409].includes(error.status ?? 0))
      throw apiFailure(error, `cancelling batch ${record.batchId}`, client);
    if (error.status === 404) return;
    const batch = await call(client, `looking at batch ${record.batchId}`, () =>
      client.batches.retrieve(record.batchId!),
    );
    store.update(() => applyBatch(record, batch));
  }
}

/** `resume` or `cancel` of an abandoned run: its files are gone, so it says so, not what failed. */
export function refuseAbandoned(manifest: Manifest): void {
  if (manifest.state !== "stopped" || manifest.reason !== "abandoned") return;
  throw new UserError(
    `run ${manifest.id} was abandoned: its batches were cancelled and its files on the account deleted`,
    `start a new run instead (\`synthai export ${manifest.id}\` still writes what it had collected)`,
  );
}
