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

export type { FormatName } from "./names.ts";
export { RUN_COLUMN };

/** What a file already holds: its size, its delimiter and its highest `index`. */
export interface Existing {
  size: number;
  delimiter: string;
  lastIndex: number;
}

/** Rows appended in the order of the columns given; abandon closes without writing what waits. */
export interface RowWriter {
  write(row: unknown[]): void;
  close(): void;
  abandon(): void;
  /** CSV: how many cells written so far a spreadsheet would read as a formula (neutralised or not). */
  formulaCells?(): number;
}

/** A column of one value: from a dataset's schema, else text; metrics are numbers. */
export type ScalarType = "string" | "integer" | "number" | "boolean";

/** What a column holds: a value, a list (a schema's array) or a struct (an object with its properties). */
export type ColumnType = ScalarType | { list: ColumnType } | { struct: Record<string, ColumnType> };

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
      `export to a new file with -p, or move ${path} aside: this run then starts it afresh, and the old rows keep their index`,
    );
  return new UserError(
    `${path} has ${what} ${found.join(",")}, this run writes ${columns.join(",")}`,
    "choose another output with -p, or the params and spec that made that file",
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
  if (name) return FORMATS[name];
  return (
    Object.values(FORMATS).find((format) =>
      format.extensions.some((ext) => path.toLowerCase().endsWith(ext)),
    ) ?? FORMATS.csv
  );
}

/** The formats of an output and of its metrics beside it. */
export function outputFormats(path: string, name?: FormatName): { format: Format; metricsFormat: Format } {
  const format = formatFor(path, name);
  return { format, metricsFormat: format.metricsFormat ? FORMATS[format.metricsFormat] : format };
}

/** The column type of a JSON Schema: arrays are lists, objects with properties structs, anything else text. */
export function columnTypeOf(schema: unknown): ColumnType {
  const { type, items, properties } = (schema ?? {}) as {
    type?: unknown;
    items?: unknown;
    properties?: unknown;
  };
  // A nullable field (`type: [string, "null"]`) has its other type.
  const named = Array.isArray(type) ? type.find((t) => t !== "null") : type;
  if (named === "integer" || named === "number" || named === "boolean") return named;
  if (named === "array") return { list: columnTypeOf(items) };
  if (named === "object" && properties && typeof properties === "object" && Object.keys(properties).length)
    return {
      struct: Object.fromEntries(Object.entries(properties).map(([name, s]) => [name, columnTypeOf(s)])),
    };
  return "string";
}

/**
 * A value as its column's type, the same in every format that keeps types: answers are text, a
 * schema's integer field a number, its array a list (parsed from the JSON text the answer was
 * kept as), its object a struct with every property (null where missing).
 */
export function typedValue(value: unknown, type: ColumnType | undefined): unknown {
  if (value === undefined || value === null || type === undefined) return value ?? null;
  if (typeof type === "object")
    return typedNested(typeof value === "string" ? parsedJson(value) : value, type);
  if (type === "string") return typeof value === "string" ? value : JSON.stringify(value);
  if (type === "boolean") return typeof value === "boolean" ? value : String(value) === "true";
  const number = typeof value === "number" ? value : Number(value);
  return Number.isFinite(number) ? number : null;
}

function typedNested(value: unknown, type: { list: ColumnType } | { struct: Record<string, ColumnType> }) {
  if ("list" in type) return Array.isArray(value) ? value.map((item) => typedValue(item, type.list)) : null;
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(type.struct).map(([name, t]) => [name, typedValue(object[name], t)]),
  );
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The type's name in a line of text (a card's table, a message): `list<string>`, `struct<a: int64>`. */
export function typeName(type: ColumnType, scalar: (t: ScalarType) => string): string {
  if (typeof type === "string") return scalar(type);
  if ("list" in type) return `list<${typeName(type.list, scalar)}>`;
  const parts = Object.entries(type.struct).map(([name, t]) => `${name}: ${typeName(t, scalar)}`);
  return `struct<${parts.join(", ")}>`;
}
