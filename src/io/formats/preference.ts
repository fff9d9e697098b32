// Preference pairs: one `{"prompt", "chosen", "rejected"}` line per sample, the shape DPO
// trainers read. The export fills those three columns from a stage of several models and the
// judge that says which answer is better; the metrics go beside as JSONL.
import { sizeOf } from "../disk.ts";
import { TextWriter } from "../jsonl.ts";
import type { Existing, Format, RowWriter } from "./index.ts";

export const PREFERENCE_COLUMNS = ["prompt", "chosen", "rejected"];

export const preference: Format = {
  extensions: [],
  metricsFormat: "jsonl",

  async readExisting(path): Promise<Existing | undefined> {
    const size = sizeOf(path) ?? 0;
    // A pair carries no index: this run's rows count on from nothing.
    return size === 0 ? undefined : { size, delimiter: ",", lastIndex: -1 };
  },

  async appender(path, { columns }): Promise<RowWriter> {
    const file = new TextWriter(path, { append: true });
    const at = PREFERENCE_COLUMNS.map((name) => columns.indexOf(name));
    return {
      write(row) {
        const [prompt, chosen, rejected] = at.map((i) => row[i]);
        if (chosen === undefined || rejected === undefined || chosen === "" || rejected === "") return;
        file.write(`${JSON.stringify({ prompt, chosen, rejected })}\n`);
      },
      close: () => file.close(),
      abandon: () => file.discard(),
    };
  },
};
