// CSV, as the seed writes it: a header row, then one row per sample, appended to an existing file.
import { createReadStream } from "node:fs";
import { UserError } from "../../errors.ts";
import { sizeOf } from "../disk.ts";
import { readFirstLine, TextWriter } from "../jsonl.ts";
import { otherColumns, type Existing, type Format, type RowWriter } from "./index.ts";

/** Reads an existing CSV's header (to check columns and delimiter) and its last `index`. */
export async function readExisting(
  path: string,
  columns: string[],
  delimiter: string | undefined,
): Promise<Existing | undefined> {
  const size = sizeOf(path) ?? 0;
  if (size === 0) return undefined;
  const firstLine = await readFirstLine(path);
  // A binary file (a Parquet file under a .txt name, say) has no header to show in a message.
  if (/[\x00-\x08\x0e-\x1f]/.test(firstLine))
    throw new UserError(
      `${path} is not a CSV file: it holds binary data`,
      "choose another output, or the --format that file is in",
    );
  // --delimiter is a new file's: an existing one keeps its own, whichever of these it is.
  const candidates = [...new Set([delimiter ?? ",", ",", ";", "\t", "|"])];
  const found = candidates.find((d) => sameColumns(splitHeader(firstLine, d), columns));
  if (!found) {
    const header = splitHeader(firstLine, delimiter ?? (firstLine.includes(";") ? ";" : ","));
    throw otherColumns(path, header, columns);
  }
  let lastIndex = -1;
  const { parse } = await import("csv-parse");
  const parser = createReadStream(path).pipe(
    parse({ delimiter: found, columns: true, relax_column_count: true, skip_empty_lines: true }),
  );
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      const index = Number(row.index);
      if (Number.isFinite(index)) lastIndex = Math.max(lastIndex, index);
    }
  } catch (error) {
    // csv-parse's own errors carry a CSV_… code; anything else (the disk) is not the file's fault.
    if (!String((error as { code?: unknown }).code).startsWith("CSV_")) throw error;
    throw new UserError(
      `${path} does not parse as CSV: ${(error as Error).message.split("\n")[0]}`,
      "repair its last rows (a write cut short leaves one torn), or choose another output",
    );
  }
  return { size, delimiter: found, lastIndex };
}

function splitHeader(line: string, delimiter: string): string[] {
  return line
    .replace(/^\uFEFF/, "")
    .trim()
    .split(delimiter)
    .map((c) => c.replace(/^"|"$/g, ""));
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

/**
 * Appends CSV rows to a file, quoted as csv-stringify quotes them (test/formats.test.ts holds
 * the two side by side): a field holding the delimiter, a quote, a line feed or a carriage
 * return is quoted, its quotes doubled. Written by hand: with csv-stringify, an export of 100,000
 * judged samples took 1.21× the time (farm-bench, paired; BENCHMARKS.md).
 */
async function csvWriter(
  path: string,
  options: { delimiter: string; header: boolean; columns: string[]; csvSafe?: boolean },
): Promise<RowWriter> {
  const file = new TextWriter(path, { append: true });
  const { delimiter, csvSafe = false } = options;
  let formulas = 0;
  const quoted = (field: string) =>
    /["\n\r]/.test(field) || field.includes(delimiter) ? `"${field.replaceAll('"', '""')}"` : field;
  const cell = (value: unknown) => {
    const text = fieldText(value);
    if (typeof value !== "string" || !formulaLike(text)) return quoted(text);
    formulas++;
    return csvSafe ? `"'${text.replaceAll('"', '""')}"` : quoted(text);
  };
  const line = (row: unknown[], toCell = cell) => {
    let text = "";
    for (let i = 0; i < row.length; i++) text += `${i ? delimiter : ""}${toCell(row[i])}`;
    return `${text}\n`;
  };
  if (options.header) file.write(line(options.columns, (name) => quoted(String(name))));
  return {
    formulaCells: () => formulas,
    write(row: unknown[]): void {
      file.write(line(row));
    },
    close(): void {
      file.close();
    },
    /** Closes the file without writing what is left. */
    abandon(): void {
      file.discard();
    },
  };
}

/**
 * Whether a spreadsheet would read a cell as a formula, as OWASP's "CSV Injection" lists them: it
 * starts with =, +, -, @, a tab or a carriage return. A plain number ("-3") is only a number.
 * --csv-safe writes such a cell as OWASP says: a single quote first, and the cell quoted.
 */
export function formulaLike(text: string): boolean {
  return /^[=+\-@\t\r]/.test(text) && !PLAIN_NUMBER.test(text);
}

const PLAIN_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A value as csv-stringify casts it: booleans as 1 or nothing, dates as milliseconds, objects as JSON. */
function fieldText(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
      return String(value);
    case "boolean":
      return value ? "1" : "";
    case "object":
      return value === null ? "" : value instanceof Date ? String(value.getTime()) : JSON.stringify(value);
    default:
      return "";
  }
}

export const csv: Format = {
  extensions: [".csv", ".tsv"],
  readExisting: readExisting,
  appender: csvWriter,
};
