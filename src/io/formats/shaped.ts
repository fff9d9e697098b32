// Formats whose line is not a row of columns but an object made from it — a conversation, a
// preference pair — as trainers read them: written as JSONL, and in a Hugging Face folder as
// Parquet columns of their own types (the object's keys).
import { TextWriter } from "../jsonl.ts";
import type { AppendOptions, Format, RowWriter } from "./index.ts";
import type { ColumnType } from "./types.ts";
import { RUN_COLUMN } from "./names.ts";

/** Messages as every trainer takes them: a list of `{role, content}`. */
export const MESSAGES: ColumnType = { list: { struct: { role: "string", content: "string" } } };

export interface Shape {
  /** The keys of the object each row becomes, with their types. */
  columns: [string, ColumnType][];
  /** Makes a row into its object; undefined where the row makes nothing to train on. */
  record(options: AppendOptions): (row: unknown[]) => Record<string, unknown> | undefined;
}

/** Appends one JSON line per row that makes an object; a row that makes none writes nothing. */
export function shapedAppender(shape: Shape): Format["appender"] {
  return async (path, options): Promise<RowWriter> => {
    const file = new TextWriter(path, { append: true });
    const record = shape.record(options);
    const runAt = options.columns.indexOf(RUN_COLUMN);
    return {
      write(row) {
        const object = record(row);
        if (!object) return false;
        // Without a metrics file (--no-m), the line itself names its run.
        file.write(`${JSON.stringify(runAt < 0 ? object : { ...object, [RUN_COLUMN]: row[runAt] })}\n`);
        return true;
      },
      close: () => file.close(),
      abandon: () => file.discard(),
    };
  };
}

/** The values of a shape's object in its columns' order, as a Parquet writer takes a row. */
export function shapedRow(shape: Shape, object: Record<string, unknown>): unknown[] {
  return shape.columns.map(([name]) => object[name]);
}
