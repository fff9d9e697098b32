// CSV, as the seed writes it: a header row, then one row per sample, appended to an existing file.
import { createReadStream } from "node:fs";
import { UserError } from "../../errors.ts";
import { sizeOf } from "../disk.ts";
import { readFirstLine, TextWriter } from "../jsonl.ts";
import type { Existing, Format } from "./index.ts";

/** Reads an existing CSV's header (to check columns and delimiter) and its last `index`. */
export async function readExisting(
  path: string,
  columns: string[],
  delimiter: string | undefined,
): Promise<Existing | undefined> {
  const size = sizeOf(path) ?? 0;
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
      "repair its last rows (a write cut short leaves one torn), or choose another output with -p",
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
 * Appends CSV rows to a file. Rows are gathered and quoted a hundred at a time with
 * csv-stringify's synchronous API, which is much faster per row than its stream; a hundred
 * rows make a string small enough to die young in V8's heap. csv-stringify is pinned to
 * 6.8: 6.9 allocates three times the memory per field and quotes 40% slower. What 6.9 added
 * for a single-character delimiter, quoting a field with a lone carriage return, is asked
 * for here with `quoted_match` (parsers that accept CR line ends would split such a row).
 */
async function csvWriter(path: string, options: { delimiter: string; header: boolean; columns: string[] }) {
  const { stringify: stringifyRows } = await import("csv-stringify/sync");
  const file = new TextWriter(path, { append: true });
  let rows: unknown[][] = [];
  let header = options.header;
  const quote = () => {
    const text = stringifyRows(rows, {
      delimiter: options.delimiter,
      header,
      columns: options.columns,
      quoted_match: "\r",
    });
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

export const csv: Format = {
  extensions: [".csv", ".tsv"],
  readExisting: readExisting,
  appender: csvWriter,
};
