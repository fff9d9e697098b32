// JSONL input: one object per line (ndjson); a line that is not an object is named.
import { UserError } from "../../errors.ts";
import { readLines } from "../../io/jsonl.ts";
import { asText, type Input, type Row } from "./index.ts";

export const jsonl: Input = {
  extensions: [".jsonl", ".ndjson"],
  async *rows(path, first): AsyncGenerator<Row> {
    let number = 0;
    for await (const line of readLines(path)) {
      if (number >= first) {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new UserError(
            `--input ${path}: row ${number + 1} is not valid JSON`,
            "fix the line: each must be one JSON object",
          );
        }
        if (typeof value !== "object" || value === null || Array.isArray(value))
          throw new UserError(
            `--input ${path}: row ${number + 1} is not a JSON object`,
            'each line must be an object, e.g. {"text": "…"}',
          );
        yield { number, values: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asText(v)])) };
      }
      number++;
    }
  },
};
