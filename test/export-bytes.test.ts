// Every export writes the same bytes as the export loop did before it had destinations: a run
// folder from test/fixtures/run-before-stages, exported to each format, twice to one file (the
// second replaces the first's rows) and to a Hugging Face folder, compared with
// test/fixtures/export-bytes/, which the version before the loop wrote from the same run.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { exportRun } from "../src/index.ts";
import { OLD_RUN, copyOldRun, filesUnder, tempDir } from "./helpers.ts";

const EXPECTED = join(import.meta.dirname, "fixtures", "export-bytes");
const ID = OLD_RUN.id;

/** The exports compared, each into `out` (a folder of its own per export). */
export async function exportsOfFixture(cwd: string, out: string): Promise<void> {
  await copyOldRun(cwd);
  const runsDir = join(cwd, "runs");
  await mkdir(out, { recursive: true });
  const onLog = () => {};
  for (const name of ["rows.csv", "rows.jsonl", "rows.parquet"])
    await exportRun(ID, { runsDir, output: join(out, name), onLog });
  await exportRun(ID, { runsDir, output: join(out, "twice.csv"), dedup: "exact", onLog });
  await exportRun(ID, { runsDir, output: join(out, "twice.csv"), dedup: "exact", onLog });
  await exportRun(ID, { runsDir, output: join(out, "safe.csv"), csvSafe: true, onLog });
  await exportRun(ID, { runsDir, hf: join(out, "hf"), split: "train=0.5,test=0.5", onLog });
}

describe("export destinations", () => {
  test("each format and the HF folder get the same bytes as before the one export loop", async () => {
    const cwd = await tempDir();
    const out = join(cwd, "out");
    await exportsOfFixture(cwd, out);
    const files = await filesUnder(EXPECTED);
    expect(await filesUnder(out)).toEqual(files);
    for (const file of files)
      expect(
        Buffer.compare(await readFile(join(out, file)), await readFile(join(EXPECTED, file))),
        file,
      ).toBe(0);
  });
});
