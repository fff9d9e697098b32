// The run's story from the start: check inputs, build the request files, then drive it.
import { usesBatches } from "./transport.ts";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { estimateBuildBytes } from "./build.ts";
import { runServices } from "../api/services/index.ts";
import { providerFor } from "../api/providers/index.ts";
import { checkVendorKeys } from "../run/config.ts";
import { UserError } from "../errors.ts";
import { checkFormatFits, datasetColumns, metricColumns, metricsPathFor, runInDataset } from "./export.ts";
import { checkOutputName, outputFormats } from "../io/formats/index.ts";
import { checkPrompts, drawSample, drawnNames, labelsOf, newFaker } from "../dataset/draw.ts";
import { DRAW_STREAM } from "../dataset/randomizer.ts";
import { checkDiskSpace, checkRunsDir } from "../io/disk.ts";
import type { Log } from "../io/log.ts";
import { ensureDir, newRunId, type Manifest, type RunConfig } from "../run/manifest.ts";
import { lockRun, ManifestStore } from "../run/store.ts";
import { RunContext, type Services } from "./context.ts";
import { lastStage, stageSettings, vendorOf } from "../run/config.ts";
import { datasetOf, fingerprintDataset, type Dataset, type Draw } from "../dataset/spec.ts";
import { keptValues, readInput } from "../dataset/input-file.ts";
import type { Row } from "../dataset/inputs/index.ts";
import { runPilot, type PilotOptions } from "./pilot.ts";
import { checkSampling } from "../dataset/sampling.ts";
import { driveAndNotify, stop, type DriveOptions } from "./drive.ts";
import { checkModel, sendCanary } from "./canary.ts";
import { answerFromCache, checkCacheFolder } from "./cached.ts";
import { EXPECTED_REASONING } from "../api/models.ts";
import { estimate } from "./budget.ts";
import { loadParams, type Params } from "../dataset/params.ts";
import { checkWritable } from "../io/disk.ts";
import { build } from "./build-step.ts";
import { checkStageRequests, checkStages, exportDataset, resolveStages, stagesEstimate } from "./stages.ts";
import { SharedPrefix } from "./prefix.ts";
import { prefixLines, type StagePricing } from "./prefix-estimate.ts";

export interface Connection {
  apiKey: string | undefined;
  baseURL: string | undefined;
}

/**
 * Before anything is built: each vendor the run's stages need answers and takes its key, and
 * each model is there (a judge is often another model, on another vendor).
 */
async function checkServices(services: Services, config: RunConfig, log: Log): Promise<void> {
  const stages = Array.from({ length: lastStage(config) }, (_, i) => i + 1);
  const vendors = new Set(stages.map((stage) => vendorOf(config, stage)));
  for (const vendor of vendors) await services(vendor).preflight(config.mode);
  const asked = new Set<string>();
  for (const stage of stages) {
    const { model } = stageSettings(config, stage);
    const vendor = vendorOf(config, stage);
    if (asked.has(`${vendor}/${model}`)) continue;
    asked.add(`${vendor}/${model}`);
    await checkModel(services(vendor), { ...config, model }, log);
  }
}

/** `synthai generate`: check inputs, build every request file, then drive the run to its end. */
export async function generate(
  given: RunConfig,
  runsDir: string,
  connection: Connection,
  options: DriveOptions & PilotOptions & { dryRun?: boolean; input?: InputOptions; services?: Services },
): Promise<Manifest> {
  // The run's own copy: its stages, fingerprints and input are filled in here, never the caller's.
  const config = structuredClone(given);
  checkRunsHere(config, Boolean(options.dryRun));
  // With an input file, params.json is optional: parameters then only add to each row.
  const params = await loadParams(config.paramsFile, { optional: Boolean(options.input) });
  const dataset = await datasetOf(config);
  await fingerprintDataset(config);
  resolveStages(config, dataset);
  checkStageRequests(config, dataset, options.log);
  // A dry run sends nothing, so needs no key; a run does, for each vendor a stage runs on.
  // A dry run looks nothing up in the cache of answers and keeps nothing there.
  if (!options.dryRun) {
    checkVendorKeys(config, process.env);
    checkCacheFolder(config);
  }
  const firstRows = options.input ? await readRunInput(config, options.input) : [];
  await checkInputs(config, params, dataset, runsDir, Boolean(options.yes), firstRows);
  // A test hands its in-process services in; a run makes its vendors' own.
  const services = options.dryRun
    ? undefined
    : (options.services ?? runServices({ ...connection, baseURL: config.baseURL }, config, options.log));
  if (services) await checkServices(services, config, options.log);
  warnAboutTokens(config, options.log);
  const id = newRunId(new Date());
  options.onRun?.(id);
  const runDir = join(runsDir, id);
  await ensureDir(runDir);
  const store = ManifestStore.create(runDir, {
    version: DRAW_STREAM,
    id,
    createdAt: new Date().toISOString(),
    state: "building",
    config,
    chunks: [],
    batches: [],
  });
  const run = new RunContext(store, dataset, options.log, services);
  const unlock = lockRun(runDir);
  try {
    options.log(
      `run ${id}: ${config.samples} samples, model ${config.model}, seed ${config.seed} (${runDir})`,
    );
    // A dry run folds the prefix every request shares as they are built.
    const shared = options.dryRun ? new SharedPrefix() : undefined;
    await build(
      run,
      params,
      shared && ((messages, draw) => shared.add(messages, draw)),
      !options.pilot,
    ).catch(async (error) => {
      // A spec that fails on a later sample: nothing was sent, so no run is left half-built.
      if (error instanceof UserError) await rm(runDir, { recursive: true, force: true });
      throw error;
    });
    if (shared) return await endDryRun(run, shared);
    if (options.pilot && !(await runPilot(run, options.pilot, options)))
      return stop(run, "pilot: waiting for a go; the requests are built");
    await canaryFirst(run);
    return await driveAndNotify(run, options);
  } finally {
    unlock();
  }
}

/** A dry run ends once built: what it would cost, what the prefix cache would save, where its files are. */
async function endDryRun(run: RunContext, shared: SharedPrefix): Promise<Manifest> {
  const { store, config, log } = run;
  store.updateLocal((manifest) => (manifest.state = "dry-run"));
  log(estimate(store.manifest));
  for (const line of await stagesEstimate(run)) log(line);
  for (const line of await prefixLines(
    run.dataset,
    stagePricing(config),
    shared.first!,
    config.samples,
    shared,
  ))
    log(line);
  log(`dry run: nothing was submitted; request files are in ${join(run.dir, "requests")}`);
  return store.manifest;
}

/** Each stage's model and price, the first's included. */
function stagePricing(config: RunConfig): StagePricing[] {
  return Array.from({ length: lastStage(config) }, (_, i) => stageSettings(config, i + 1));
}

/** The canary goes before the first batch of a run (not in sync mode: there every request goes directly). */
export async function canaryFirst(run: RunContext): Promise<void> {
  const { manifest, config } = run;
  if (
    !usesBatches(config) ||
    config.noCanary ||
    manifest.pilot ||
    (manifest.canary && !manifest.canary.refused)
  )
    return;
  // A run the cache answers (wholly or in part) asks nothing new of the model first.
  for (const record of manifest.batches) await answerFromCache(run, record);
  if (manifest.batches.some((b) => b.step !== "pending" || b.cached?.hits)) return;
  await sendCanary(run);
}

/** Reasoning spends the answer's tokens first: a limit below what the effort needs leaves answers empty. */
function warnAboutTokens(config: RunConfig, log: Log): void {
  const needed = config.reasoningEffort ? EXPECTED_REASONING[config.reasoningEffort] : 0;
  if (needed && config.maxTokens < needed + 200)
    log(
      `warning: --max-tokens ${config.maxTokens} leaves little room: reasoning ` +
        `at effort ${config.reasoningEffort} often takes ${needed} tokens of it; ` +
        "raise --max-tokens or lower --reasoning-effort",
    );
}

/**
 * Refuses, before anything is written or paid for, what this run could not finish: an output
 * it could not append to, a spec that does not fit the params, a build the disk cannot hold.
 */
async function checkInputs(
  config: RunConfig,
  params: Params,
  dataset: Dataset,
  runsDir: string,
  goOn: boolean,
  firstRows: Row[],
): Promise<void> {
  checkSampling(config.sampling, params, config.samples);
  checkRunsDir(runsDir);
  checkOutputName(config.output, config.format);
  await checkWritable(config.output);
  const faker = await newFaker(config.locale, DRAW_STREAM);
  const { input } = config;
  const rowOf = (index: number) => {
    const row = input && firstRows[Math.floor(index / input.perRow) % input.rows];
    return row ? { values: row.values, kept: keptValues(row, input.columns) } : undefined;
  };
  const drawing = { faker, params, dataset, seed: config.seed, sampling: config.sampling };
  checkPrompts(drawing, { samples: config.samples, paramsFile: config.paramsFile, rowOf });
  const first = drawSample(drawing, 0, rowOf(0));
  checkStages(dataset, first, labelsOf(first));
  if (input) checkColumnsApart(input.columns, first);
  // With stages, the output holds every stage's fields.
  const exported = exportDataset(dataset);
  const columns = datasetColumns(exported.fields, Object.keys(labelsOf(first)), runInDataset(config));
  checkFormatFits(config.output, config.format, exported, columns);
  const { format, metricsFormat } = outputFormats(config.output, config.format);
  const existing = await format.readExisting(config.output, columns, config.delimiter);
  if (config.metrics)
    await metricsFormat.readExisting(
      metricsPathFor(config.output),
      metricColumns(config),
      existing?.delimiter ?? config.delimiter,
    );
  if (!goOn) checkDiskSpace(runsDir, estimateBuildBytes(config, dataset, first));
}

/**
 * Input columns go to the output beside the labels: a name that clashes is refused (a field
 * named like a kept column is checkStages' to refuse, as a field named like any label).
 */
function checkColumnsApart(columns: string[], first: Draw): void {
  const taken = new Map<string, string>([
    ["index", "a column synthai writes"],
    ["sample_id", "a column synthai writes"],
  ]);
  for (const [name, what] of drawnNames({ ...first, kept: {} })) taken.set(name, what);
  const clash = columns.find((c) => taken.has(c));
  if (clash)
    throw new UserError(
      `input column "${clash}" has the name of ${taken.get(clash)}`,
      "rename the column, or leave it out with --keep-columns",
    );
}

export interface InputOptions {
  path: string;
  perRow: number;
  keepColumns?: string[];
  /** -n was given: fewer samples than rows (the first ones), or more (rows cycled). */
  samplesGiven: boolean;
  /** --input-sample random: fewer samples than rows are a seeded sample of them, not the first. */
  random?: boolean;
}

/** --input: the file read into the run's config (its record, and -n from its rows); its first rows. */
async function readRunInput(config: RunConfig, input: InputOptions): Promise<Row[]> {
  const read = await readInput(input.path, input.perRow, input.keepColumns);
  config.input = read.record;
  if (!input.samplesGiven) config.samples = read.record.rows * read.record.perRow;
  // A seeded sample of the rows, when fewer samples are asked than the rows hold.
  const wanted = Math.ceil(config.samples / read.record.perRow);
  if (input.random && wanted < read.record.rows) read.record.random = { rows: wanted, seed: config.seed };
  if (config.batches > config.samples)
    throw new UserError(
      `-b/--batches (${config.batches}) is larger than the ${config.samples} samples`,
      "use at most one batch per sample",
    );
  return read.firstRows;
}

/** A service whose batches run offline (vLLM's run-batch) takes request files built, never sent. */
function checkRunsHere(config: RunConfig, dryRun: boolean): void {
  const { runsOffline } = providerFor(config.provider);
  if (runsOffline && usesBatches(config) && !dryRun)
    throw new UserError(runsOffline, "build the request files with --dry-run, or use --mode sync");
}
