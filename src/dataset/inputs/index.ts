// Inputs: a file of rows, each the start of a sample (`--input`). One file per format, picked
// by the file's extension; each streams its rows, so a million-row input builds in flat memory.
import { statSync } from "node:fs";
import { extname } from "node:path";
import { UserError } from "../../errors.ts";
import { csv } from "./csv.ts";
import { jsonl } from "./jsonl.ts";
import { parquet } from "./parquet.ts";
import { xoroshiroRandomizer } from "../randomizer.ts";

/** One row: its number in the file (0-based) and its values by column, as text. */
export interface Row {
  number: number;
  values: Record<string, string>;
}

export interface Input {
  extensions: string[];
  /** The rows from row `first` on, in file order; a bad row is a UserError naming the file and the row. */
  rows(path: string, first: number): AsyncIterable<Row>;
}

const INPUTS = { csv, jsonl, parquet } satisfies Record<string, Input>;

export function inputFor(path: string): Input {
  const ext = extname(path).toLowerCase();
  const input = Object.values(INPUTS).find((i) => i.extensions.includes(ext));
  if (!input)
    throw new UserError(
      `--input ${path}: cannot tell its format from "${ext || "no extension"}"`,
      `give a ${Object.values(INPUTS)
        .flatMap((i) => i.extensions)
        .join(", ")} file`,
    );
  return input;
}

/** Refuses a missing, unreadable or empty input before anything is built. */
export function checkInputFile(path: string): void {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile())
      throw new UserError(`--input ${path} is not a file`, "give the path of a CSV, JSONL or Parquet file");
    size = stat.size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`--input ${path} does not exist or cannot be read`, "check the path");
  }
  if (size === 0) throw new UserError(`--input ${path} is empty`, "give a file with at least one row");
}

/** A value as the prompt and the CSV see it: text. */
export function asText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean")
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** What a run records of its input, so that a changed file is refused on resume. */
export interface InputRecord {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  rows: number;
  perRow: number;
  columns: string[];
  /** --input-sample random: this many rows, drawn with this seed, in file order. */
  random?: { rows: number; seed: number };
}

/**
 * Each sample's row, in sample order: sample i is row ⌊i / perRow⌋, cycling through the file
 * when more samples are asked than it has rows; from sample `first` on.
 */
export async function* rowsForSamples(input: InputRecord, first: number): AsyncGenerator<Row> {
  const format = inputFor(input.path);
  if (input.random) return yield* randomRows(input, input.random, first);
  let repeat = first % input.perRow;
  let start = Math.floor(first / input.perRow) % input.rows;
  for (;;) {
    for await (const row of format.rows(input.path, start)) {
      for (; repeat < input.perRow; repeat++) yield row;
      repeat = 0;
    }
    start = 0;
  }
}

/**
 * A seeded sample of rows, in file order, streaming (selection sampling, Knuth's algorithm S:
 * each row is taken with the chance needed/left), so it is the same sample however often the
 * file is read again, from row 0, when a build goes on.
 */
async function* randomRows(
  input: InputRecord,
  random: { rows: number; seed: number },
  first: number,
): AsyncGenerator<Row> {
  const draw = xoroshiroRandomizer();
  draw.seed([random.seed, 0x5eed]);
  const skip = Math.floor(first / input.perRow);
  let repeat = first % input.perRow;
  let seen = 0;
  let taken = 0;
  for await (const row of inputFor(input.path).rows(input.path, 0)) {
    if (taken >= random.rows) return;
    const take = draw.next() * (input.rows - seen++) < random.rows - taken;
    if (!take || ++taken <= skip) continue;
    for (; repeat < input.perRow; repeat++) yield row;
    repeat = 0;
  }
}
