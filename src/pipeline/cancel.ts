import { call, makeClient } from "../api/client.ts";
import { saveManifest, stopDriver, withLockedRun, type Manifest } from "../run/manifest.ts";
import { withOverrides, type ConfigOverrides } from "../run/config.ts";
import { runDataset } from "../dataset/spec.ts";
import type { Connection } from "./generate.ts";
import { drive, type DriveOptions } from "./drive.ts";
import { applyBatch } from "./wait.ts";

/** `synthai cancel`: cancels the batches in flight, waits through `cancelling`, keeps what they finished. */
export async function cancel(
  runDir: string,
  connection: Connection,
  options: DriveOptions & { overrides?: ConfigOverrides },
): Promise<Manifest> {
  await stopDriver(runDir, options.log);
  return withLockedRun(runDir, async (manifest) => {
    manifest.config = withOverrides(manifest.config, options.overrides ?? {}, manifest.id);
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
