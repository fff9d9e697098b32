// `synthai status <run>`: one look at the service for a run nobody drives (a detached run, a
// driver killed), so its batches show as they are, not as last recorded. Only what the service
// says of each batch is recorded, as a driver's poll records it; nothing is collected or sent.
import { vendorOfRecord } from "../run/config.ts";
import { providerFor } from "../api/providers/index.ts";
import { runServices } from "../api/services/index.ts";
import { UserError } from "../errors.ts";
import { sentOf, type BatchRecord, type Manifest } from "../run/manifest.ts";
import { answeredDirectly } from "./sync.ts";
import { sentDirectly } from "./transport.ts";
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
  if (awaited(manifest).length === 0) return { manifest, ...(await notesOf(runDir, manifest)) };
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
    if (inFlight.length === 0)
      return { manifest: store.manifest, ...(await notesOf(runDir, store.manifest)) };
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
    return { manifest: store.manifest, ...(await notesOf(runDir, store.manifest)) };
  });
  if ("holder" in looked)
    return { manifest, note: `run is driven by process ${looked.holder}: batches ${asRecorded}` };
  return looked.done;
}

/** What a run under way has that its figures do not show yet (a stopped run's batches are no longer its business). */
async function notesOf(runDir: string, manifest: Manifest): Promise<{ note?: string }> {
  if (manifest.state !== "running") return {};
  const notes = [finishedNote(manifest), await directNote(runDir, manifest)].filter(Boolean);
  return notes.length ? { note: notes.join("; ") } : {};
}

/**
 * A batch that has ended on the service is not the run's end: its answers are still to collect.
 * Said at every look.
 */
function finishedNote(manifest: Manifest): string | undefined {
  const open = manifest.batches.filter((b) => b.step !== "collected");
  const ended = open.filter((b) => b.step === "finished");
  if (ended.length === 0) return undefined;
  return (
    `${ended.length} of ${open.length} batch(es) not collected yet ended on the service: ` +
    `\`synthai resume ${manifest.id}\` collects them`
  );
}

/**
 * Requests sent directly (--mode sync) and answered are paid for, and counted in the run's cost
 * only when their file is collected: a driver killed while sending leaves them out of the figures.
 */
async function directNote(runDir: string, manifest: Manifest): Promise<string | undefined> {
  const sending = manifest.batches.filter(
    (b) => sentDirectly(b) && b.step !== "collected" && b.step !== "finished",
  );
  let answered = 0;
  for (const record of sending) answered += await answeredDirectly(runDir, record);
  if (answered === 0) return undefined;
  const of = sending.reduce((sum, b) => sum + sentOf(b).requests, 0);
  return (
    `${answered} of ${of} requests sent directly are answered, and paid for, but not in the cost above ` +
    `until they are collected: \`synthai resume ${manifest.id}\` sends the rest and collects them`
  );
}
