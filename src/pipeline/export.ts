import { createReadStream } from "node:fs";
import { access, constants, open, stat, truncate } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parse } from "csv-parse";
import { stringify as stringifyRows } from "csv-stringify/sync";
import { UserError } from "../errors.ts";
import { waitForLock } from "../io/lock.ts";
import { readJsonl, TextWriter } from "../io/jsonl.ts";
import { collectedRecords, crashPoint, type Chunk, type Export, type Manifest } from "../run/manifest.ts";
import { type SampleResult } from "./collect.ts";
import { samplesFile } from "../run/files.ts";

export const METRIC_COLUMNS = ["index", "prompt_tokens", "completion_tokens", "total_tokens", "time", "sample", "batch", "sample_id", "attempt", "cost_usd", "model"];

/** `dataset.csv` → `dataset_metrics.csv`, as the seed names it. */
export function metricsPathFor(csvFile: string): string {
  return csvFile.replace(/(\.csv)?$/i, "_metrics.csv");
}

export function datasetColumns(fields: string[], labelNames: string[]): string[] {
  return ["index", ...fields, ...labelNames, "sample_id"];
}

/** Where an export's rows come from: it hands every sample of the run, in chunk order, to `add`. */
export type SampleFeed = (add: (sample: SampleResult) => void) => Promise<void>;

/** The samples the run has collected, read back from samples/*.jsonl. */
export function collectedSamples(runDir: string, manifest: Manifest): SampleFeed {
  return async (add) => {
    for (const record of collectedRecords(manifest))
      for await (const sample of readJsonl<SampleResult>(join(runDir, samplesFile(record)), `\`synthai export ${manifest.id}\` judges the answers again from results/`)) add(sample);
  };
}

export async function labelNamesOf(runDir: string, manifest: Manifest): Promise<string[]> {
  const first = manifest.chunks[0];
  if (!first) return [];
  for await (const draw of readJsonl<{ labels: Record<string, string> }>(join(runDir, first.drawsFile))) return Object.keys(draw.labels);
  return [];
}

interface ExistingCsv {
  size: number;
  delimiter: string;
  lastIndex: number;
}

/** Reads an existing CSV's header (to check columns and delimiter) and its last `index`. */
export async function readExistingCsv(path: string, columns: string[], delimiter: string | undefined): Promise<ExistingCsv | undefined> {
  const size = await stat(path).then((s) => s.size, () => 0);
  if (size === 0) return undefined;
  const firstLine = await readFirstLine(path);
  const candidates = delimiter ? [delimiter] : [",", ";", "\t", "|"];
  const found = candidates.find((d) => sameColumns(splitHeader(firstLine, d), columns));
  if (!found) {
    const header = splitHeader(firstLine, delimiter ?? (firstLine.includes(";") ? ";" : ","));
    throw new UserError(
      `${path} has columns ${header.join(",")}, this run writes ${columns.join(",")}`,
      "choose another output with -p, or the params and spec that made that file",
    );
  }
  let lastIndex = -1;
  const parser = createReadStream(path).pipe(parse({ delimiter: found, columns: true, relax_column_count: true, skip_empty_lines: true }));
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    const index = Number(row.index);
    if (Number.isFinite(index)) lastIndex = Math.max(lastIndex, index);
  }
  return { size, delimiter: found, lastIndex };
}

function splitHeader(line: string, delimiter: string): string[] {
  return line.replace(/^\uFEFF/, "").trim().split(delimiter).map((c) => c.replace(/^"|"$/g, ""));
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

async function readFirstLine(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8").split(/\r?\n/)[0] ?? "";
  } finally {
    await handle.close();
  }
}

export async function checkWritable(path: string): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new UserError(`output ${path} is a folder`, "give a file name, e.g. -p dataset.csv");
  try {
    await access(path, constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new UserError(`cannot write to ${path}`, "choose another output with -p, or fix its permissions");
    try {
      await access(dirname(path), constants.W_OK);
    } catch {
      throw new UserError(`cannot create ${path}: its folder does not exist or is not writable`, "choose another output with -p");
    }
  }
}

export interface ExportOptions {
  fields: string[];
  /** Write here instead of the run's own output (a new file, or one with the same columns). */
  output?: string;
  save: () => void;
  onProgress?: (rows: number) => void;
  /** Told when another process is writing the same output and this export waits for it. */
  onWait?: (line: string) => void;
  /** By default the samples the run has collected. */
  feed?: SampleFeed;
}

/**
 * Appends a run's valid samples to its CSV (and metrics CSV). The sizes before appending are
 * recorded first, so an interrupted or repeated export replaces this run's rows, never doubles them.
 */
export async function exportRun(runDir: string, manifest: Manifest, options: ExportOptions): Promise<{ rows: number; csvFile: string; metricsFile?: string; firstIndex: number }> {
  const { config } = manifest;
  const csvFile = options.output ?? config.output;
  const metricsFile = config.metrics ? metricsPathFor(csvFile) : undefined;
  const labelNames = await labelNamesOf(runDir, manifest);
  const columns = datasetColumns(options.fields, labelNames);
  await checkWritable(csvFile);
  if (metricsFile) await checkWritable(metricsFile);
  // Runs finishing together (two cron jobs on the default dataset.csv) append one at a time:
  // each reads the file's last index only once the one before it has written all its rows.
  const unlock = await waitForLock(`${csvFile}.lock`, (pid) => options.onWait?.(`waiting for process ${pid}, which is writing ${csvFile}`));
  try {
    return await appendRows(runDir, manifest, options, { csvFile, metricsFile, labelNames, columns });
  } finally {
    unlock();
  }
}

async function appendRows(
  runDir: string,
  manifest: Manifest,
  options: ExportOptions,
  { csvFile, metricsFile, labelNames, columns }: { csvFile: string; metricsFile: string | undefined; labelNames: string[]; columns: string[] },
): Promise<{ rows: number; csvFile: string; metricsFile?: string; firstIndex: number }> {
  const { config } = manifest;
  const previous = manifest.exports?.find((e) => e.csvFile === csvFile);
  if (previous) {
    // This run wrote here before: roll back to the size before it, if nobody appended since.
    // A file deleted since holds nothing to protect: it is written afresh.
    for (const [file, end] of [[csvFile, previous.csvEnd], [previous.metricsFile, previous.metricsEnd]] as const) {
      const size = file ? await sizeOf(file) : undefined;
      if (previous.done && size !== undefined && size !== end) throw new UserError(`${file} changed since this run exported to it`, "export to a new file with -p");
    }
    await truncateTo(csvFile, previous.csvOffset);
    if (previous.metricsFile) await truncateTo(previous.metricsFile, previous.metricsOffset);
  }

  const existing = await readExistingCsv(csvFile, columns, config.delimiter);
  const existingMetrics = metricsFile ? await readExistingCsv(metricsFile, METRIC_COLUMNS, existing?.delimiter ?? config.delimiter) : undefined;
  const delimiter = existing?.delimiter ?? config.delimiter ?? ",";
  const firstIndex = existing ? existing.lastIndex + 1 : 0;
  const record: Export = {
    csvFile,
    ...(metricsFile ? { metricsFile } : {}),
    csvOffset: existing?.size ?? 0,
    metricsOffset: existingMetrics?.size ?? 0,
    firstIndex,
    done: false,
  };
  manifest.exports = [...(manifest.exports ?? []).filter((e) => e.csvFile !== csvFile), record];
  options.save();

  // One pass over the samples feeds both files.
  const csv = csvWriter(csvFile, { delimiter, header: !existing, columns });
  const metrics = metricsFile ? csvWriter(metricsFile, { delimiter, header: !existingMetrics, columns: METRIC_COLUMNS }) : undefined;
  let rows = 0;
  // The first valid answer per sample wins. Chunks come in order, so one bit per sample of
  // the current chunk is all it keeps (holding the ids themselves would grow the heap).
  let chunk: Chunk | undefined;
  let seen = new Uint8Array(0);
  try {
    await (options.feed ?? collectedSamples(runDir, manifest))((s) => {
      if (s.chunk !== chunk?.index) {
        chunk = manifest.chunks[s.chunk]!;
        seen = new Uint8Array(chunk.samples);
      }
      const at = s.sample - 1 - chunk.firstSample;
      if (s.status !== "ok" || seen[at]) return;
      seen[at] = 1;
      const index = firstIndex + rows;
      if (++rows % 100_000 === 0) options.onProgress?.(rows);
      // Rows as arrays in the columns' order: csv-stringify maps objects to columns more slowly.
      csv.write([index, ...options.fields.map((f) => s.fields?.[f]), ...labelNames.map((l) => s.labels[l]), s.custom_id]);
      metrics?.write([index, s.prompt_tokens, s.completion_tokens, s.total_tokens, s.time, s.sample, s.chunk + 1, s.custom_id, s.attempt, roundUsd(s.cost_usd), s.model]);
    });
    crashPoint("during-export");
  } catch (error) {
    // A file found damaged halfway: the rows written so far go again, as if never appended.
    csv.abandon();
    metrics?.abandon();
    await truncateTo(csvFile, record.csvOffset);
    if (metricsFile) await truncateTo(metricsFile, record.metricsOffset);
    throw error;
  }
  csv.close();
  metrics?.close();
  record.csvEnd = (await stat(csvFile)).size;
  if (metricsFile) record.metricsEnd = (await stat(metricsFile)).size;
  record.rows = rows;
  record.done = true;
  options.save();
  return { rows, csvFile, ...(metricsFile ? { metricsFile } : {}), firstIndex };
}

async function sizeOf(path: string): Promise<number | undefined> {
  return stat(path).then((s) => s.size, () => undefined);
}

/**
 * Appends CSV rows to a file. Rows are gathered and quoted a hundred at a time with
 * csv-stringify's synchronous API, which is much faster per row than its stream; a hundred
 * rows make a string small enough to die young in V8's heap. csv-stringify is pinned to
 * 6.8: 6.9 allocates three times the memory per field and quotes 40% slower. What 6.9 added
 * for a single-character delimiter, quoting a field with a lone carriage return, is asked
 * for here with `quoted_match` (parsers that accept CR line ends would split such a row).
 */
function csvWriter(path: string, options: { delimiter: string; header: boolean; columns: string[] }) {
  const file = new TextWriter(path, { append: true });
  let rows: unknown[][] = [];
  let header = options.header;
  const quote = () => {
    const text = stringifyRows(rows, { delimiter: options.delimiter, header, columns: options.columns, quoted_match: "\r" });
    [rows, header] = [[], false];
    return text;
  };
  return {
    write(row: unknown[]): void {
      rows.push(row);
      if (rows.length >= 100) file.write(quote());
    },
    close(): void {
      file.write(quote());
      file.close();
    },
    /** Closes the file without writing what is left. */
    abandon(): void {
      file.discard();
    },
  };
}

async function truncateTo(path: string, size: number): Promise<void> {
  const current = await stat(path).then((s) => s.size, () => -1);
  if (current > size) await truncate(path, size);
}

/** Costs are sums of tiny products; ten decimals keep them exact to a millionth of a cent. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e10) / 1e10;
}
