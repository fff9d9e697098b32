// `synthai status <run>`: one look at the service for a run nobody drives (a detached run, a
// driver killed), so its batches show as they are, not as last recorded. Only what the service
// says of each batch is recorded, as a driver's poll records it; nothing is collected or sent.
import { vendorOfRecord } from "../run/config.ts";
import { providerFor } from "../api/providers/index.ts";
import { runServices } from "../api/services/index.ts";
import { UserError } from "../errors.ts";
import type { BatchRecord, Manifest } from "../run/manifest.ts";
import { ManifestStore } from "../run/store.ts";
import type { Connection } from "./generate.ts";
import { poll } from "./wait.ts";

/** The run as it now stands, and one line to say when that is not what the service says. */
export interface Look {
  manifest: Manifest;
  note?: string;
}

/**
 * Batches the service has and a run under way has not collected: what a look can learn about. A
 * stopped run's (abandoned, its batches left cancelling) are no longer the run's business.
 */
function awaited(manifest: Manifest): BatchRecord[] {
  return manifest.state === "running" ? manifest.batches.filter((b) => b.step === "submitted") : [];
}

/**
 * Asks the service about the run's batches in flight, under the run's lock (a run someone
 * drives is left to its driver), and records what it says. Without a key, says so and how to
 * look. A run whose batches have all finished is still under way: `resume` collects them.
 */
export async function lookAtService(
  runDir: string,
  manifest: Manifest,
  connection: Connection,
  recordedAt: Date,
): Promise<Look> {
  const asRecorded = `shown as recorded at ${recordedAt.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  // Nothing left to ask: what was learnt before still stands, and is still said.
  if (awaited(manifest).length === 0) return { manifest, ...finishedNote(manifest) };
  const provider = providerFor(manifest.config.provider);
  if (!connection.apiKey && !process.env[provider.keyVariable])
    return {
      manifest,
      note:
        `batches ${asRecorded}, without asking ${provider.title}: set ${provider.keyVariable} ` +
        `(or pass -k) to ask, or \`synthai resume ${manifest.id}\` to go on with the run`,
    };
  const looked = await ManifestStore.lockedIfFree(runDir, async (store) => {
    const inFlight = awaited(store.manifest);
    if (inFlight.length === 0) return { manifest: store.manifest, ...finishedNote(store.manifest) };
    const before = JSON.stringify(store.manifest);
    try {
      const services = runServices({ ...connection, quick: true }, store.manifest.config);
      await poll({ serviceFor: (record) => services(vendorOfRecord(record ?? {})), store }, inFlight);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      return { manifest: store.manifest, note: `batches ${asRecorded}: ${error.message}` };
    } finally {
      // What the service said of a batch still running is kept too, as a driver's next update keeps
      // it; a look that learnt nothing leaves the manifest (and its time, which status shows) alone.
      if (JSON.stringify(store.manifest) !== before) store.updateLocal(() => {});
    }
    return { manifest: store.manifest, ...finishedNote(store.manifest) };
  });
  if ("holder" in looked)
    return { manifest, note: `run is driven by process ${looked.holder}: batches ${asRecorded}` };
  return looked.done;
}

/**
 * A batch that has ended on the service is not the run's end: its answers are still to collect.
 * Said of a run under way (a stopped run's batches are no longer its business), at every look.
 */
function finishedNote(manifest: Manifest): { note?: string } {
  const open = manifest.batches.filter((b) => b.step !== "collected");
  const ended = open.filter((b) => b.step === "finished");
  if (manifest.state !== "running" || ended.length === 0) return {};
  return {
    note:
      `${ended.length} of ${open.length} batch(es) not collected yet ended on the service: ` +
      `\`synthai resume ${manifest.id}\` collects them`,
  };
}
