// The one drive loop: rounds of collecting and sending, with a wait and a look between them.
import { sleep } from "../api/client.ts";
import { UserError } from "../errors.ts";
import { formatDuration } from "../io/log.ts";
import type { BatchRecord, Manifest } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";
import { poll } from "./wait.ts";

const MAX_POLL_SECONDS = 300;
const MAX_OUTAGE_SECONDS = 6 * 3600;

/** What one round of a drive loop left: batches to wait for, or the end (done, or stopped with the manifest). */
export interface Round {
  inFlight: BatchRecord[];
  done?: boolean;
  stopped?: Manifest;
}

/**
 * The one drive loop, for the dataset's batches and the embeddings' alike: a round (collect what
 * finished, send what may go), then a wait and a look at what is in flight, until a round says
 * done or stopped. Undefined when done; the manifest when a round stopped the run.
 */
export async function driveRounds(
  run: RunContext,
  round: () => Promise<Round>,
  looked: () => void,
): Promise<Manifest | undefined> {
  const { log, manifest } = run;
  let pollSeconds = manifest.config.pollIntervalSeconds;
  let outageSince: number | undefined;
  for (;;) {
    try {
      const step = await round();
      if (step.stopped) return step.stopped;
      if (step.done) return undefined;
      if (!step.inFlight.length) continue;
      await sleep(pollSeconds * 1000);
      const changed = await poll(run, step.inFlight);
      outageSince = undefined;
      looked();
      // Back off while nothing moves; look again soon once something does.
      pollSeconds = changed
        ? manifest.config.pollIntervalSeconds
        : Math.min(MAX_POLL_SECONDS, pollSeconds * 1.5);
    } catch (error) {
      // An overnight run outlasts an outage: wait and look again, for up to MAX_OUTAGE_SECONDS.
      if (!(error instanceof UserError && error.transient)) throw error;
      outageSince ??= Date.now();
      if (Date.now() - outageSince > MAX_OUTAGE_SECONDS * 1000) throw error;
      log(`warning: ${error.message}; trying again in ${formatDuration(pollSeconds)}`);
      await sleep(pollSeconds * 1000);
      pollSeconds = Math.min(MAX_POLL_SECONDS, pollSeconds * 2);
    }
  }
}
