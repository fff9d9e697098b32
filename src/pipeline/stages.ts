// Stages: a run is a chain of rounds. Stage 1 is the generation; each later stage (a judge, a
// rewrite) is one more round of batches over the samples its chunk still keeps, built from their
// earlier answers as soon as that chunk's previous stage is collected (a slow chunk holds no other
// back). What a sample is after stage k — kept or dropped, and its fields — is derived from the
// run folder's samples files each time, never stored apart, so a crash leaves nothing to undo.
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { costUsd, formatUsd } from "../api/pricing.ts";
import { UserError } from "../errors.ts";
import { withTokenCounter } from "../api/tokens.ts";
import {
  checkTypes,
  holds,
  namesIn,
  parseCondition,
  shown,
  whereGiven,
  type Condition,
} from "../dataset/condition.ts";
import { previousTurnOf } from "../dataset/conversation.ts";
import { checkPlaceholders } from "../dataset/prompt-file.ts";
import { answerAsAsked, fieldOfModel, groupOf } from "../dataset/several-models.ts";
import { drawnNames, promptOf } from "../dataset/draw.ts";
import {
  changedDataset,
  datasetSource,
  savedTurn,
  stagePlan,
  type Dataset,
  type Draw,
  type LoadedDataset,
  type PlannedStage,
} from "../dataset/spec.ts";
import { DAMAGED_HINT, JsonlWriter, readJsonlBatches } from "../io/jsonl.ts";
import type { RunContext, RunView } from "./context.ts";
import type { DrawsLine } from "../run/draws-file.ts";
import { requestsFileName, samplesFile, noteFiles } from "../run/files.ts";
import {
  crashPoint,
  emptyCollected,
  ensureDir,
  stageOf,
  type BatchRecord,
  type Chunk,
  type RunConfig,
} from "../run/manifest.ts";
import {
  configOfStage,
  lastStage,
  resolveStageSettings,
  stageSettings,
  endpointOf,
  vendorField,
} from "../run/config.ts";
import { customId, requestFor, requestOptions, toMessages } from "./build.ts";
import type { Log } from "../io/log.ts";
import type { SampleFeed } from "./export.ts";
import { eachSampleIn, sharedValues } from "./export-order.ts";
import type { SampleResult } from "../run/records.ts";

/**
 * Every stage's model, tokens, effort and price as the run will use them, the first's included:
 * what its prompt file (or the spec) says, else the run's own (run/config.ts decides).
 */
/**
 * Before anything is built: each stage's settings as its endpoint would send them — refused in one
 * line where every request would be (a service that checks only when a batch ends), and what is
 * left out (a temperature Claude's API refuses) said once.
 */
export function checkStageRequests(config: RunConfig, dataset: LoadedDataset, log: Log): void {
  stagePlan(dataset).forEach((planned, i) => {
    const stage = i + 1;
    const options = requestOptions(configOfStage(config, stage), planned.schema);
    const endpoint = endpointOf(config, stage);
    endpoint.check?.(options, `stage ${stage} (${planned.source ?? "the built-in dataset"})`);
    const notice = endpoint.notice?.(options);
    if (notice) log(`note: stage ${stage}: ${notice}`);
  });
}

export function resolveStages(config: RunConfig, dataset: LoadedDataset): void {
  const stages = dataset.stages ?? [];
  const fingerprints = new Map((config.stages ?? []).map((s) => [s.promptFile, s.datasetSha256]));
  if (stages.length)
    config.stages = stages.map((stage, i) => {
      const { file } = stage;
      const turn = savedTurn(stage);
      // A second model of a stage is built after what the first is built after, and runs beside it.
      const sibling = stage.among?.index;
      const after = sibling ? i + 2 - sibling - 1 : undefined;
      const datasetSha256 = fingerprints.get(file);
      return {
        ...(file ? { promptFile: file } : {}),
        ...(turn ? { turn } : {}),
        ...(after ? { after } : {}),
        ...(datasetSha256 ? { datasetSha256 } : {}),
        ...resolveStageSettings(stage, config, datasetSource(stage)),
      };
    });
  // Stage 1 last: a later stage without a model of its own takes the run's, not the first file's.
  const [first] = stagePlan(dataset);
  const { reasoningEffort, ...settings } = resolveStageSettings(first!, config, datasetSource(first!), true);
  delete config.reasoningEffort;
  delete config.vendor;
  Object.assign(config, settings, reasoningEffort ? { reasoningEffort } : {});
}

/**
 * Before anything is built: each stage's placeholders, `keep` and `when` name only what exists
 * by then — the first sample's labels (input columns, parameters, generated values) and the
 * fields of the stages before (and, for `keep`, its own).
 */
export function checkStages(dataset: LoadedDataset, first: Draw, labels: Record<string, string>): void {
  const last = 1 + (dataset.stages?.length ?? 0);
  const known = new Set(Object.keys(labels));
  const types = new Map<string, string | undefined>(); // each field's schema type, the latest stage's
  const typeOf = (name: string) => (types.has(name) ? types.get(name) : types.get(name.split(".").at(-1)!));
  const drawn = drawnNames(first);
  for (let stage = 1; stage <= last; stage++) {
    const own = datasetOfStage(dataset, stage);
    checkFieldNames(own, drawn);
    const fieldsSoFar = Object.fromEntries([...known].filter((n) => !(n in labels)).map((n) => [n, "x"]));
    if (stage > 1) checkPlaceholders(own, { params: {}, values: labels, fields: fieldsSoFar });
    else checkPlaceholders(own, first);
    const { keep, when } = conditionsOf(dataset, stage);
    const check = (condition: Condition | undefined, what: string, names: Set<string>) => {
      if (!condition) return;
      const unknown = namesIn(condition).find((n) => !names.has(n) && !names.has(n.split(".").at(-1)!));
      if (unknown)
        throw new UserError(
          `${datasetSource(own)}: ${what} names "${unknown}", which nothing before it gives`,
          `it can use ${[...names].join(", ")}`,
        );
      checkTypes(condition, `${datasetSource(own)}: ${what}`, typeOf);
    };
    check(when, "when", known);
    for (const [field, type] of declaredTypes(own)) (known.add(field), types.set(field, type));
    check(keep, "keep", known);
  }
}

/** A row holds one value per name: a stage's field named twice, or like a drawn label, would lose one. */
function checkFieldNames(own: PlannedStage, drawn: Map<string, string>): void {
  const twice = own.fields.find((field, i) => own.fields.indexOf(field) !== i);
  if (twice !== undefined)
    throw new UserError(
      `${datasetSource(own)}: field "${twice}" is named twice`,
      "give each field a name of its own",
    );
  const clash = own.fields.find((field) => drawn.has(field));
  if (clash !== undefined)
    throw new UserError(
      `${datasetSource(own)}: field "${clash}" has the name of ${drawn.get(clash)}`,
      "rename the field or the label: a row holds one value per name",
    );
}

/** Each field of a stage with the type its schema declares, if any (a model's field by the field asked). */
function declaredTypes(own: PlannedStage): [string, string | undefined][] {
  const properties = (own.schema?.properties ?? {}) as Record<string, { type?: unknown } | undefined>;
  const asked = groupOf(own)?.fields ?? own.fields;
  return own.fields.map((field, i) => {
    // `type: [string, "null"]` is a string that may be missing.
    const types = [properties[asked[i]!]?.type].flat().filter((t) => t !== "null");
    return [field, types.length === 1 && typeof types[0] === "string" ? types[0] : undefined];
  });
}

/** The last stage stage `stage` builds on: the one before it, or, for a model beside another, the one before them. */
function builtAfter(config: RunConfig, stage: number): number {
  return config.stages?.[stage - 2]?.after ?? stage - 1;
}

/** Stage `stage` of the run's plan (fields, prompt, parser, how it runs), the first being the dataset itself. */
export function datasetOfStage(dataset: LoadedDataset, stage = 1): PlannedStage {
  const own = stagePlan(dataset)[stage - 1];
  if (!own) throw new Error(`the run has no stage ${stage}`);
  return own;
}

/** Every field an export writes: the first stage's, then each new name a later stage adds. */
export function exportDataset(dataset: LoadedDataset): LoadedDataset {
  if (!dataset.stages?.length) return dataset;
  const fields = [...dataset.fields];
  const properties: Record<string, unknown> = { ...(dataset.schema?.properties ?? {}) };
  for (const stage of dataset.stages) {
    for (const field of stage.fields) if (!fields.includes(field)) fields.push(field);
    Object.assign(properties, stage.schema?.properties ?? {});
  }
  // A conversation's turns become the chat export, unless the first stage maps its own.
  const chat = dataset.chat ?? dataset.stages.findLast((stage) => stage.chat)?.chat;
  return changedDataset(dataset, {
    fields,
    schema: { type: "object", properties },
    ...(chat ? { chat } : {}),
  });
}

/** A stage's conditions, parsed. */
interface Conditions {
  keep?: Condition | undefined;
  when?: Condition | undefined;
}

function conditionsOf(dataset: LoadedDataset, stage: number): Conditions {
  const own = datasetOfStage(dataset, stage);
  const where = datasetSource(own);
  const when = stage > 1 && own.when ? parseCondition(own.when, `${where}: when`) : undefined;
  const previousTurn = previousTurnOf(own);
  return {
    ...(own.keep ? { keep: parseCondition(own.keep, `${where}: keep`) } : {}),
    ...(previousTurn ? { when: whereGiven(previousTurn, when) } : when ? { when } : {}),
  };
}

/** What a sample is after the stages so far. */
export interface SampleOutcome {
  /** Its first valid stage-1 answer (metrics, labels), if any. */
  first?: SampleResult;
  fields: Record<string, string>;
  /** Why it went no further: `stage 2: not valid`, `stage 2: keep Score >= 4`. */
  droppedBy?: string;
  /** What every answer for it cost, in every stage and attempt. */
  costUsd: number;
}

/**
 * How many samples' outcomes are worked out at a time. Held whole, a chunk's (up to 50,000
 * samples, every stage's fields, about 1.5 KB a sample) put 26–31 MiB on a staged export's peak
 * (BENCHMARKS.md).
 */
const OUTCOMES_AT_ONCE = 10_000;

/** A run of a chunk's samples after the stages so far, the first at `from` (its place in the chunk). */
interface OutcomeSlice {
  from: number;
  labels: Record<string, string>[];
  outcomes: SampleOutcome[];
}

/**
 * Every sample of a chunk after stages 1..`upTo`, in sample order, `perSlice` samples at a time:
 * each slice reads the chunk's samples files again and parses only its own lines (the others
 * are passed over by their heads, undecoded). A stage's `when` decides which samples it asked;
 * `keep` then drops.
 */
export async function* outcomesOf(
  run: RunView,
  chunk: Chunk,
  upTo: number,
  perSlice = OUTCOMES_AT_ONCE,
): AsyncGenerator<OutcomeSlice> {
  const labels = labelsOf(run.dir, chunk);
  const share = sharedValues();
  try {
    for (let from = 0; from < chunk.samples; from += perSlice) {
      const size = Math.min(perSlice, chunk.samples - from);
      const slice = { from, labels: await labels.next(size), outcomes: [] as SampleOutcome[] };
      slice.outcomes = await sliceOutcomes(run, chunk, upTo, { ...slice, size }, share);
      yield slice;
    }
  } finally {
    await labels.close();
  }
}

async function sliceOutcomes(
  run: RunView,
  chunk: Chunk,
  upTo: number,
  { from, size, labels }: Omit<OutcomeSlice, "outcomes"> & { size: number },
  share: (sample: SampleResult) => SampleResult,
): Promise<SampleOutcome[]> {
  const { manifest, dataset } = run;
  const first = chunk.firstSample + from + 1; // sample numbers are 1-based
  const outcomes: SampleOutcome[] = Array.from({ length: size }, () => ({ fields: {}, costUsd: 0 }));
  for (let stage = 1; stage <= upTo; stage++) {
    // A later stage's valid answer is kept only for its fields: its labels, ids and tokens go at once.
    const valid: (Pick<SampleResult, "fields"> | undefined)[] = new Array(outcomes.length);
    const records = manifest.batches
      .filter((b) => b.chunk === chunk.index && stageOf(b) === stage && b.step === "collected" && b.requests)
      .sort((a, b) => a.attempt - b.attempt);
    for (const record of records)
      eachSampleIn(join(run.dir, samplesFile(record)), first, size, DAMAGED_HINT, (result) => {
        const at = result.sample - first;
        outcomes[at]!.costUsd += result.cost_usd;
        if (result.status === "ok" && !valid[at])
          valid[at] = stage === 1 ? result : { fields: result.fields };
      });
    const { keep, when } = conditionsOf(dataset, stage);
    for (const [at, outcome] of outcomes.entries()) {
      if (outcome.droppedBy) continue;
      const view = () => ({ ...labels[at], ...outcome.fields });
      if (stage > 1 && when && !holds(when, lookupIn(view()))) continue; // passes through unchanged
      const answer = valid[at];
      if (!answer) {
        outcome.droppedBy = `stage ${stage}: no valid answer`;
        continue;
      }
      Object.assign(outcome.fields, answer.fields);
      // Its stage-1 fields are in `fields` now, or replaced by a later stage's: kept once, not twice.
      if (stage === 1) {
        const { fields: _, ...first } = answer as SampleResult;
        outcome.first = share(first);
      }
      if (keep && !holds(keep, lookupIn(view())))
        outcome.droppedBy = `stage ${stage}: keep ${shown(datasetOfStage(dataset, stage).keep!)}`;
    }
  }
  return outcomes;
}

/** Looks a name up in a sample's values; `Call.Attitude` also finds a parameter by its bare name. */
function lookupIn(view: Record<string, unknown>): (name: string) => unknown {
  return (name) => view[name] ?? view[name.split(".").at(-1)!];
}

/** A chunk's labels in sample order, `count` at a time, from its draws file (read once; closed by `close`). */
function labelsOf(runDir: string, chunk: Chunk) {
  const batches = readJsonlBatches<DrawsLine>(join(runDir, chunk.drawsFile));
  const waiting: DrawsLine[] = [];
  return {
    async next(count: number): Promise<Record<string, string>[]> {
      while (waiting.length < count) {
        const read = await batches.next();
        if (read.done) break;
        waiting.push(...read.value);
      }
      return waiting.splice(0, count).map((draw) => draw.labels);
    },
    async close(): Promise<void> {
      await batches.return(undefined);
    },
  };
}

/**
 * Builds each chunk's next stage once its previous one is wholly collected (every attempt):
 * the request file of the samples still kept for which the stage's `when` holds. Safe to run
 * at any time and again after a crash: a stage is built once its record is in the manifest,
 * and the file is written whole under a temp name first.
 */
export async function buildNextStages(run: RunContext): Promise<void> {
  const { manifest, dataset } = run;
  const last = lastStage(manifest.config);
  if (last === 1) return;
  for (const chunk of manifest.chunks)
    for (let stage = 2; stage <= last; stage++) {
      const mine = (k: number) => manifest.batches.filter((b) => b.chunk === chunk.index && stageOf(b) === k);
      if (mine(stage).length) continue;
      // Built once every stage it builds on is wholly collected (a model beside another waits for neither).
      const after = builtAfter(manifest.config, stage);
      const ready = Array.from({ length: after }, (_, k) => mine(k + 1)).every(
        (records) => records.length && records.every((b) => b.step === "collected"),
      );
      if (!ready) continue;
      const { record, sha256 } = await buildStage(run, chunk, stage);
      crashPoint("stage-built", stage);
      run.store.updateLocal((manifest) => {
        manifest.batches.push(record);
        if (record.requests)
          noteFiles(run.dir, manifest, [record.requestsFile], { [record.requestsFile]: sha256 });
      });
      run.log(
        `stage ${stage}, chunk ${chunk.index + 1}: ${record.requests} of ${chunk.samples} samples to ` +
          datasetSource(datasetOfStage(dataset, stage)),
      );
    }
}

async function buildStage(
  run: RunContext,
  chunk: Chunk,
  stage: number,
): Promise<{ record: BatchRecord; sha256: string }> {
  const { config, dataset, dir: runDir } = run;
  const own = datasetOfStage(dataset, stage);
  const { when } = conditionsOf(dataset, stage);
  const stageConfig = configOfStage(config, stage);
  const endpoint = endpointOf(config, stage);
  const requestsFile = requestsFileName(chunk.index, 1, stage);
  await ensureDir(join(runDir, "requests"));
  const tmp = join(runDir, `${requestsFile}.tmp`);
  const writer = new JsonlWriter(tmp);
  const promptTokens = await withTokenCounter(async (counter) => {
    for await (const { from, labels, outcomes } of outcomesOf(run, chunk, builtAfter(config, stage)))
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.droppedBy) continue;
        const values = { ...labels[i]!, ...outcome.fields };
        if (when && !holds(when, lookupIn(values))) continue;
        const index = chunk.firstSample + from + i;
        const draw: Draw = { params: {}, values: labels[i]!, fields: outcome.fields };
        const request = requestFor(
          stageConfig,
          customId(index, config.samples),
          toMessages(promptOf(own, draw, index)),
          own.schema,
        );
        writer.write(request);
        await counter.add(endpoint.prompt(request.body));
      }
    return counter.tally();
  });
  writer.close();
  const base = {
    stage,
    ...vendorField(config, stage),
    chunk: chunk.index,
    attempt: 1,
    requestsFile,
    requests: writer.lines,
    promptTokens,
  };
  if (writer.lines === 0) {
    // Nothing to ask: the stage is done for this chunk, with nothing sent or spent.
    await rm(tmp, { force: true });
    return { record: { ...base, step: "collected", collected: emptyCollected() }, sha256: "" };
  }
  await rename(tmp, join(runDir, requestsFile));
  return { record: { ...base, step: "pending" }, sha256: writer.sha256 };
}

/** For --format preference: the stage of several models compared, and the judge's field that prefers one. */
export interface Preference {
  answers: PlannedStage;
  models: string[];
  field: string;
  choice: string;
}

export function preferenceOf(dataset: LoadedDataset): Preference {
  const stages = dataset.stages ?? [];
  const judge = stages.findIndex((stage) => stage.prefers);
  const answers = stages.slice(0, Math.max(judge, 0)).findLast((stage) => groupOf(stage));
  const group = answers && groupOf(answers);
  if (judge < 0 || !answers || !group)
    throw new UserError(
      "the preference formats (--format preference, openai-preference) need a stage of several models and a later judge that says which answer is better",
      "give a stage `models: [a, b]`, then a judge stage with `prefers: <its field naming the better model>`",
    );
  return { answers, models: group.models, field: group.fields[0]!, choice: stages[judge]!.prefers! };
}

/**
 * A sample's pair: the answering stage's messages as sent (as JSON text, the way a list field is
 * kept), the preferred model's answer and another's as the prompt asked for them; none if the
 * judge named no model, or a model did not answer.
 */
function pairOf(preference: Preference, labels: Record<string, string>, fields: Record<string, string>) {
  const named = String(fields[preference.choice] ?? "").trim();
  const index = preference.models.findIndex(
    (model, i) => model === named || String.fromCharCode(65 + i) === named.toUpperCase(),
  );
  if (index < 0) return undefined;
  const other = preference.models.find((_, i) => i !== index)!;
  const answered = (model: string) => Boolean(fields[fieldOfModel(preference.field, model)]);
  if (!answered(preference.models[index]!) || !answered(other)) return undefined;
  const messages = toMessages(promptOf(preference.answers, { params: {}, values: labels, fields }, 0));
  return {
    prompt: JSON.stringify(messages),
    chosen: answerAsAsked(preference.answers, preference.models[index]!, fields),
    rejected: answerAsAsked(preference.answers, other, fields),
  };
}

/** Why a kept sample is not exported: --fill made its target before it. */
export const BEYOND_FILL = "beyond --fill's target";
/** The column `--include-dropped` adds: what dropped a sample, empty for one kept. */
export const DROPPED_BY = "dropped_by";

/** Kept and dropped samples of a run, by stage and reason, as the last export counted them. */
export interface StageCounts {
  kept: number;
  dropped: Record<string, number>;
}

/**
 * The export's samples for a run with stages: each chunk's samples after the last stage, in
 * sample order, with every stage's fields (a later field of the same name replacing an
 * earlier one); a dropped one only with `includeDropped`, marked with what dropped it.
 */
export function stagedSamples(
  run: RunView,
  counts: StageCounts,
  {
    includeDropped = false,
    // --fill makes exactly its target: samples kept past it (a round draws a little more) wait.
    limit = run.config.fill?.target ?? Infinity,
    preference,
  }: { includeDropped?: boolean; limit?: number; preference?: Preference | undefined } = {},
): SampleFeed {
  const last = lastStage(run.config);
  // In sample order already, once each: the export hands them on as they come.
  return Object.assign(staged, { inOrder: true as const });
  async function staged(add: (sample: SampleResult) => void): Promise<void> {
    for (const chunk of run.manifest.chunks)
      for await (const { labels, outcomes } of outcomesOf(run, chunk, last))
        for (const [at, outcome] of outcomes.entries()) {
          const pair =
            preference && !outcome.droppedBy ? pairOf(preference, labels[at]!, outcome.fields) : undefined;
          if (preference && !outcome.droppedBy && !pair)
            outcome.droppedBy = `${preference.choice} names no model`;
          if (pair) outcome.fields = pair;
          if (!outcome.droppedBy && counts.kept >= limit) outcome.droppedBy = BEYOND_FILL;
          if (outcome.droppedBy)
            counts.dropped[outcome.droppedBy] = (counts.dropped[outcome.droppedBy] ?? 0) + 1;
          else counts.kept++;
          if (!outcome.first || (outcome.droppedBy && !includeDropped)) continue;
          add({
            ...outcome.first,
            fields: includeDropped
              ? { ...outcome.fields, [DROPPED_BY]: outcome.droppedBy ?? "" }
              : outcome.fields,
            cost_usd: outcome.costUsd,
          });
        }
  }
}

/** Whether a run's export reads each sample's outcome (stages, a `keep`, --fill), not its answers as they are. */
export function usesOutcomes(config: RunConfig, dataset: Dataset): boolean {
  return lastStage(config) > 1 || Boolean(config.fill) || Boolean(dataset.keep);
}

/** How many samples are kept after every stage, over the whole run. */
async function keptCount(run: RunView): Promise<number> {
  const counts: StageCounts = { kept: 0, dropped: {} };
  await stagedSamples(run, counts, { limit: Infinity })(() => {});
  return counts.kept;
}

/**
 * --fill: once every drawn sample has been through every stage, draws more (from where the
 * random stream stopped, never an old draw again) if fewer than the target are kept: as many as
 * the keep rate so far says are needed, and a tenth more, within --max-draws. Returns how many
 * it adds (0: the run is complete, or may draw no more).
 */
export async function samplesToDraw(run: RunContext): Promise<number> {
  const { manifest, log } = run;
  const { fill, samples } = manifest.config;
  if (!fill) return 0;
  const kept = await keptCount(run);
  if (kept >= fill.target) return 0;
  if (samples >= fill.maxDraws) {
    log(
      `--fill: ${kept} of ${fill.target} kept after ${samples} draws, the --max-draws limit; ` +
        `\`synthai resume ${manifest.id} --max-draws N\` draws more`,
    );
    return 0;
  }
  const rate = Math.max(kept / samples, 0.05);
  const wanted = Math.ceil(((fill.target - kept) / rate) * 1.1);
  const count = Math.min(fill.maxDraws - samples, Math.max(wanted, 1));
  // The share kept so far, as it is; the plan assumes at least 5%, so a run keeping none still draws.
  const share = Math.round((kept / samples) * 100);
  log(`--fill: ${kept} of ${fill.target} kept so far (${share}%); drawing ${count} more`);
  return count;
}

/**
 * The dry run's worst case for each later stage, before any answer exists: every sample asked
 * (no `keep` or `when` assumed), its prompt the stage's own text (rendered for the first sample)
 * plus every earlier answer at its full token limit, and its answer at the stage's limit.
 */
export async function stagesEstimate(run: RunView): Promise<string[]> {
  const { config, dataset } = run;
  const last = lastStage(config);
  const chunk = run.manifest.chunks[0];
  if (last === 1 || !chunk) return [];
  const firstLabels = labelsOf(run.dir, chunk);
  const [labels = {}] = await firstLabels.next(1).finally(() => firstLabels.close());
  const lines: string[] = [];
  let earlierTokens = stageSettings(config, 1).maxTokens;
  const fields: Record<string, string> = {};
  for (let stage = 2; stage <= last; stage++) {
    const own = datasetOfStage(dataset, stage);
    const stageConfig = configOfStage(config, stage);
    const { model, maxTokens, price } = stageConfig;
    for (const field of datasetOfStage(dataset, stage - 1).fields) fields[field] = "";
    const messages = toMessages(promptOf(own, { params: {}, values: labels, fields }, 0));
    const endpoint = endpointOf(config, stage);
    const ownTokens = await withTokenCounter((counter) =>
      counter.count(endpoint.prompt(requestFor(stageConfig, "0", messages, own.schema).body)),
    );
    const prompt = config.samples * (ownTokens + earlierTokens);
    const worst = costUsd(price, prompt, config.samples * maxTokens);
    lines.push(
      `stage ${stage} (${model}): at most ${config.samples} requests, ${prompt} prompt tokens and ` +
        `${config.samples * maxTokens} completion tokens → at most ${formatUsd(worst)}`,
    );
    earlierTokens += maxTokens;
  }
  return lines;
}
