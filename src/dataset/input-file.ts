// The run's input file: read once before the build to count its rows, check every one of them
// and hash it; checked again, cheaply, whenever the run goes on.
import { statSync } from "node:fs";
import { UserError } from "../errors.ts";
import { sha256 } from "../io/disk.ts";
import { checkInputFile, inputFor, type InputRecord, type Row } from "./inputs/index.ts";

/** Counts and checks the input's rows, keeps the first few (for the prompt check), and records the file. */
export async function readInput(
  path: string,
  perRow: number,
  keepColumns: string[] | undefined,
  // preview shows rows and keeps no record: it need not read the whole file again to hash it.
  { hash = true } = {},
): Promise<{ record: InputRecord; firstRows: Row[] }> {
  checkInputFile(path);
  const firstRows: Row[] = [];
  let rows = 0;
  let columns: string[] = [];
  for await (const row of inputFor(path).rows(path, 0)) {
    checkText(path, row, rows + 1);
    if (rows === 0) columns = Object.keys(row.values);
    const missing = columns.find((column) => !(column in row.values));
    if (missing !== undefined)
      throw new UserError(
        `--input ${path}: row ${rows + 1} has no "${missing}", which the first row has`,
        "give every row the same columns (an empty value where there is none)",
      );
    if (firstRows.length < 20) firstRows.push(row);
    rows++;
  }
  if (rows === 0) throw new UserError(`--input ${path} has no rows`, "give a file with at least one row");
  if (keepColumns) {
    const unknown = keepColumns.filter((c) => !columns.includes(c));
    if (unknown.length)
      throw new UserError(
        `--keep-columns: ${path} has no column ${unknown.join(", ")}`,
        `its columns are ${columns.join(", ")}`,
      );
    columns = keepColumns;
  }
  const stat = statSync(path);
  return {
    record: {
      path,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      sha256: hash ? await sha256(path) : "",
      rows,
      perRow,
      columns,
    },
    firstRows,
  };
}

/**
 * A prompt is text: a NUL byte, or bytes that are not UTF-8 (decoded as U+FFFD, the replacement
 * character), would be sent as they came and paid for. Said with the row, before anything is built.
 */
function checkText(path: string, row: Row, number: number): void {
  for (const [column, value] of Object.entries(row.values)) {
    if (value.includes("\u0000"))
      throw new UserError(
        `--input ${path}: row ${number}, column "${column}" holds a NUL byte`,
        "remove it: text holds none",
      );
    if (value.includes("\uFFFD"))
      throw new UserError(
        `--input ${path}: row ${number}, column "${column}" is not UTF-8 text`,
        "save the file as UTF-8 (spreadsheet programs and editors can)",
      );
  }
}

/** Refuses an input that changed since the run read it (its size, time and content are compared). */
export async function checkInputUnchanged(input: InputRecord, runId: string): Promise<void> {
  let stat;
  try {
    stat = statSync(input.path);
  } catch {
    throw new UserError(
      `input ${input.path} of run ${runId} is gone`,
      "put it back where it was: the run reads its rows from there",
    );
  }
  if (stat.size === input.size && stat.mtimeMs === input.mtimeMs) return;
  if (stat.size === input.size && (await sha256(input.path)) === input.sha256) return;
  throw new UserError(
    `input ${input.path} changed since run ${runId} read it`,
    "restore the file it was built from, or start a new run with the new one",
  );
}

/** Only the columns the run keeps, in the input's order. */
export function keptValues(row: Row, columns: string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const column of columns) kept[column] = row.values[column] ?? "";
  return kept;
}
