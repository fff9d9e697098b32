// Parquet input, read with hyparquet a window of rows at a time.
import { UserError } from "../../errors.ts";
import { asText, type Input, type Row } from "./index.ts";

const WINDOW = 10_000;

export const parquet: Input = {
  extensions: [".parquet"],
  async *rows(path, first): AsyncGenerator<Row> {
    const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
    let file;
    let metadata;
    try {
      file = await asyncBufferFromFile(path);
      metadata = await parquetMetadataAsync(file);
    } catch (error) {
      throw new UserError(
        `--input ${path} is not a Parquet file (${(error as Error).message})`,
        "give a .parquet file, or a CSV or JSONL one",
      );
    }
    const total = Number(metadata.num_rows);
    for (let start = first; start < total; start += WINDOW) {
      const rows = await parquetReadObjects({
        file,
        metadata,
        rowStart: start,
        rowEnd: Math.min(total, start + WINDOW),
      });
      for (const [i, record] of rows.entries())
        yield {
          number: start + i,
          values: Object.fromEntries(Object.entries(record).map(([k, v]) => [k, asText(v)])),
        };
    }
  },
};
