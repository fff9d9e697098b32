// Preference pairs: one `{"prompt", "chosen", "rejected"}` line per sample, the shape DPO
// trainers read. The export fills those three columns from a stage of several models and the
// judge that says which answer is better; the metrics go beside as JSONL.
import { sizeOf } from "../disk.ts";
import { TextWriter } from "../jsonl.ts";
import { RUN_COLUMN, type Existing, type Format, type RowWriter } from "./index.ts";

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
    const runAt = columns.indexOf(RUN_COLUMN);
    return {
      write(row) {
        const [prompt, chosen, rejected] = at.map((i) => row[i]);
        if (chosen === undefined || rejected === undefined || chosen === "" || rejected === "") return;
        // Without a metrics file (--no-m), the line itself names its run.
        const pair =
          runAt < 0 ? { prompt, chosen, rejected } : { prompt, chosen, rejected, [RUN_COLUMN]: row[runAt] };
        file.write(`${JSON.stringify(pair)}\n`);
      },
      close: () => file.close(),
      abandon: () => file.discard(),
    };
  },
};
