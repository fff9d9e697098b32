// `synthai abandon`: give a run up. What is in flight is cancelled (not waited for), the run's
// files on the account are deleted, and with `deleteFolder` so is its run folder; otherwise the
// run is left stopped, and `resume` could still ask again for what it lacks.
import { sentDirectly } from "./transport.ts";
import { rm } from "node:fs/promises";
import { apiFailure, isApiError, makeClient } from "../api/client.ts";
import type { Log } from "../io/log.ts";
import type { Manifest } from "../run/manifest.ts";
import { ManifestStore, stopDriver } from "../run/store.ts";
import { deleteRemoteFiles } from "./download.ts";
import type { Connection } from "./generate.ts";
import { applyBatch } from "./wait.ts";

export async function abandon(
  runDir: string,
  connection: Connection,
  options: { deleteFolder: boolean; log: Log },
): Promise<Manifest> {
  await stopDriver(runDir, options.log);
  return ManifestStore.locked(runDir, async (store) => {
    const { manifest } = store;
    const remote = manifest.batches.filter((b) => b.fileId || b.batchId);
    if (remote.length) {
      const client = await makeClient({
        apiKey: connection.apiKey,
        baseURL: connection.baseURL ?? manifest.config.baseURL,
        provider: manifest.config.provider,
      });
      for (const record of manifest.batches.filter((b) => b.step === "submitted" && !sentDirectly(b))) {
        try {
          const batch = await client.batches.cancel(record.batchId!);
          store.update(() => applyBatch(record, batch));
          options.log(`cancelled ${record.batchId}`);
        } catch (error) {
          // Already finished, or gone: nothing left to stop.
          if (!isApiError(error) || ![400, 404, 409].includes(error.status ?? 0))
            throw apiFailure(error, `cancelling batch ${record.batchId}`, client);
        }
      }
      for (const record of remote) await deleteRemoteFiles(client, record, options.log);
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
