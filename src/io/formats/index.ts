// Output formats: how a dataset's rows are written, appended to a file that may hold others'.
// One file per format; the export picks one by name or by the output's extension.
import { chat } from "./chat.ts";
import { csv } from "./csv.ts";
import { jsonl } from "./jsonl.ts";
import { parquet } from "./parquet.ts";
import { openaiPreference, preference } from "./preference.ts";
import { RUN_COLUMN, type FormatName } from "./names.ts";
import { UserError } from "../../errors.ts";
import type { Shape } from "./shaped.ts";
import type { ColumnType } from "./types.ts";

export type { FormatName } from "./names.ts";
export { columnTypeOf, typedValue, typeName, type ColumnType, type ScalarType } from "./types.ts";
export { RUN_COLUMN };

/** What a file already holds: its size, its delimiter and its highest `index`. */
export interface Existing {
  size: number;
  delimiter: string;
  lastIndex: number;
}

/** Rows appended in the order of the columns given; abandon closes without writing what waits. */
export interface RowWriter {
  /** false: the row made nothing to write (a conversation with no answer to train on). */
  write(row: unknown[]): boolean | void;
  close(): void;
  abandon(): void;
  /** CSV: how many cells written so far a spreadsheet would read as a formula (neutralised or not). */
  formulaCells?(): number;
}

/** One turn of a fine-tuning conversation: Mustache over a row's columns (`{{Question}}`). */
export interface ChatTurn {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface AppendOptions {
  columns: string[];
  /** One per column; text where not given. */
  types?: ColumnType[];
  delimiter: string;
  header: boolean;
  /** The conversation each row becomes, for the chat format. */
  chat?: ChatTurn[];
  /** CSV: neutralise cells a spreadsheet would read as a formula (--csv-safe). */
  csvSafe?: boolean;
}

export interface Format {
  extensions: string[];
  /** The file format its lines are, where it is a shape written as another's (chat, pairs: JSON lines). */
  writes?: FormatName;
  /** Where the metrics go, when not in this same format (a chat file has no columns). */
  metricsFormat?: FormatName;
  /** What it needs of the dataset: a chat mapping, or a judge's preference between several models. */
  needs?: "chat" | "pairs";
  /** The object each row becomes, where a line is not a row of columns (a conversation, a pair). */
  shape?: Shape;
  /** What an existing file holds, checked against the columns a run writes; undefined when missing or empty. */
  readExisting(path: string, columns: string[], delimiter: string | undefined): Promise<Existing | undefined>;
  /** Appends rows; a new file gets its header first. Async so that a format loads its library only when used. */
  appender(path: string, options: AppendOptions): Promise<RowWriter>;
}

/**
 * An existing file whose columns are not this run's, refused in one line; one written before rows
 * named their run (no run_id, all else the same) gets its own way out.
 */
export function otherColumns(path: string, found: string[], columns: string[], what = "columns"): UserError {
  const before = columns.filter((c) => c !== RUN_COLUMN);
  if (before.length < columns.length && found.join("\0") === before.join("\0"))
    return new UserError(
      `${path} was written by a synthai that did not name each row's run (it has no ${RUN_COLUMN} ${what.replace(/s$/, "")})`,
      `export to a new file, or move ${path} aside: this run then starts it afresh, and the old rows keep their index`,
    );
  return new UserError(
    `${path} has ${what} ${found.join(",")}, this run writes ${columns.join(",")}`,
    "choose another output, or the params and spec that made that file",
  );
}

export const FORMATS: Record<FormatName, Format> = {
  csv,
  jsonl,
  parquet,
  chat,
  preference,
  "openai-preference": openaiPreference,
};

/** The format named, else the one the file's extension names, else CSV. */
export function formatFor(path: string, name?: FormatName): Format {
  return FORMATS[name ?? formatNamedBy(path) ?? "csv"];
}

function formatNamedBy(path: string): FormatName | undefined {
  return (Object.keys(FORMATS) as FormatName[]).find((format) =>
    FORMATS[format].extensions.some((ext) => path.toLowerCase().endsWith(ext)),
  );
}

/**
 * An output file whose name says another kind of file than its format writes (chat lines in
 * `x.parquet`) is refused before it is written: no reader of that kind of file could read it.
 */
export function checkOutputName(path: string, name: FormatName | undefined): void {
  const named = formatNamedBy(path);
  const writes = name ? fileFormatOf(name) : undefined;
  if (named && writes && named !== writes)
    throw new UserError(
      `${path} is named as ${KIND[named]}, and the ${name} format writes ${KIND[writes]}`,
      `name it ${FORMATS[writes].extensions[0]}, or give the format its name says`,
    );
}

/** What a file of each kind is called, for a person. */
const KIND: Partial<Record<FormatName, string>> = { csv: "CSV", jsonl: "JSON lines", parquet: "Parquet" };

/** The output a run writes when none is given: dataset.csv, or the file its format writes (dataset.jsonl). */
export function defaultOutput(name?: FormatName): string {
  return `dataset${FORMATS[name ? fileFormatOf(name) : "csv"].extensions[0]}`;
}

/** The kind of file a format writes: its own, or the one its shape is written as (chat: JSON lines). */
const fileFormatOf = (name: FormatName): FormatName => FORMATS[name].writes ?? name;

/** The formats of an output and of its metrics beside it. */
export function outputFormats(path: string, name?: FormatName): { format: Format; metricsFormat: Format } {
  const format = formatFor(path, name);
  return { format, metricsFormat: format.metricsFormat ? FORMATS[format.metricsFormat] : format };
}
