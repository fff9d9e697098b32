import { join } from "node:path";
import { call, makeClient } from "../api/client.ts";
import { waitForLock } from "../io/lock.ts";
import { saveManifest, withLockedRun, type Manifest } from "../run/manifest.ts";
import { runDataset } from "../dataset/spec.ts";
import type { Connection } from "./generate.ts";
import { drive, type DriveOptions } from "./drive.ts";
import { applyBatch } from "./wait.ts";

/** `synthai cancel`: cancels the batches in flight, waits through `cancelling`, keeps what they finished. */
export async function cancel(
  runDir: string,
  connection: Connection,
  options: DriveOptions & { pollIntervalSeconds?: number },
): Promise<Manifest> {
  // A run driven by another process (a terminal left open, a cron job) is stopped first, as
  // Ctrl-C would stop it; its lock comes free when it has gone, and the cancel goes on from there.
  const lock = join(runDir, ".lock");
  const release = await waitForLock(lock, (pid) => {
    options.log(`run is being driven by process ${pid}: stopping it first`);
    process.kill(pid, "SIGINT");
  });
  release();
  return withLockedRun(runDir, async (manifest) => {
    if (options.pollIntervalSeconds !== undefined)
      manifest.config.pollIntervalSeconds = options.pollIntervalSeconds;
    const dataset = await runDataset(manifest.config, manifest.id, {
      acceptChanged: options.acceptChangedSpec,
    });
    const client = await makeClient({
      apiKey: connection.apiKey,
      baseURL: connection.baseURL ?? manifest.config.baseURL,
      provider: manifest.config.provider,
    });
    for (const record of manifest.batches.filter((b) => b.step === "submitted")) {
      const batch = await call(client, `cancelling batch ${record.batchId}`, () =>
        client.batches.cancel(record.batchId!),
      );
      applyBatch(record, batch);
      options.log(`cancelling ${record.batchId} (${batch.status})`);
    }
    saveManifest(runDir, manifest);
    return drive(runDir, manifest, client, dataset, { ...options, cancelling: true });
  });
}
