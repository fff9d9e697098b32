// Output formats: how a dataset's rows are written, appended to a file that may hold others'.
// One file per format; the export picks one by name or by the output's extension.
import { csv } from "./csv.ts";
import { jsonl } from "./jsonl.ts";

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
}

export interface Format {
  extensions: string[];
  /** What an existing file holds, checked against the columns a run writes; undefined when missing or empty. */
  readExisting(path: string, columns: string[], delimiter: string | undefined): Promise<Existing | undefined>;
  /** Appends rows; a new file gets its header first. */
  appender(path: string, options: { columns: string[]; delimiter: string; header: boolean }): RowWriter;
}

export const FORMATS = { csv, jsonl } satisfies Record<string, Format>;

export type FormatName = keyof typeof FORMATS;

/** The format named, else the one the file's extension names, else CSV. */
export function formatFor(path: string, name?: FormatName): Format {
  if (name) return FORMATS[name];
  return (
    Object.values(FORMATS).find((format) =>
      format.extensions.some((ext) => path.toLowerCase().endsWith(ext)),
    ) ?? FORMATS.csv
  );
}
