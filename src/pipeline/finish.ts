// The end of a run, and `synthai export`: the CSVs written from the run folder.
import { EXIT, UserError } from "../errors.ts";
import { isAbandoned } from "./abandon.ts";
import { usesBatches } from "./transport.ts";
import { collectBatch, judgeKey } from "./collect.ts";
import { asWritten, checkRunFiles, exportInputs, noteFiles } from "../run/files.ts";
import {
  collectedSamples,
  committedThen,
  refusingEmpty,
  eachValidSample,
  exportRun,
  exportTo,
  type Dedup,
  type DuplicatesLeftOut,
  type Exported,
  type SampleFeed,
} from "./export.ts";
import { runServices } from "../api/services/index.ts";
import { DEFAULT_EMBEDDING_MODEL } from "../api/embeddings.ts";
import { checkEmbeddingsProvider, semanticFinder } from "./semantic.ts";
import type { Connection } from "./generate.ts";
import { progress, type Log } from "../io/log.ts";
import { collectedRecords, type BatchRecord, type Manifest } from "../run/manifest.ts";
import { ManifestStore } from "../run/store.ts";
import { RunContext, type RunView } from "./context.ts";
import { formatUsd } from "../api/pricing.ts";
import { changedDataset, runDataset, type Dataset } from "../dataset/spec.ts";
import type { FormatName } from "../io/formats/index.ts";
import { droppedText, fromCacheText, summarize } from "../run/totals.ts";
import { hfDestination, type HfMade, type Split } from "./export-hf.ts";
import type { HubPush } from "./hub-push.ts";
import { samplesFile } from "../run/files.ts";
import type { SampleResult } from "../run/records.ts";
import {
  DROPPED_BY,
  exportDataset,
  preferenceOf,
  stagedSamples,
  usesOutcomes,
  type StageCounts,
} from "./stages.ts";
import { formatFor } from "../io/formats/index.ts";
import { PREFERENCE_COLUMNS } from "../io/formats/preference.ts";
import { checkDraws } from "../run/draws-file.ts";
import { lastStage, vendorOf, withOverrides, type ConfigOverrides } from "../run/config.ts";

/** Every sample is valid or given up: write the CSVs and mark the run done. */
export async function finish(run: RunContext): Promise<Manifest> {
  const { manifest, log } = run;
  await checkRunFiles(run.dir, manifest, exportInputs(manifest, { judgeAgain: false }));
  run.store.updateLocal((manifest) => (manifest.state = "exporting"));
  const exported = await exportWithProgress(run, stagedExport(run));
  run.store.updateLocal((manifest) => (manifest.state = "done"));
  log(
    summary(manifest, exported.rows, exported.csvFile, exported.metricsFile) +
      formulasText(exported) +
      leftOutText(exported),
  );
  return manifest;
}

/**
 * With stages, what an export writes: each sample's outcome after the last stage (kept ones,
 * and with `--include-dropped` the others), every stage's fields; the counts go to the manifest.
 */
function stagedExport(
  run: RunContext,
  {
    includeDropped = false,
    output = run.config.output,
    format = run.config.format,
  }: {
    includeDropped?: boolean | undefined;
    output?: string | undefined;
    format?: FormatName | undefined;
  } = {},
): { feed?: SampleFeed; exportAs?: Dataset } {
  const { dataset } = run;
  if (!usesOutcomes(run.config, dataset)) return {};
  const counts: StageCounts = { kept: 0, dropped: {} };
  // Preference pairs: each sample's prompt, chosen and rejected answers are its columns.
  const preference = formatFor(output, format).needs === "pairs" ? preferenceOf(dataset) : undefined;
  const feed = stagedSamples(run, counts, { includeDropped, preference });
  const exportAs = exportDataset(dataset);
  const fields = preference
    ? PREFERENCE_COLUMNS
    : includeDropped // a dropped sample says what dropped it, in a column of its own
      ? [...exportAs.fields, DROPPED_BY]
      : exportAs.fields;
  return {
    exportAs: changedDataset(exportAs, { fields }),
    feed: Object.assign(
      async (add: (sample: SampleResult) => void) => {
        await feed(add);
        run.store.updateLocal((manifest) => (manifest.stageCounts = counts));
      },
      { inOrder: feed.inOrder },
    ),
  };
}

/** Writes the CSVs; if that fails halfway, the manifest goes back to what it said before. */
async function exportWithProgress(
  run: RunContext,
  {
    output,
    feed,
    format,
    dedup,
    csvSafe,
    ifEmpty,
    exportAs = run.dataset,
  }: {
    output?: string | undefined;
    exportAs?: Dataset;
    feed?: SampleFeed | undefined;
    format?: FormatName | undefined;
    dedup?: Dedup | undefined;
    csvSafe?: boolean | undefined;
    ifEmpty?: (() => Error) | undefined;
  } = {},
) {
  const { log } = run;
  // The output's record is kept: a failed export may have taken the rows of an earlier one away.
  return run.store.undoingOnFailure(
    () =>
      exportRun(run.store, {
        dataset: exportAs,
        onProgress: (rows) => progress(log, `exporting: ${rows} rows`, "export"),
        onWait: log,
        ...(output ? { output } : {}),
        ...(feed ? { feed } : {}),
        ...(format ? { format } : {}),
        ...(dedup ? { dedup } : {}),
        ...(csvSafe ? { csvSafe } : {}),
        ...(ifEmpty ? { ifEmpty } : {}),
      }),
    ["exports"],
  );
}

function summary(manifest: Manifest, rows: number, csvFile: string, metricsFile: string | undefined): string {
  const totals = summarize(manifest);
  const { valid, reRequested, givenUp, costUsd: spent, standardUsd, reasoningEmpty, kept } = totals;
  const stages =
    kept !== undefined
      ? `; ${lastStage(manifest.config)} stages kept ${kept}${droppedText(totals, ", ")}`
      : "";
  const nothing =
    valid === 0
      ? ` — no answer was valid: \`synthai inspect ${manifest.id} --failed\` shows why`
      : givenUp
        ? ` — see \`synthai status ${manifest.id}\``
        : "";
  const atBatchPrice = usesBatches(manifest.config)
    ? ` at batch price (standard ${formatUsd(standardUsd)})`
    : "";
  const emptied = reasoningEmpty
    ? ` (${reasoningEmpty} left empty by reasoning: raise --max-tokens or lower --reasoning-effort)`
    : "";
  // With --fill, what was asked is its target; the draws are what it took to get there.
  const { fill, samples } = manifest.config;
  const made = fill
    ? `${rows < fill.target ? "short of --fill's target" : "done"}: ${rows} of ${fill.target} samples (${samples} drawn)`
    : `done: ${rows} of ${samples} samples`;
  return (
    `${made} → ${csvFile}` +
    `${metricsFile ? ` (metrics: ${metricsFile})` : ""}; cost ${formatUsd(spent)}${atBatchPrice}; ` +
    `${reRequested} re-requested, ${givenUp} given up${emptied}${fromCacheText(totals)}${stages}${nothing}`
  );
}

/** What `synthai export` takes. */
export interface ReexportOptions {
  output?: string;
  format?: FormatName;
  dedup?: Dedup | undefined;
  /** Neutralise CSV cells a spreadsheet would read as a formula (else as the run was made). */
  csvSafe?: boolean;
  /** A Hugging Face folder instead of the output file; `describe` writes the card's section on the data. */
  hf?:
    | {
        dir: string;
        splits: Split[];
        describe?: (run: RunView) => Promise<string>;
        license?: string | undefined;
      }
    | undefined;
  /** Then send that folder to the Hugging Face Hub, as one commit. */
  push?: HubPush | undefined;
  acceptChangedSpec?: boolean;
  /** Judge every answer again, even where nothing it depends on changed (a samples file damaged in place). */
  judgeAgain?: boolean;
  /** With stages: the dropped samples too, with what dropped them. */
  includeDropped?: boolean;
  /** The service, for --dedup semantic's embeddings; key and base URL as generate takes them. */
  connection?: Connection;
  /** --poll-interval, for the embeddings' batches: it wins from now on, as resume's flags do. */
  overrides?: ConfigOverrides;
  log: Log;
}

/** `synthai export`: parse every downloaded answer again with the current spec and rewrite the CSVs; no API call. */
export async function reexport(runDir: string, options: ReexportOptions): Promise<Manifest> {
  return ManifestStore.locked(runDir, async (store) => {
    const { manifest } = store;
    const run = await exportContext(store, options);
    const semantic = options.dedup?.mode === "semantic";
    const stale = await staleRecords(run, Boolean(options.judgeAgain));
    // Every answer is checked to be there as downloaded; those about to be read, to the byte.
    const read = new Set(exportInputs(manifest, { judgeAgain: (r) => stale.has(r) }));
    await checkRunFiles(runDir, manifest, exportInputs(manifest, { judgeAgain: true }), (p) => read.has(p));
    await checkDraws(runDir, manifest.chunks);
    const judged = judgedSamples(run, stale);
    // One pass: each batch is judged again and its samples go straight on to the CSV. With
    // stages, every stage is judged again first, then each sample's outcome is exported.
    // With --dedup semantic or near, the samples are judged first, read once to find the
    // duplicates (semantic: embedded), then again to export.
    const staged = stagedExport(run, options);
    const twice = semantic || options.dedup?.mode === "near";
    if (staged.feed || twice) await judged();
    // Nothing to judge again: the samples are read back as they are, in order by place.
    const feed: SampleFeed =
      staged.feed ?? (twice || !stale.size ? collectedSamples(runDir, manifest) : judged);
    const dedup = await dedupOf(run, options.dedup, feed);
    if (options.hf)
      await exportToHf(run, { ...options, hf: options.hf }, staged.exportAs ?? run.dataset, feed, dedup);
    else {
      const exported = await exportWithProgress(run, {
        ...staged,
        output: options.output,
        feed,
        format: options.format,
        dedup,
        csvSafe: options.csvSafe,
        // An export of nothing writes nothing: no file with a header alone.
        ifEmpty: () => nothingExported(manifest, ""),
      });
      options.log(
        `exported ${exported.rows} samples of run ${manifest.id} → ${exported.csvFile}` +
          (exported.metricsFile ? ` (metrics: ${exported.metricsFile})` : "") +
          (exported.duplicates ? `; ${duplicatesLine(exported.duplicates)}` : "") +
          formulasText(exported) +
          leftOutText(exported),
      );
      checkSomethingExported(exported.rows, manifest, "", exported.leftOut);
    }
    return manifest;
  });
}

/** The run as an export sees it: resume's flags written in, its dataset, a client only for --dedup semantic. */
async function exportContext(store: ManifestStore, options: ReexportOptions): Promise<RunContext> {
  const { manifest } = store;
  // Written with the export's first update, as resume writes its flags.
  if (options.overrides) manifest.config = withOverrides(manifest.config, options.overrides, manifest.id);
  const dataset = await runDataset(manifest.config, manifest.id, {
    reads: true,
    acceptChanged: options.acceptChangedSpec,
  });
  const semantic = options.dedup?.mode === "semantic";
  if (semantic) checkEmbeddingsProvider(manifest.config);
  // Only --dedup semantic calls the service (for the texts' embeddings); any other export is local.
  const services = semantic
    ? runServices(
        options.connection ?? { apiKey: undefined, baseURL: undefined },
        manifest.config,
        options.log,
      )
    : undefined;
  // The main vendor's key and address are checked now, before anything is read.
  services?.(vendorOf(manifest.config));
  return new RunContext(store, dataset, options.log, services);
}

/** Every collected sample, judged again where stale, else read back; with no `add`, only the judging. */
function judgedSamples(
  run: RunContext,
  stale: Set<BatchRecord>,
): (add?: (sample: SampleResult) => void) => Promise<void> {
  const { store, manifest, dir: runDir } = run;
  return async (add) => {
    for (const record of collectedRecords(manifest)) {
      if (!stale.has(record)) {
        if (add) await collectedSamples(runDir, manifest, [record])(add);
        continue;
      }
      const { collected, judgedBy, sha256 } = await collectBatch(run, record, add);
      store.updateLocal((manifest) => {
        Object.assign(record, { collected, judgedBy });
        noteFiles(runDir, manifest, [samplesFile(record)], { [samplesFile(record)]: sha256 });
      });
    }
  };
}

/** --dedup as the export applies it: with semantic, the finder by the samples' embeddings, made first. */
async function dedupOf(
  run: RunContext,
  dedup: Dedup | undefined,
  feed: SampleFeed,
): Promise<Dedup | undefined> {
  if (dedup?.mode !== "semantic") return dedup;
  return {
    ...dedup,
    semantic: await semanticFinder(run, (add) => eachValidSample(run.manifest, feed, add), {
      model: dedup.model ?? DEFAULT_EMBEDDING_MODEL,
      threshold: dedup.threshold,
    }),
  };
}

/** `--hf`: the Hugging Face folder, then with `--push` that folder sent to the Hub. */
async function exportToHf(
  run: RunContext,
  options: ReexportOptions & { hf: NonNullable<ReexportOptions["hf"]> },
  exportAs: Dataset,
  feed: SampleFeed,
  dedup: Dedup | undefined,
): Promise<void> {
  const { manifest } = run;
  const { describe } = options.hf;
  const counts = (made: HfMade) => options.hf.splits.map((s, i) => `${s.name} ${made.rows[i]}`).join(", ");
  const more = options.push ? "; nothing was pushed to the Hub" : "";
  // No sample: no folder is made, and nothing goes to the Hub.
  const built = refusingEmpty(
    hfDestination(run.dir, manifest, exportAs, {
      ...options.hf,
      format: options.format,
      describe: describe && (() => describe(run)),
    }),
    () => nothingExported(manifest, more),
  );
  const folder = committedThen(built, (made) => {
    options.log(
      `exported run ${manifest.id} → ${made.dir} (${counts(made)}; ` +
        `card: ${made.dir}/README.md)${made.duplicates ? `; ${duplicatesLine(made.duplicates)}` : ""}` +
        leftOutText(made),
    );
    // Before the push: an empty dataset is never published.
    const rows = made.rows.reduce((sum, n) => sum + n, 0);
    checkSomethingExported(rows, manifest, more, made.leftOut);
  });
  // The Hub's client is loaded only when pushing.
  const destination = options.push
    ? (await import("./hub-push.ts")).hubDestination(
        folder,
        options.push,
        { runId: manifest.id, rows: counts },
        options.log,
      )
    : folder;
  await exportTo(manifest, run.dir, feed, dedup, destination);
}

/** An export that holds no sample says so and does not exit 0, as a run that made nothing valid does not. */
function checkSomethingExported(rows: number, manifest: Manifest, more: string, leftOut = 0): void {
  if (rows === 0) throw nothingExported(manifest, more, leftOut);
}

function nothingExported(manifest: Manifest, more: string, leftOut = 0): UserError {
  const [message, hint] = whyNothing(manifest, leftOut);
  return new UserError(`${message}${more}`, hint, EXIT.ATTENTION);
}

/** Why an export holds no sample, and the way on: the message and the hint. */
function whyNothing(manifest: Manifest, leftOut: number): [string, string] {
  const { id, state, batches } = manifest;
  if (leftOut > 0)
    return [
      `run ${id} has no sample this format can hold (${FORMAT_NEEDS})`,
      "export it in another --format",
    ];
  if (isAbandoned(manifest))
    return [
      `run ${id} was abandoned before a valid sample was collected: nothing to export`,
      "start a new run",
    ];
  // A run under way may simply not have its answers yet: that is no failure of theirs.
  if (state !== "done" && batches.some((b) => b.step !== "collected"))
    return [
      `run ${id} has no valid sample collected yet to export`,
      `\`synthai resume ${id}\` collects its batches`,
    ];
  // Answers that were valid and a stage's condition dropped: inspect --failed would show none of them.
  const dropped = Object.entries(manifest.stageCounts?.dropped ?? {}).filter(
    ([why]) => !/no valid answer/.test(why),
  );
  if (manifest.stageCounts?.kept === 0 && dropped.length)
    return [
      `run ${id} kept no sample: ${dropped.map(([why, n]) => `${n} dropped (${why})`).join(", ")}`,
      `loosen the condition, or \`synthai export ${id} --include-dropped\` writes them with what dropped them`,
    ];
  return [
    `run ${id} has no valid sample to export`,
    `\`synthai inspect ${id} --failed\` shows why its answers were not kept`,
  ];
}

/** What a sample needs to make a line of the formats that leave some out. */
const FORMAT_NEEDS = "a chat line needs an answer, a preference line a pair";

/** Samples that made no line of the output, said, never dropped in silence. */
function leftOutText({ leftOut }: { leftOut?: number | undefined }): string {
  if (!leftOut) return "";
  const samples = leftOut === 1 ? "1 sample was" : `${leftOut} samples were`;
  return `; ${samples} left out, having nothing this format holds (${FORMAT_NEEDS})`;
}

/** How many CSV cells a spreadsheet would read as a formula, and what was done about them. */
function formulasText({ formulaCells }: Exported): string {
  if (!formulaCells?.count) return "";
  const { count, neutralised } = formulaCells;
  const cells = `${count} cell${count === 1 ? "" : "s"} starting with = + - @, a tab or a carriage return`;
  return neutralised
    ? `; ${cells} neutralised for spreadsheets (a ' put first, --csv-safe)`
    : `; ${cells} written as they are (a spreadsheet would run them as formulas: --csv-safe neutralises them)`;
}

/**
 * The batches an export judges again, the others being read back as judged: every one with
 * --judge-again; one judged otherwise than it would be now (another spec, another synthai); one
 * whose samples file is not as written (its answers in results/ are, as the check after this says).
 */
async function staleRecords(run: RunContext, judgeAgain: boolean): Promise<Set<BatchRecord>> {
  const stale = new Set<BatchRecord>();
  for (const record of collectedRecords(run.manifest)) {
    const path = samplesFile(record);
    if (judgeAgain || record.judgedBy !== judgeKey(run, record)) stale.add(record);
    else if (!(await asWritten(run.dir, run.manifest, path))) {
      // A run from before sizes were noted has nothing to compare with: judged again, silently.
      if (run.manifest.files?.[path] !== undefined)
        run.log(`warning: ${path} is not as it was written: its answers are judged again from results/`);
      stale.add(record);
    }
  }
  return stale;
}

/** How many duplicates an export left out, and where the list of them is. */
function duplicatesLine({ file, ...counts }: DuplicatesLeftOut): string {
  const total = counts.exact + counts.near + counts.semantic;
  const kinds = Object.entries(counts)
    .filter(([, n]) => n)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  return total
    ? `left out ${total} duplicates (${kinds}), listed with what each repeats in ${file}; the run folder keeps them all`
    : "no duplicates found";
}
