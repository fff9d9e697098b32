import { runServices } from "../api/services/index.ts";
import type { Manifest } from "../run/manifest.ts";
import { ManifestStore, stopDriver } from "../run/store.ts";
import { RunContext } from "./context.ts";
import { withOverrides, type ConfigOverrides } from "../run/config.ts";
import { runDataset } from "../dataset/spec.ts";
import type { Connection } from "./generate.ts";
import { drive, type DriveOptions } from "./drive.ts";
import { cancelBatch, refuseAbandoned } from "./abandon.ts";
import { recordUnrecorded } from "./submit.ts";

/** `synthai cancel`: cancels the batches in flight, waits through `cancelling`, keeps what they finished. */
export async function cancel(
  runDir: string,
  connection: Connection,
  options: DriveOptions & { overrides?: ConfigOverrides },
): Promise<Manifest> {
  await stopDriver(runDir, options.log);
  return ManifestStore.locked(runDir, async (store) => {
    const { manifest } = store;
    refuseAbandoned(manifest);
    store.update(
      () => (manifest.config = withOverrides(manifest.config, options.overrides ?? {}, manifest.id)),
    );
    const dataset = await runDataset(manifest.config, manifest.id, {
      acceptChanged: options.acceptChangedSpec,
    });
    const run = new RunContext(
      store,
      dataset,
      options.log,
      runServices(connection, manifest.config, options.log),
    );
    // The main vendor's key and address are checked now, before anything is asked.
    run.serviceFor();
    // A driver killed inside an upload or a create left them made but unnamed: named first.
    await recordUnrecorded(store, (record) => run.serviceFor(record));
    // A batch that ended meanwhile is not an error: it is looked at, and collected as any other.
    for (const record of manifest.batches.filter((b) => b.step === "submitted"))
      await cancelBatch(run.serviceFor(record), store, record, options.log);
    return drive(run, { ...options, cancelling: true });
  });
}
