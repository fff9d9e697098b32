import { progress, type Log } from "../io/log.ts";
import type { BatchRecord, Manifest } from "../run/manifest.ts";
import type { RunContext } from "./context.ts";
import { formatUsd } from "../api/pricing.ts";
import { spentUsd, summarize } from "../run/totals.ts";
import { worstCase } from "./budget.ts";
import { runOnDone } from "./on-done.ts";
import { sendDirectly, submit } from "./submit.ts";
import { driveRounds, type Round } from "./rounds.ts";
import { collect } from "./collect.ts";
import { finish } from "./finish.ts";
import { fitsBudget, fitsLimits } from "./budget.ts";
import { progressLine, progressOf, type Progress } from "./progress.ts";
import { sendsDirectly } from "./transport.ts";
import { buildNextStages, samplesToDraw } from "./stages.ts";
import { build } from "./build-step.ts";
import { answerFromCache } from "./cached.ts";
import { loadParams } from "../dataset/params.ts";
import { checkSampling } from "../dataset/sampling.ts";

export interface DriveOptions {
  detach?: boolean;
  /** Told the run's id as soon as there is a run. */
  onRun?: (id: string) => void;
  /** Submit nothing new: wait for what is in flight, collect it, stop. */
  cancelling?: boolean;
  /** Go on with a spec module or prompt file changed since the run was made (and record it). */
  acceptChangedSpec?: boolean;
  log: Log;
  /** Where the run stands, as data, each time the progress line is drawn. */
  onProgress?: (progress: Progress) => void;
}

/** Drives the run, then runs its --on-done command once it has ended (not when detached). */
export async function driveAndNotify(run: RunContext, options: DriveOptions): Promise<Manifest> {
  const { manifest } = run;
  try {
    await drive(run, options);
    // The last event says where the run ended: done, stopped or detached, with its totals.
    options.onProgress?.(progressOf(manifest));
  } finally {
    if (manifest.config.onDone && ["done", "stopped", "failed"].includes(manifest.state))
      await runOnDone(manifest, run.log);
  }
  return manifest;
}

/** Submits, waits, collects and re-requests until every sample is valid or given up, then exports. */
export async function drive(run: RunContext, options: DriveOptions): Promise<Manifest> {
  const { log, manifest } = run;
  if (manifest.state === "done") {
    log(`run ${manifest.id} is already done`);
    return manifest;
  }
  run.store.updateLocal((manifest) => {
    manifest.state = "running";
    delete manifest.reason;
  });
  const stopped = await driveRounds(
    run,
    async () => {
      const step = await advanceRun(run, options);
      if (step.stopped || !step.done) return step;
      const more = options.cancelling ? 0 : await samplesToDraw(run);
      if (!more) return { inFlight: [], done: true };
      await drawMore(run, more);
      return { inFlight: [] };
    },
    () => {
      const now = progressOf(manifest);
      options.onProgress?.(now);
      const { line, key } = progressLine(now, log.width?.());
      progress(log, line, key);
    },
  );
  return stopped ?? finish(run);
}

/** Collects what finished and submits what may go; says whether to wait, stop, or export. */
async function advanceRun(run: RunContext, options: DriveOptions): Promise<Round> {
  const { log, manifest } = run;
  for (;;) {
    for (const record of manifest.batches.filter((b) => b.step === "finished")) await collect(run, record);
    if (!options.cancelling) await buildNextStages(run);

    let blocked: BatchRecord | undefined;
    if (!options.cancelling) {
      for (const record of manifest.batches.filter((b) => b.step === "pending" || b.step === "uploaded")) {
        await answerFromCache(run, record);
        if (record.step === "finished") continue; // wholly answered by the cache: collected next
        if (!fitsBudget(manifest, record)) {
          blocked = record;
          continue;
        }
        if (sendsDirectly(manifest.config, record)) {
          await sendDirectly(run, record);
          continue;
        }
        if (!fitsLimits(manifest, record)) continue;
        await submit(run, record);
      }
    }

    const inFlight = manifest.batches.filter((b) => b.step === "submitted");
    if (options.detach && inFlight.length > 0) {
      log(
        `detached: ${inFlight.length} batch(es) in flight; continue later with \`synthai resume ${manifest.id}\``,
      );
      return { inFlight, stopped: manifest };
    }
    if (inFlight.length > 0) return { inFlight };
    if (manifest.batches.some((b) => b.step === "finished")) continue;
    if (options.cancelling) return { inFlight, stopped: stop(run, "cancelled") };
    if (blocked) return { inFlight, stopped: stopForBudget(run, blocked) };
    return { inFlight, done: true };
  }
}

/** --fill: `count` more samples, built as a build goes on (a crash halfway resumes the build). */
async function drawMore(run: RunContext, count: number) {
  const { config } = run;
  const params = await loadParams(config.paramsFile, { optional: Boolean(config.input) });
  checkSampling(config.sampling, params, config.samples + count);
  run.store.update(() => (config.samples += count));
  await build(run, params);
}

function stopForBudget(run: RunContext, blocked: BatchRecord): Manifest {
  const { manifest } = run;
  return stop(
    run,
    `budget: spent ${formatUsd(spentUsd(manifest))} for ${validCount(manifest)} valid samples; ` +
      `the next batch (${blocked.requests} requests) ` +
      `could cost up to ${formatUsd(worstCase(manifest, blocked))}, ` +
      `over the ${formatUsd(manifest.config.budgetUsd ?? 0)} limit`,
    " -l <higher limit>",
  );
}

/** Stops the run for `reason`, and says the way on: `wayOn`, else `synthai resume` (with `resumeFlags`). */
export function stop(run: RunContext, reason: string, resumeFlags = "", wayOn?: string): Manifest {
  const manifest = run.store.update((manifest) => {
    manifest.state = "stopped";
    manifest.reason =
      reason === "cancelled"
        ? `cancelled with ${validCount(manifest)} valid samples, spent ${formatUsd(spentUsd(manifest))}`
        : reason;
    return manifest;
  });
  run.log(
    `stopped: ${manifest.reason}. ${wayOn ?? `Continue with \`synthai resume ${manifest.id}${resumeFlags}\``}, ` +
      `or export what there is with \`synthai export ${manifest.id}\``,
  );
  return manifest;
}

/** The run's valid samples, as status counts them: a later stage's answers (a judge's) are no more samples. */
function validCount(manifest: Manifest): number {
  return summarize(manifest).valid;
}
