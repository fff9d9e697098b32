// `synthai export <run> --hf DIR`: a folder that Hugging Face `datasets.load_dataset(DIR)` and
// the Hub read as it is. Parquet files named by split under data/ (the Hub's file-name rules),
// and a README.md dataset card whose YAML names the splits' files and the features.
import { usesBatches } from "./transport.ts";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { makeFolder, sizeOf } from "../io/disk.ts";
import { basename, dirname, join } from "node:path";
import matter from "gray-matter";
import { UserError, cliName, givenAs, type OptionNamer } from "../errors.ts";
import { shapedRow } from "../io/formats/shaped.ts";
import {
  FORMATS,
  formatFor,
  typeName,
  type ColumnType,
  type FormatName,
  type RowWriter,
  type ScalarType,
} from "../io/formats/index.ts";
import { formatUsd } from "../api/pricing.ts";
import { fromCacheText, stageRows, summarize } from "../run/totals.ts";
import { serviceOf } from "../run/config.ts";
import { crashPoint, type Manifest } from "../run/manifest.ts";
import { isAlive } from "../io/lock.ts";
import type { Dataset } from "../dataset/spec.ts";
import type { SampleResult } from "../run/records.ts";
import { DROPPED_BY } from "./stages.ts";
import {
  checkFormatFits,
  datasetColumns,
  datasetRow,
  datasetTypes,
  labelNamesOf,
  type Destination,
  type DuplicatesLeftOut,
} from "./export.ts";

export interface Split {
  name: string;
  share: number;
}

/** `--split train=0.9,test=0.1`: names the Hub accepts, shares that add up to 1 (errors name it as `as` says). */
export function parseSplits(text: string | undefined, as: OptionNamer = cliName): Split[] {
  if (text === undefined) return [{ name: "train", share: 1 }];
  const split = as("--split");
  const hint = `e.g. ${givenAs(as, "split", "train=0.9,test=0.1")} (names of letters, digits and _; shares that add up to 1)`;
  const splits = text.split(",").map((part) => {
    const [name = "", share = ""] = part.split("=").map((s) => s.trim());
    const value = Number(share);
    if (!/^\w+(\.\w+)*$/.test(name) || !(value > 0 && value <= 1))
      throw new UserError(`${split}: "${part}" is not name=share`, hint);
    return { name, share: value };
  });
  if (new Set(splits.map((s) => s.name)).size !== splits.length)
    throw new UserError(`${split} names a split twice: ${text}`, hint);
  const total = splits.reduce((sum, s) => sum + s.share, 0);
  if (Math.abs(total - 1) > 1e-9) throw new UserError(`${split} shares add up to ${total}, not 1`, hint);
  return splits;
}

/**
 * Which split a sample goes to: a seeded hash of its id, so the same run always splits the
 * same way and a sample keeps its split when the run grows. Shares are met on average, not
 * to the row, as in hash-based splits generally.
 */
function splitOf(splits: Split[], seed: number, sampleId: string): number {
  const digest = createHash("sha1").update(`${seed}:${sampleId}`).digest();
  const point = digest.readUInt32BE(0) / 2 ** 32;
  let edge = 0;
  for (let i = 0; i < splits.length; i++) if (point < (edge += splits[i]!.share)) return i;
  return splits.length - 1;
}

const DTYPES: Record<ScalarType, string> = {
  string: "string",
  integer: "int64",
  number: "float64",
  boolean: "bool",
};

/** A column as the card's `features` name it, in the YAML that `datasets` reads: `dtype`, `list`, `struct`. */
function featureOf(type: ColumnType): Record<string, unknown> {
  if (typeof type === "string") return { dtype: DTYPES[type] };
  if ("list" in type) {
    const inner = featureOf(type.list);
    return { list: inner.dtype ?? inner.struct ?? inner };
  }
  return { struct: Object.entries(type.struct).map(([name, t]) => ({ name, ...featureOf(t) })) };
}

const dtypeName = (type: ColumnType) => typeName(type, (t) => DTYPES[t]);

/** The card's own mark: a folder with it is one synthai wrote, which an export may replace. */
const MARK = "<!-- written by synthai export --hf -->";

export interface HfOptions {
  dir: string;
  splits: Split[];
  /** A Markdown section about the data for the card, asked once the rows are written. */
  describe?: (() => Promise<string>) | undefined;
  /** The export's format: a chat or preference one keeps its shape (its object's keys are the columns). */
  format?: FormatName | undefined;
  /** The card's `license` (a Hub identifier); none is made up. */
  license?: string | undefined;
}

export interface HfMade {
  rows: number[];
  /** Samples that made no row of the format (a conversation with no answer, a sample with no pair). */
  leftOut?: number;
  dir: string;
  duplicates?: DuplicatesLeftOut;
}

/** What the folder's Parquet files hold: their columns, and how a sample becomes a row. */
async function hfColumns(
  runDir: string,
  manifest: Manifest,
  dataset: Dataset,
  format: FormatName | undefined,
) {
  const labelNames = await labelNamesOf(runDir, manifest);
  const rowColumns = datasetColumns(dataset.fields, labelNames);
  checkFormatFits(manifest.config.output, format, dataset, rowColumns);
  const { shape } = formatFor(manifest.config.output, format);
  const columns = shape ? shape.columns.map(([name]) => name) : rowColumns;
  const types = shape ? shape.columns.map(([, type]) => type) : datasetTypes(dataset, labelNames);
  const record = shape?.record({ columns: rowColumns, delimiter: ",", header: true, chat: dataset.chat });
  /** A sample's row at `index`, or undefined where the shape makes none of it. */
  const rowOf = (s: SampleResult, index: number): unknown[] | undefined => {
    const row = datasetRow(s, index, dataset.fields, labelNames);
    if (!record) return row;
    const object = record(row);
    return object ? shapedRow(shape!, object) : undefined;
  };
  return { columns, types, shaped: Boolean(shape), rowOf };
}

/** A Hugging Face folder as a destination: written beside DIR, then moved into place. */
export function hfDestination(
  runDir: string,
  manifest: Manifest,
  dataset: Dataset,
  options: HfOptions,
): Destination<HfMade> {
  const { dir, splits } = options;
  // Written beside, then moved into place: an export that stops halfway leaves DIR as it was.
  const { partial, aside } = besideNames(dir, process.pid);
  let made: Awaited<ReturnType<typeof hfColumns>>;
  let writers: Shards[] = [];
  let files: string[][] = [];
  const rows = splits.map(() => 0);
  let index = 0;
  let leftOut = 0;
  const destination: Destination<HfMade> = {
    async open() {
      await tidyBeside(dir);
      await checkReplaceable(dir);
      made = await hfColumns(runDir, manifest, dataset, options.format ?? manifest.config.format);
      const { columns, types } = made;
      await rm(partial, { recursive: true, force: true });
      await makeFolder(join(partial, "data"), dir);
      const open = (file: string) =>
        FORMATS.parquet.appender(join(partial, file), { columns, types, delimiter: ",", header: true });
      writers = await Promise.all(splits.map((s) => shardedWriter(partial, s.name, open)));
    },
    write(s) {
      const row = made.rowOf(s, index);
      if (!row) return void leftOut++;
      const split = splitOf(splits, manifest.config.seed, s.custom_id);
      rows[split]!++;
      index++;
      writers[split]!.write(row);
    },
    async close() {
      files = await Promise.all(writers.map((writer) => writer.finish()));
    },
    async abandon() {
      for (const writer of writers) writer.abandon();
      await rm(partial, { recursive: true, force: true });
    },
    async commit(duplicates) {
      try {
        await copyRecipe(manifest, join(partial, RECIPE));
        const card = datasetCard(manifest, dataset, {
          columns: made.columns,
          types: made.types,
          splits,
          files,
          sizes: await Promise.all(files.map((names) => parquetSizes(partial, names))),
          rows,
          license: options.license,
          duplicates,
          about: await options.describe?.(),
          shaped: made.shaped,
        });
        await writeFile(join(partial, "README.md"), card);
        crashPoint("during-hf-export");
        // The old folder goes aside before the new one comes in, so a kill between leaves one to put back.
        if (await stat(dir).catch(() => undefined)) await rename(dir, aside);
        crashPoint("hf-swap");
        await rename(partial, dir);
        await rm(aside, { recursive: true, force: true });
      } catch (error) {
        await destination.abandon();
        throw error;
      }
      return { rows, dir, ...(duplicates ? { duplicates } : {}), ...(leftOut ? { leftOut } : {}) };
    },
  };
  return destination;
}

/** The folders beside DIR of the export by process `pid`: the new one while written, the old one while swapped. */
function besideNames(dir: string, pid: number): { partial: string; aside: string } {
  const base = join(dirname(dir), `.${basename(dir)}`);
  return { partial: `${base}.partial-${pid}`, aside: `${base}.old-${pid}` };
}

/**
 * What exports killed (`kill -9`) left beside DIR: a partial folder is removed, and an old folder
 * moved aside just before the kill is put back, if nothing took its place. Folders of a live
 * export are left alone.
 */
async function tidyBeside(dir: string): Promise<void> {
  const prefix = `.${basename(dir)}.`;
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[])) {
    const left = /^(partial|old)-(\d+)$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : "");
    const pid = Number(left?.[2]);
    if (!left || (pid !== process.pid && isAlive({ pid }))) continue;
    const path = join(dirname(dir), name);
    if (left[1] === "old" && !(await stat(dir).catch(() => undefined))) await rename(path, dir);
    else await rm(path, { recursive: true, force: true });
  }
}

/** Past this, a split goes on in a new file: room for the last row group under the Hub's 500 MB a shard. */
const SHARD_BYTES = 400 * 1024 * 1024;

/** The folder with what the dataset was made from: the parameters and the prompt files or spec. */
export const RECIPE = "synthai";

interface Shards {
  write(row: unknown[]): void;
  /** Closes the last file and names them all `data/{split}-NNNNN-of-NNNNN.parquet`. */
  finish(): Promise<string[]>;
  abandon(): void;
}

/** A split's Parquet, in as many files as its size needs. */
export async function shardedWriter(
  dir: string,
  split: string,
  open: (file: string) => Promise<RowWriter>,
  limit = SHARD_BYTES,
): Promise<Shards> {
  const parts = [`data/${split}.part0`];
  let writer: RowWriter | undefined = await open(parts[0]!);
  let rows = 0;
  // Opening the next file is asynchronous: rows that come meanwhile wait for it.
  let waiting: unknown[][] = [];
  let opening: Promise<void> = Promise.resolve();
  const roll = () => {
    writer!.close();
    writer = undefined;
    parts.push(`data/${split}.part${parts.length}`);
    opening = open(parts.at(-1)!).then((next) => {
      for (const row of waiting) next.write(row);
      waiting = [];
      writer = next;
    });
  };
  return {
    write(row) {
      if (!writer) return void waiting.push(row);
      writer.write(row);
      if (++rows % 1000 === 0 && (sizeOf(join(dir, parts.at(-1)!)) ?? 0) >= limit) roll();
    },
    async finish() {
      await opening;
      writer!.close();
      const names = parts.map((_, i) => shardName(split, i, parts.length));
      for (let i = 0; i < parts.length; i++) await rename(join(dir, parts[i]!), join(dir, names[i]!));
      return names;
    },
    abandon: () => writer?.abandon(),
  };
}

const shardName = (split: string, i: number, n: number) =>
  `data/${split}-${String(i).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.parquet`;

/** A split's size as the card gives it: the data's bytes (uncompressed, as Parquet counts them) and the files'. */
async function parquetSizes(
  dir: string,
  files: string[],
): Promise<{ numBytes: number; downloadSize: number }> {
  const { asyncBufferFromFile, parquetMetadataAsync } = await import("hyparquet");
  let numBytes = 0;
  let downloadSize = 0;
  for (const file of files) {
    const buffer = await asyncBufferFromFile(join(dir, file));
    downloadSize += buffer.byteLength;
    for (const group of (await parquetMetadataAsync(buffer)).row_groups)
      numBytes += Number(group.total_byte_size);
  }
  return { numBytes, downloadSize };
}

/** The run's parameters and its prompt files or spec, as they are now (the run checked they are the same). */
async function copyRecipe(manifest: Manifest, dir: string): Promise<void> {
  const { config } = manifest;
  const sources = [
    config.paramsFile,
    config.specFile ?? config.promptFile,
    ...(config.stages ?? []).map((s) => s.promptFile),
  ].filter((f): f is string => Boolean(f));
  await mkdir(dir, { recursive: true });
  // A file gone since the run is left out rather than failing the export; two files of one name
  // (write/prompt.md, judge/prompt.md) are both kept, the later one numbered by its place.
  const taken = new Set<string>();
  for (const [place, file] of [...new Set(sources)].entries()) {
    if (sizeOf(file) === undefined) continue;
    const name = taken.has(basename(file)) ? `${place + 1}-${basename(file)}` : basename(file);
    taken.add(name);
    await copyFile(file, join(dir, name));
  }
}

/**
 * DIR may be missing, empty, or a folder an earlier `--hf` export wrote; anything else is somebody's.
 * Its errors name no flag: the library's `hf` option meets them too.
 */
async function checkReplaceable(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    if (error.code === "ENOTDIR")
      throw new UserError(`the Hugging Face folder ${dir} is a file`, "name a new folder for the dataset");
    throw error;
  });
  if (!entries.length) return;
  const card = await readFile(join(dir, "README.md"), "utf8").catch(() => "");
  if (!card.includes(MARK))
    throw new UserError(
      `the Hugging Face folder ${dir} already holds files that synthai did not write`,
      "name a new folder, or empty that one first",
    );
  if (!(await stat(join(dir, "data")).catch(() => undefined))?.isDirectory())
    throw new UserError(
      `the Hugging Face folder ${dir} has a synthai card but no data/ folder`,
      "name a new folder",
    );
}

function sizeCategory(rows: number): string {
  if (rows < 1_000) return "n<1K";
  if (rows < 10_000) return "1K<n<10K";
  if (rows < 100_000) return "10K<n<100K";
  if (rows < 1_000_000) return "100K<n<1M";
  return "1M<n<10M";
}

interface Made {
  columns: string[];
  types: ColumnType[];
  splits: Split[];
  files: string[][];
  sizes: { numBytes: number; downloadSize: number }[];
  rows: number[];
  license?: string | undefined;
  duplicates?: DuplicatesLeftOut | undefined;
  about?: string | undefined;
  shaped?: boolean;
}

/** The card's YAML: what the Hub and `datasets` read (files, features, sizes) and how the Hub lists it. */
function cardMetadata(manifest: Manifest, made: Made) {
  const { config } = manifest;
  const total = made.rows.reduce((a, b) => a + b, 0);
  return {
    configs: [
      {
        config_name: "default",
        data_files: made.splits.map((s, i) => {
          const files = made.files[i]!;
          return { split: s.name, path: files.length === 1 ? files[0] : files };
        }),
      },
    ],
    dataset_info: {
      features: made.columns.map((name, i) => ({ name, ...featureOf(made.types[i]!) })),
      splits: made.splits.map((s, i) => ({
        name: s.name,
        num_bytes: made.sizes[i]!.numBytes,
        num_examples: made.rows[i],
      })),
      download_size: made.sizes.reduce((sum, s) => sum + s.downloadSize, 0),
      dataset_size: made.sizes.reduce((sum, s) => sum + s.numBytes, 0),
    },
    size_categories: [sizeCategory(total)],
    ...(made.license ? { license: made.license } : {}),
    // A locale (en_US) names the language; without one it is not known.
    ...(config.locale ? { language: [config.locale.split(/[_-]/)[0]!.toLowerCase()] } : {}),
    // Messages are what text-generation models train on; other columns' task is the dataset's own.
    ...(made.shaped ? { task_categories: ["text-generation"] } : {}),
    annotations_creators: ["machine-generated"],
    tags: ["synthetic", "synthai"],
  };
}

/** The dataset card: the Hub's YAML (splits' files, features, sizes), then how the data was made. */
function datasetCard(manifest: Manifest, dataset: Dataset, made: Made): string {
  const { config } = manifest;
  const total = made.rows.reduce((a, b) => a + b, 0);
  const metadata = cardMetadata(manifest, made);
  const made_by = madeByRows(manifest, made);
  const body = [
    MARK,
    `# Synthetic dataset from synthai run ${manifest.id}`,
    "",
    `${total} samples written by \`${config.model}\` from combinations of parameter values, parsed into ` +
      `the fields ${writtenFields(dataset)
        .map((f) => `\`${f}\``)
        .join(", ")}. Every sample ` +
      `is machine-written: check it before you rely on it.`,
    "",
    "## How it was made",
    "",
    "| | |",
    "|---|---|",
    ...made_by.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, "\\|")} |`),
    "",
    `To make it again: \`${RECIPE}/\` holds the parameters and the prompt files or spec it was made from.`,
    "",
    ...(made.about ? [made.about] : []),
    "## Features",
    "",
    "| column | type | what it is |",
    "|---|---|---|",
    ...featureRows(dataset, made),
    "",
    "## Splits",
    "",
    "| split | rows | share asked |",
    "|---|---|---|",
    ...made.splits.map((s, i) => `| ${s.name} | ${made.rows[i]} | ${s.share} |`),
    "",
    `Each sample goes to a split by a hash of the seed and its id: the same run splits the same way every time.`,
    "",
    "```python",
    "from datasets import load_dataset",
    `dataset = load_dataset("path/to/this/folder")`,
    "```",
    "",
  ].join("\n");
  return matter.stringify(body, metadata);
}

/** The card's "How it was made" table: the run, its model, sources, settings, counts and cost. */
function madeByRows(manifest: Manifest, made: Made): [string, string][] {
  const { config } = manifest;
  const summary = summarize(manifest);
  const source = config.promptFile
    ? `prompt file \`${basename(config.promptFile)}\``
    : config.specFile
      ? `spec \`${basename(config.specFile)}\``
      : "the built-in customer-calls spec";
  const made_by: [string, string][] = [
    ["run", `\`${manifest.id}\``],
    [
      "model",
      `\`${config.model}\` on ${serviceOf(config)}` +
        (config.reasoningEffort ? ` (reasoning effort ${config.reasoningEffort})` : ""),
    ],
    ["dataset", source],
    ["parameters", `\`${basename(config.paramsFile)}\``],
    ...(config.input
      ? ([
          [
            "input rows",
            `\`${basename(config.input.path)}\` (${config.input.rows} rows, ` +
              `sha256 ${config.input.sha256.slice(0, 12)}…)`,
          ],
        ] as [string, string][])
      : []),
    ["seed", String(config.seed)],
    ["temperature", config.temperature === undefined ? "the model's default" : String(config.temperature)],
    ["max tokens", String(config.maxTokens)],
    ["samples asked", String(config.samples)],
    ["valid", String(summary.valid)],
    ...stageRows(summary),
    ...(made.duplicates
      ? ([
          [
            "duplicates left out",
            `${made.duplicates.exact} exact, ${made.duplicates.near} near, ${made.duplicates.semantic} semantic`,
          ],
        ] as [string, string][])
      : []),
    [
      "cost",
      `${formatUsd(summary.costUsd)} (${usesBatches(config) ? "Batch API" : "direct requests"})` +
        fromCacheText(summary, ", "),
    ],
    ["created", manifest.createdAt],
  ];
  return made_by;
}

/** The fields the model wrote: not the column `--include-dropped` adds. */
function writtenFields(dataset: Dataset): string[] {
  return dataset.fields.filter((field) => field !== DROPPED_BY);
}

/** The card's table of features: each column's type and what it is. */
function featureRows(dataset: Dataset, made: Made): string[] {
  return made.columns.map((name, i) => {
    const role = made.shaped
      ? "messages (`{role, content}`), as trainers read them"
      : name === "index"
        ? "row number, in sample order"
        : name === "sample_id"
          ? "the sample's id in the run (`synthai inspect --sample`)"
          : name === DROPPED_BY
            ? "what dropped the sample (a stage's condition, or --fill's target); empty for one kept"
            : dataset.fields.includes(name)
              ? "written by the model"
              : "a parameter, generated value or input column the prompt was made from";
    return `| \`${name}\` | ${dtypeName(made.types[i]!)} | ${role} |`;
  });
}
