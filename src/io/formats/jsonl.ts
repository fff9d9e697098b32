// JSONL: one object per row, the columns as its keys in order, each value of its column's type; appended
// to an existing file whose rows have the same keys.
import { UserError } from "../../errors.ts";
import { sizeOf } from "../disk.ts";
import { readLines, TextWriter } from "../jsonl.ts";
import { otherColumns, typedValue, type Existing, type Format, type RowWriter } from "./index.ts";

export const jsonl: Format = {
  extensions: [".jsonl", ".ndjson"],

  async readExisting(path, columns): Promise<Existing | undefined> {
    const size = sizeOf(path) ?? 0;
    if (size === 0) return undefined;
    let lastIndex = -1;
    let line = 0;
    for await (const text of readLines(path)) {
      line++;
      let row: Record<string, unknown>;
      try {
        row = JSON.parse(text);
      } catch {
        throw new UserError(`${path}: line ${line} is not JSON`, "choose another output");
      }
      if (line === 1 && Object.keys(row).join(",") !== columns.join(","))
        throw otherColumns(path, Object.keys(row), columns, "keys");
      const index = Number(row.index);
      if (Number.isFinite(index)) lastIndex = Math.max(lastIndex, index);
    }
    return { size, delimiter: ",", lastIndex };
  },

  async appender(path, { columns, types }): Promise<RowWriter> {
    const file = new TextWriter(path, { append: true });
    return {
      write(row) {
        const object: Record<string, unknown> = {};
        columns.forEach((column, i) => (object[column] = typedValue(row[i], types?.[i])));
        file.write(`${JSON.stringify(object)}\n`);
      },
      close: () => file.close(),
      abandon: () => file.discard(),
    };
  },
};
