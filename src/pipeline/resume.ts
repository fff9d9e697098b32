// `synthai resume`: a run picked up where it stopped, or topped up with new samples.
import { checkVendorKeys, vendorOf } from "../run/config.ts";
import { buildRequests } from "./build.ts";
import { runServices } from "../api/services/index.ts";
import { UserError } from "../errors.ts";
import type { Manifest } from "../run/manifest.ts";
import { ManifestStore } from "../run/store.ts";
import { RunContext, type Services } from "./context.ts";
import { withOverrides, type ConfigOverrides } from "../run/config.ts";
import { runDataset } from "../dataset/spec.ts";
import { checkSampling } from "../dataset/sampling.ts";
import { driveAndNotify, type DriveOptions } from "./drive.ts";
import { loadParams } from "../dataset/params.ts";
import { build, recordBuilt } from "./build-step.ts";
import { checkRunFiles, pendingInputs } from "../run/files.ts";
import { checkDraws } from "../run/draws-file.ts";
import { canaryFirst, type Connection } from "./generate.ts";
import { checkCacheFolder } from "./cached.ts";
import { checkOwnRowsLast } from "./export.ts";
import { refuseAbandoned } from "./abandon.ts";

/** `synthai resume`: carry on from whatever step the manifest records. */
export async function resume(
  runDir: string,
  connection: Connection,
  options: DriveOptions & { overrides?: ConfigOverrides; topUp?: number; services?: Services },
): Promise<Manifest> {
  return ManifestStore.locked(runDir, async (store) => {
    const { manifest } = store;
    refuseAbandoned(manifest);
    const overrides = options.overrides ?? {};
    // Written with the run's next update: a resume that stops before one changes nothing.
    const config = (manifest.config = withOverrides(manifest.config, overrides, manifest.id));
    // A filled run that stopped short at its old limit goes on drawing.
    if (overrides.maxDraws !== undefined && manifest.state === "done") manifest.state = "running";
    if (manifest.state === "done" && !options.topUp) {
      options.log(`run ${manifest.id} is already done`);
      return manifest;
    }
    const dataset = await runDataset(config, manifest.id, {
      acceptChanged: options.acceptChangedSpec,
      reads: true,
    });
    const services = options.services ?? runServices(connection, config, options.log);
    // Every vendor's key, and the first stage's address, are checked now, before anything is built or sent.
    checkVendorKeys(config, process.env);
    checkCacheFolder(config);
    services(vendorOf(config));
    const run = new RunContext(store, dataset, options.log, services);
    options.log(`resuming run ${manifest.id} (${manifest.state})`);
    if (manifest.state === "building") await build(run, await loadParams(config.paramsFile));
    else {
      await checkRunFiles(runDir, manifest, pendingInputs(manifest));
      const pending = new Set(manifest.batches.filter((b) => b.step !== "collected").map((b) => b.chunk));
      await checkDraws(
        runDir,
        manifest.chunks.filter((c) => pending.has(c.index)),
      );
    }
    if (options.topUp) await topUp(run, options.topUp);
    await canaryFirst(run);
    return driveAndNotify(run, options);
  });
}

/**
 * --top-up N: adds N samples to a finished run, drawn from where its stream stopped (sample
 * indexes after its last), so no old sample comes again — with --sampling unique, no old
 * combination either. The run's rows in its CSV are then written again with the new ones.
 */
async function topUp(run: RunContext, count: number): Promise<void> {
  const { manifest, log } = run;
  // A --fill run keeps exactly its target: the new samples would be paid for, then left out.
  if (manifest.config.fill)
    throw new UserError(
      `run ${manifest.id} keeps exactly ${manifest.config.fill.target} samples (--fill): ` +
        "--top-up would pay for new samples its target then leaves out",
      "start a new run with a larger -n (and --fill) for more",
    );
  if (manifest.state !== "done")
    throw new UserError(
      `run ${manifest.id} is ${manifest.state}; only a finished run can be topped up`,
      `finish it first with \`synthai resume ${manifest.id}\``,
    );
  const { config } = manifest;
  // Its rows are written again with the new ones: refused now, not after the new samples are paid.
  checkOwnRowsLast(
    manifest,
    config.output,
    "--top-up writes this run's rows again where it wrote them: start a new run for more samples",
  );
  const params = await loadParams(config.paramsFile);
  checkSampling(config.sampling, params, config.samples + count);
  const first = config.samples;
  const built = await buildRequests(run.dir, { ...config, samples: first + count }, params, run.dataset, {
    stream: manifest.version,
    range: { first, count, firstChunk: manifest.chunks.length },
  });
  run.store.update((manifest) => {
    config.samples += count;
    manifest.state = "running";
    recordBuilt(run.dir, manifest, built);
  });
  log(
    `topping up run ${manifest.id}: samples ${first + 1} to ${config.samples} in ${built.batches.length} new file(s)`,
  );
}
