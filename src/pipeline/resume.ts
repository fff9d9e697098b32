// `synthai resume`: a run picked up where it stopped, or topped up with new samples.
import { buildRequests } from "./build.ts";
import { makeClient } from "../api/client.ts";
import { UserError } from "../errors.ts";
import { type Log } from "../io/log.ts";
import { saveManifest, withLockedRun, type Manifest } from "../run/manifest.ts";
import { withOverrides, type ConfigOverrides } from "../run/config.ts";
import { runDataset, type Dataset } from "../dataset/spec.ts";
import { checkInputUnchanged } from "../dataset/input-file.ts";
import { checkSampling } from "../dataset/sampling.ts";
import { driveAndNotify, type DriveOptions } from "./drive.ts";
import { loadParams } from "../dataset/params.ts";
import { build, noteBuilt } from "./build-step.ts";
import { checkRunFiles, pendingInputs } from "../run/files.ts";
import { checkDraws } from "../run/draws-file.ts";
import { canaryFirst, type Connection } from "./generate.ts";

/** `synthai resume`: carry on from whatever step the manifest records. */
export async function resume(
  runDir: string,
  connection: Connection,
  options: DriveOptions & { overrides?: ConfigOverrides; topUp?: number },
): Promise<Manifest> {
  return withLockedRun(runDir, async (manifest) => {
    const overrides = options.overrides ?? {};
    const config = (manifest.config = withOverrides(manifest.config, overrides, manifest.id));
    // A filled run that stopped short at its old limit goes on drawing.
    if (overrides.maxDraws !== undefined && manifest.state === "done") manifest.state = "running";
    if (manifest.state === "done" && !options.topUp) {
      options.log(`run ${manifest.id} is already done`);
      return manifest;
    }
    if (config.input) await checkInputUnchanged(config.input, manifest.id);
    const dataset = await runDataset(config, manifest.id, { acceptChanged: options.acceptChangedSpec });
    const client = await makeClient({
      apiKey: connection.apiKey,
      baseURL: connection.baseURL ?? config.baseURL,
      provider: config.provider,
    });
    options.log(`resuming run ${manifest.id} (${manifest.state})`);
    if (manifest.state === "building")
      await build(runDir, manifest, dataset, options.log, await loadParams(config.paramsFile));
    else {
      checkRunFiles(runDir, manifest, pendingInputs(manifest));
      const pending = new Set(manifest.batches.filter((b) => b.step !== "collected").map((b) => b.chunk));
      await checkDraws(
        runDir,
        manifest.chunks.filter((c) => pending.has(c.index)),
      );
    }
    if (options.topUp) await topUp(runDir, manifest, dataset, options.topUp, options.log);
    await canaryFirst(client, runDir, manifest, options.log);
    return driveAndNotify(runDir, manifest, client, dataset, options);
  });
}

/**
 * --top-up N: adds N samples to a finished run, drawn from where its stream stopped (sample
 * indexes after its last), so no old sample comes again — with --sampling unique, no old
 * combination either. The run's rows in its CSV are then written again with the new ones.
 */
async function topUp(
  runDir: string,
  manifest: Manifest,
  dataset: Dataset,
  count: number,
  log: Log,
): Promise<void> {
  if (manifest.state !== "done")
    throw new UserError(
      `run ${manifest.id} is ${manifest.state}; only a finished run can be topped up`,
      `finish it first with \`synthai resume ${manifest.id}\``,
    );
  const { config } = manifest;
  const params = await loadParams(config.paramsFile);
  checkSampling(config.sampling ?? "random", params, config.samples + count);
  const first = config.samples;
  config.samples += count;
  const built = await buildRequests(runDir, config, params, dataset, {
    stream: manifest.version,
    range: { first, count, firstChunk: manifest.chunks.length },
  });
  manifest.chunks.push(...built.chunks);
  manifest.batches.push(...built.batches);
  noteBuilt(runDir, manifest, built);
  manifest.state = "running";
  saveManifest(runDir, manifest);
  log(
    `topping up run ${manifest.id}: samples ${first + 1} to ${config.samples} in ${built.batches.length} new file(s)`,
  );
}
