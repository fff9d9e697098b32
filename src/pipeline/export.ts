import type { ManifestStore } from "../run/store.ts";
import { existsSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  dropClaim,
  metricsPathFor,
  readClaim,
  settleOthersClaim,
  truncateTo,
  writeClaim,
} from "./export-claim.ts";
import { UserError } from "../errors.ts";
import { waitForLock } from "../io/lock.ts";
import { readJsonl, readJsonlBatches, TextWriter } from "../io/jsonl.ts";
import { collectedRecords, crashPoint, type Chunk, type Export, type Manifest } from "../run/manifest.ts";
import { judgeAgainHint, samplesFile } from "../run/files.ts";
import {
  RUN_COLUMN,
  columnTypeOf,
  checkOutputName,
  outputFormats,
  type ColumnType,
  type FormatName,
  type RowWriter,
} from "../io/formats/index.ts";
import { checkChatTurns } from "../io/formats/chat.ts";
import { datasetSource, type Dataset } from "../dataset/spec.ts";
import { checkWritable, endLastLine, sizeOf } from "../io/disk.ts";
import type { SampleResult } from "../run/records.ts";
import { duplicateFinder, type Candidate, type DedupMode, type Duplicate } from "./dedup.ts";
import { spilledNearDuplicates } from "./dedup-spill.ts";
import { preferenceOf } from "./stages.ts";
import { eachValidByPlace, sharedValues } from "./export-order.ts";

/** The metrics columns, the seed's first, each with its type. */
const METRICS: [string, ColumnType][] = [
  ["index", "integer"],
  ["prompt_tokens", "integer"],
  ["completion_tokens", "integer"],
  ["total_tokens", "integer"],
  ["time", "integer"],
  ["sample", "integer"],
  ["batch", "integer"],
  ["sample_id", "string"],
  ["attempt", "integer"],
  ["cost_usd", "number"],
  ["model", "string"],
  ["cached_tokens", "integer"],
  ["reasoning_tokens", "integer"],
];

const METRIC_COLUMNS = METRICS.map(([name]) => name);

/**
 * The metrics columns of a run: with an input file, each sample's row number in it (1-based),
 * then the run that wrote the row.
 */
export function metricColumns(config: { input?: unknown }): string[] {
  return [...METRIC_COLUMNS, ...(config.input ? ["input_row"] : []), RUN_COLUMN];
}

function metricTypes(config: { input?: unknown }): ColumnType[] {
  return [...METRICS.map(([, type]) => type), ...(config.input ? (["integer"] as const) : []), "string"];
}

/** Without a metrics file to join to (--no-m), the dataset's rows name their run themselves. */
export const runInDataset = (config: { metrics: boolean }): boolean => !config.metrics;

/** The dataset's column types: a field is what its schema says (integer, number, boolean, array, object), else text. */
export function datasetTypes(dataset: Dataset, labelNames: string[], runColumn = false): ColumnType[] {
  const properties = (dataset.schema?.properties ?? {}) as Record<string, unknown>;
  const fieldTypes = dataset.fields.map((field) => columnTypeOf(properties[field]));
  const strings = (n: number) => Array.from({ length: n }, () => "string" as const);
  return ["integer", ...fieldTypes, ...strings(labelNames.length + 1 + Number(runColumn))];
}

export { metricsPathFor };

export function datasetColumns(fields: string[], labelNames: string[], runColumn = false): string[] {
  return ["index", ...fields, ...labelNames, "sample_id", ...(runColumn ? [RUN_COLUMN] : [])];
}

/** What a format needs of the dataset, checked before a run is built or an export writes: chat needs its mapping. */
export function checkFormatFits(
  output: string,
  name: FormatName | undefined,
  dataset: Dataset,
  columns: string[],
): void {
  const { format } = outputFormats(output, name);
  if (format.needs === "chat") checkChatTurns(dataset.chat, datasetSource(dataset), columns);
  if (format.needs === "pairs") preferenceOf(dataset);
}

/** Where an export's rows come from: it hands every sample of the run, in chunk order, to `add`. */
export type SampleFeed = ((add: (sample: SampleResult) => void) => Promise<void>) & {
  /** The same samples with only what comes before their labels (ids, status, fields): for --dedup near's own pass. */
  heads?: (add: (sample: SampleResult) => void) => Promise<void>;
  /** The samples files it reads, in order: --dedup near's own pass reads them as bytes. */
  files?: string[];
  /** Each chunk's samples come in sample order, at most once each (a run with stages): none need wait. */
  inOrder?: true;
  /** Its valid samples as eachValidSample hands them on, read back by place (export-order.ts). */
  valid?: (use: (sample: SampleResult) => void) => Promise<void>;
};

/** The samples the run has collected (or those of `records`), read back from samples/*.jsonl. */
export function collectedSamples(
  runDir: string,
  manifest: Manifest,
  records = collectedRecords(manifest),
): SampleFeed {
  const read =
    (parse: (line: string) => SampleResult) =>
    async (add: (sample: SampleResult) => void): Promise<void> => {
      for (const record of records)
        for await (const samples of readJsonlBatches<SampleResult>(
          join(runDir, samplesFile(record)),
          judgeAgainHint(manifest),
          parse,
        ))
          for (const sample of samples) add(sample);
    };
  const files = records.map((record) => join(runDir, samplesFile(record)));
  const valid = async (use: (sample: SampleResult) => void) =>
    eachValidByPlace(files, manifest.chunks, judgeAgainHint(manifest), use);
  return Object.assign(read(JSON.parse), { heads: read(sampleHead), files, valid });
}

/**
 * A samples line parsed up to its fields, which synthai writes before the labels, tokens and cost:
 * parsing 100,000 samples for --dedup near's own pass took 0.37 s of CPU instead of 0.63 s. Any
 * other line is parsed whole.
 */
export function sampleHead(line: string): SampleResult {
  // A field's value is a string, so `},"labels":{` can only be where the fields end.
  const end = line.indexOf('},"labels":{');
  if (end > 0)
    try {
      const head = JSON.parse(`${line.slice(0, end + 1)}}`);
      if (head.fields) return head;
    } catch {
      // parsed whole below, where a torn line is told
    }
  return JSON.parse(line);
}

export async function labelNamesOf(runDir: string, manifest: Manifest): Promise<string[]> {
  const first = manifest.chunks[0];
  if (!first) return [];
  for await (const draw of readJsonl<{ labels: Record<string, string> }>(join(runDir, first.drawsFile)))
    return Object.keys(draw.labels);
  return [];
}

export interface Exported {
  rows: number;
  csvFile: string;
  metricsFile?: string;
  firstIndex: number;
  duplicates?: DuplicatesLeftOut;
  /** CSV: cells a spreadsheet would read as a formula, and whether they were neutralised. */
  formulaCells?: { count: number; neutralised: boolean };
  /** Samples that made no line (a conversation with no answer to train on). */
  leftOut?: number;
}

export interface ExportOptions {
  dataset: Dataset;
  /** Write here instead of the run's own output (a new file, or one with the same columns). */
  output?: string;
  onProgress?: (rows: number) => void;
  /** The output's format, when not the run's own or the one its extension names. */
  format?: FormatName;
  /** Told when another process is writing the same output and this export waits for it. */
  onWait?: (line: string) => void;
  /** By default the samples the run has collected. */
  feed?: SampleFeed;
  /** Leave out samples that repeat an earlier one. */
  dedup?: Dedup;
  /** Neutralise CSV cells a spreadsheet would read as a formula; else the run's --csv-safe. */
  csvSafe?: boolean;
  /** Thrown, with nothing written, when no sample comes: else the rows (none) are appended. */
  ifEmpty?: () => Error;
}

/**
 * Appends a run's valid samples to its CSV (and metrics CSV). The sizes before appending are
 * recorded first, so an interrupted or repeated export replaces this run's rows, never doubles them.
 */
export async function exportRun(store: ManifestStore, options: ExportOptions): Promise<Exported> {
  const { manifest, dir: runDir } = store;
  const { config } = manifest;
  const csvFile = options.output ?? config.output;
  const metricsFile = config.metrics ? metricsPathFor(csvFile) : undefined;
  const labelNames = await labelNamesOf(runDir, manifest);
  const columns = datasetColumns(options.dataset.fields, labelNames, runInDataset(config));
  checkFormatFits(csvFile, options.format ?? config.format, options.dataset, columns);
  checkOutputName(csvFile, options.format ?? config.format);
  await checkWritable(csvFile);
  if (metricsFile) await checkWritable(metricsFile);
  // Runs finishing together (two cron jobs on the default dataset.csv) append one at a time:
  // each reads the file's last index only once the one before it has written all its rows.
  const unlock = await waitForLock(`${csvFile}.lock`, (pid) =>
    options.onWait?.(`waiting for process ${pid}, which is writing ${csvFile}`),
  );
  try {
    const files = fileDestination(store, options, { csvFile, metricsFile, labelNames, columns });
    const destination = options.ifEmpty ? refusingEmpty(files, options.ifEmpty) : files;
    const feed = options.feed ?? collectedSamples(runDir, manifest);
    return await exportTo(manifest, runDir, feed, options.dedup, destination);
  } finally {
    unlock();
  }
}

/**
 * Where an export's rows go: a file (and its metrics file), a Hugging Face folder, and whatever
 * comes next (the Hub). `exportTo` drives each the same way: open, every valid sample that is not
 * a duplicate in sample order, close; on a failure, abandon; then commit.
 */
export interface Destination<Result> {
  open(): Promise<void>;
  write(sample: SampleResult): void;
  /** Every row is written: the writers finish. */
  close(): Promise<void>;
  /** A failure before the end: what was written goes, as if never written. */
  abandon(): Promise<void>;
  /** Makes the rows the destination's for good; told how many duplicates were left out. */
  commit(duplicates: DuplicatesLeftOut | undefined): Promise<Result>;
}

/** The one export loop: the run's valid samples, duplicates left out, into one destination. */
export async function exportTo<Result>(
  manifest: Manifest,
  runDir: string,
  feed: SampleFeed,
  dedup: Dedup | undefined,
  destination: Destination<Result>,
): Promise<Result> {
  // Near duplicates are found first, in a pass of their own over the samples: nothing is opened until then.
  const duplicates = dedup ? await duplicatesNoted(runDir, manifest, feed, dedup) : undefined;
  await destination.open();
  try {
    await eachValidSample(manifest, feed, (s) => {
      if (!duplicates?.isDuplicate(s)) destination.write(s);
    });
  } catch (error) {
    await destination.abandon();
    duplicates?.close();
    throw error;
  }
  duplicates?.close();
  try {
    await destination.close();
  } catch (error) {
    // A disk that fails as the files close is what is said, not a second failure of abandoning them.
    await destination.abandon().catch(() => {});
    throw error;
  }
  return destination.commit(duplicates?.summary());
}

/** A destination that holds no sample at its end is abandoned, and `nothing()` thrown: no empty dataset is left. */
export function refusingEmpty<Result>(
  destination: Destination<Result>,
  nothing: () => Error,
): Destination<Result> {
  let samples = 0;
  return {
    ...destination,
    write(sample) {
      samples++;
      destination.write(sample);
    },
    async commit(duplicates) {
      if (samples > 0) return destination.commit(duplicates);
      await destination.abandon();
      throw nothing();
    },
  };
}

/** A destination whose commit is followed by `then`, told what it made: the Hub after the HF folder. */
export function committedThen<Result>(
  destination: Destination<Result>,
  then: (result: Result) => Promise<void> | void,
): Destination<Result> {
  return {
    ...destination,
    async commit(duplicates) {
      const result = await destination.commit(duplicates);
      await then(result);
      return result;
    },
  };
}

/** The files an export appends to: the output in its format, and its metrics file. */
interface OutputFiles {
  csvFile: string;
  metricsFile: string | undefined;
  labelNames: string[];
  columns: string[];
}

/**
 * Refuses to write this run's rows again to a file another run has appended to since this one
 * exported there: its rows are no longer last, so they cannot be taken back. `resume --top-up`
 * asks before it pays for new samples.
 */
export function checkOwnRowsLast(manifest: Manifest, csvFile: string, hint = "export to a new file"): void {
  const previous = manifest.exports?.find((e) => e.csvFile === csvFile);
  if (!previous?.done) return;
  for (const [file, end] of [
    [csvFile, previous.csvEnd],
    [previous.metricsFile, previous.metricsEnd],
  ] as const) {
    const size = file ? sizeOf(file) : undefined;
    if (size !== undefined && size !== end)
      throw new UserError(`${file} changed since this run exported to it`, hint);
  }
}

/**
 * This run's earlier export to the same file: rolled back to the size before it, if nobody
 * appended since. A file deleted since holds nothing to protect: it is written afresh.
 */
async function rollBackPrevious(manifest: Manifest, csvFile: string): Promise<void> {
  const previous = manifest.exports?.find((e) => e.csvFile === csvFile);
  if (!previous) return;
  checkOwnRowsLast(manifest, csvFile);
  // An unfinished export's rows are this run's to take away only while its claim stands:
  // without it, another export already took them away and wrote its own after them.
  if (previous.done || readClaim(csvFile)?.run === manifest.id) {
    await truncateTo(csvFile, previous.csvOffset);
    if (previous.metricsFile) await truncateTo(previous.metricsFile, previous.metricsOffset);
  }
}

/** Makes room for this run's rows, notes where they start in the manifest, and opens both files. */
async function openOutput(
  store: ManifestStore,
  options: ExportOptions,
  { csvFile, metricsFile, labelNames, columns }: OutputFiles,
  csvSafe: boolean,
): Promise<{ record: Export; csv: RowWriter; metrics: RowWriter | undefined; made: string[] }> {
  const { manifest, dir: runDir } = store;
  const { config } = manifest;
  await settleOthersClaim(csvFile, manifest);
  const { format, metricsFormat } = outputFormats(csvFile, options.format ?? config.format);
  const readOutput = () => format.readExisting(csvFile, columns, config.delimiter);
  const readMetrics = (delimiter: string | undefined) =>
    metricsFile ? metricsFormat.readExisting(metricsFile, metricColumns(config), delimiter) : undefined;
  // Checked before this run's earlier rows there go, so that a file refused keeps them. A file
  // this run started holds nothing else: it starts again, with any columns.
  const earlier = manifest.exports?.find((e) => e.csvFile === csvFile);
  if (earlier && earlier.csvOffset > 0) await readOutput();
  if (earlier && earlier.metricsOffset > 0) await readMetrics(config.delimiter);
  await rollBackPrevious(manifest, csvFile);
  const existing = await readOutput();
  const existingMetrics = await readMetrics(existing?.delimiter ?? config.delimiter);
  const delimiter = existing?.delimiter ?? config.delimiter ?? ",";
  const record: Export = {
    csvFile,
    ...(metricsFile ? { metricsFile } : {}),
    csvOffset: existing?.size ?? 0,
    metricsOffset: existingMetrics?.size ?? 0,
    firstIndex: existing ? existing.lastIndex + 1 : 0,
    done: false,
  };
  store.update((manifest) => {
    manifest.exports = [...(manifest.exports ?? []).filter((e) => e.csvFile !== csvFile), record];
  });
  const { csvOffset, metricsOffset } = record;
  writeClaim(csvFile, {
    run: manifest.id,
    runDir: resolve(runDir),
    csvOffset,
    metricsFile,
    metricsOffset,
  });
  // The files this export makes (none was there): on a failure they go, not left empty.
  const made = [csvFile, metricsFile].filter(
    (file): file is string => file !== undefined && !existsSync(file),
  );
  // A last line without its line end (as editors save) would be glued to this run's first row;
  // the line end is this export's, after the offsets noted above: a rollback takes it away too.
  if (existing) endLastLine(csvFile);
  if (existingMetrics) endLastLine(metricsFile!);
  // One pass over the samples feeds both files.
  const csv = await format.appender(csvFile, {
    delimiter,
    header: !existing,
    columns,
    types: datasetTypes(options.dataset, labelNames, runInDataset(config)),
    ...(options.dataset.chat ? { chat: options.dataset.chat } : {}),
    csvSafe,
  });
  // Each file goes on in the delimiter it has: a metrics file kept beside a new output keeps its own.
  const metrics = metricsFile
    ? await metricsFormat.appender(metricsFile, {
        delimiter: existingMetrics?.delimiter ?? delimiter,
        header: !existingMetrics,
        columns: metricColumns(config),
        types: metricTypes(config),
      })
    : undefined;
  return { record, csv, metrics, made };
}

/**
 * The output file and its metrics file as a destination. The sizes before appending are
 * recorded first, so an interrupted or repeated export replaces this run's rows, never doubles them.
 */
function fileDestination(
  store: ManifestStore,
  options: ExportOptions,
  files: OutputFiles,
): Destination<Exported> {
  const { csvFile, metricsFile, labelNames } = files;
  const { manifest } = store;
  const { config } = manifest;
  const csvSafe = Boolean(options.csvSafe ?? config.csvSafe);
  let record: Export;
  let csv: RowWriter;
  let metrics: RowWriter | undefined;
  let made: string[] = [];
  let rows = 0;
  let leftOut = 0;
  return {
    async open() {
      ({ record, csv, metrics, made } = await openOutput(store, options, files, csvSafe));
    },
    write(s) {
      const index = record.firstIndex + rows;
      const row = datasetRow(s, index, options.dataset.fields, labelNames);
      if (runInDataset(config)) row.push(manifest.id);
      // A sample that makes no line has no metrics line either: the two files stay side by side.
      if (csv.write(row) === false) return void leftOut++;
      if (++rows % 100_000 === 0) options.onProgress?.(rows);
      metrics?.write(metricsRow(s, index, config, manifest.id));
    },
    async close() {
      crashPoint("during-export");
      csv.close();
      metrics?.close();
    },
    async abandon() {
      // A file found damaged halfway, a disk full: the rows written so far go, as if never appended.
      try {
        csv?.abandon();
        metrics?.abandon();
      } finally {
        // A file this export made goes: no empty file is left where there was none.
        for (const [file, offset] of [
          [csvFile, record.csvOffset],
          [metricsFile, record.metricsOffset],
        ] as const)
          if (file && made.includes(file)) rmSync(file, { force: true });
          else if (file) await truncateTo(file, offset);
        dropClaim(csvFile);
      }
    },
    async commit(duplicates) {
      const formulas = csv.formulaCells?.();
      // Its end need not wait for the disk: without it, the next export takes these rows away and writes them again.
      store.updateLocal(() => {
        record.csvEnd = sizeOf(csvFile)!;
        if (metricsFile) record.metricsEnd = sizeOf(metricsFile)!;
        record.rows = rows;
        record.done = true;
      });
      dropClaim(csvFile);
      return {
        rows,
        csvFile,
        ...(metricsFile ? { metricsFile } : {}),
        firstIndex: record.firstIndex,
        ...(duplicates ? { duplicates } : {}),
        ...(formulas !== undefined ? { formulaCells: { count: formulas, neutralised: csvSafe } } : {}),
        ...(leftOut ? { leftOut } : {}),
      };
    },
  };
}

/**
 * Hands on the run's valid samples in sample order, whatever order the answers came in (the
 * service writes them in any order, retries come later): a chunk's valid samples wait, by
 * position, until the chunk is complete. Chunks come in order, and one is at most 50,000
 * samples. The first valid answer per sample wins.
 */
export async function eachValidSample(
  manifest: Manifest,
  feed: SampleFeed,
  use: (sample: SampleResult) => void,
): Promise<void> {
  if (feed.valid) return feed.valid(use);
  if (feed.inOrder) return feed((s) => s.status === "ok" && use(s));
  let chunk: Chunk | undefined;
  let waiting: (SampleResult | undefined)[] = [];
  const share = sharedValues();
  const flush = () => {
    for (const s of waiting) if (s) use(s);
    waiting = [];
  };
  await feed((s) => {
    if (s.chunk !== chunk?.index) {
      flush();
      chunk = manifest.chunks[s.chunk]!;
      waiting = new Array(chunk.samples);
    }
    const at = s.sample - 1 - chunk.firstSample;
    if (s.status !== "ok" || waiting[at]) return;
    waiting[at] = share(s);
  });
  flush();
}

/** A dataset row as an array in the columns' order, as every format takes it. */
export function datasetRow(
  s: SampleResult,
  index: number,
  fields: string[],
  labelNames: string[],
): unknown[] {
  return [index, ...fields.map((f) => s.fields?.[f]), ...labelNames.map((l) => s.labels[l]), s.custom_id];
}

function metricsRow(s: SampleResult, index: number, config: { input?: unknown }, runId: string): unknown[] {
  return [
    index,
    s.prompt_tokens,
    s.completion_tokens,
    s.total_tokens,
    s.time,
    s.sample,
    s.chunk + 1,
    s.custom_id,
    s.attempt,
    roundUsd(s.cost_usd),
    s.model,
    s.cached_tokens ?? 0,
    s.reasoning_tokens ?? 0,
    ...(config.input ? [s.input_row] : []),
    runId,
  ];
}

/** What --dedup asks, and how many of each kind an export left out. */
export interface Dedup {
  mode: DedupMode;
  /** Near and semantic: the similarity from which a sample is a repeat. */
  threshold: number;
  /** Semantic: the finder by the samples' embeddings, made before the export (pipeline/semantic.ts). */
  semantic?: (sample: Candidate) => Duplicate | undefined;
  /** Semantic: the embeddings model. */
  model?: string;
}
export type DuplicatesLeftOut = { exact: number; near: number; semantic: number; file: string };

/**
 * Tells duplicates apart, and lists each left out in the run folder's duplicates.jsonl, which each export writes
 * afresh. Near ones are found before the export, in a pass of their own over `feed` that spills to the run
 * folder (dedup-spill.ts): the export then reads the samples a second time, so `feed` must give the same
 * samples twice (judged beforehand, not as it goes).
 */
export async function duplicatesNoted(runDir: string, manifest: Manifest, feed: SampleFeed, dedup: Dedup) {
  const spilled =
    dedup.mode === "near"
      ? await spilledNearDuplicates(
          join(runDir, SPILL_DIR),
          (add) => eachValidSample(manifest, feed.heads ?? feed, add),
          {
            threshold: dedup.threshold,
            expected: manifest.chunks.reduce((sum, chunk) => sum + chunk.samples, 0),
            ...(feed.files ? { files: { paths: feed.files, chunks: manifest.chunks } } : {}),
          },
        )
      : undefined;
  const isDuplicateOf = spilled
    ? (s: Candidate) => spilled.find(s)
    : duplicateFinder(dedup.mode, dedup.threshold, dedup.semantic);
  const file = join(runDir, DUPLICATES_FILE);
  const list = new TextWriter(file);
  const counts = { exact: 0, near: 0, semantic: 0 };
  return {
    isDuplicate(s: SampleResult): boolean {
      const found = isDuplicateOf(s);
      if (!found) return false;
      counts[found.kind]++;
      list.write(`${JSON.stringify(found)}\n`);
      return true;
    },
    close: () => {
      list.close();
      spilled?.close();
    },
    summary: (): DuplicatesLeftOut => ({ ...counts, file }),
  };
}

const DUPLICATES_FILE = "duplicates.jsonl";
/** Near de-duplication's files while an export runs, removed after it. */
const SPILL_DIR = "dedup";

/** Costs are sums of tiny products; ten decimals keep them exact to a millionth of a cent. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}
