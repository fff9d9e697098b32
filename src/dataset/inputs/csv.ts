// CSV input, any delimiter (sniffed from the header: , ; tab |), read with csv-parse.
import { createReadStream } from "node:fs";
import { parse } from "csv-parse";
import { UserError } from "../../errors.ts";
import { readFirstLine } from "../../io/jsonl.ts";
import type { Input, Row } from "./index.ts";

export const csv: Input = {
  extensions: [".csv", ".tsv"],
  async *rows(path, first): AsyncGenerator<Row> {
    const delimiter = await sniffDelimiter(path);
    const parser = createReadStream(path).pipe(
      parse({
        delimiter,
        columns: (header: string[]) => distinct(header, path),
        bom: true,
        skip_empty_lines: true,
      }),
    );
    let number = 0;
    try {
      for await (const record of parser as AsyncIterable<Record<string, string>>) {
        if (number >= first) yield { number, values: record };
        number++;
      }
    } catch (error) {
      if (error instanceof UserError) throw error;
      // csv-parse names the line: a ragged row, an unclosed quote.
      throw new UserError(
        `--input ${path}: ${(error as Error).message.replace(/^Invalid Record Length: /, "")}`,
        "fix the file: every row needs as many fields as the header",
      );
    }
    if (number === 0)
      throw new UserError(`--input ${path} has a header and no rows`, "give a file with at least one row");
  },
};

/** A header's names, each once: of two columns of one name, one would be lost without a word. */
function distinct(header: string[], path: string): string[] {
  const twice = header.find((name, i) => header.indexOf(name) !== i);
  if (twice !== undefined)
    throw new UserError(
      twice === ""
        ? `--input ${path}: its header leaves two columns without a name`
        : `--input ${path}: its header names the column "${twice}" twice`,
      "give each column a name of its own",
    );
  return header;
}

/** The delimiter the header splits into most columns. */
async function sniffDelimiter(path: string): Promise<string> {
  const header = await readFirstLine(path);
  const counts = [",", ";", "\t", "|"].map((d) => [d, header.split(d).length] as const);
  return counts.sort((a, b) => b[1] - a[1])[0]![0];
}
