// Run folders made by an earlier synthai keep exporting and resuming: the fixture was made
// before runs had stages (test/fixtures/run-before-stages/README.md).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { API_KEY, OLD_RUN, copyOldRun, readCsv, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();
const { fixture: FIXTURE, id: ID } = OLD_RUN;

/** The fixture's run folder in a fresh folder, its paths pointed there and at this test's fake. */
async function oldRun(baseURL: string): Promise<{ cwd: string; runDir: string }> {
  const cwd = await tempDir();
  return { cwd, runDir: await copyOldRun(cwd, baseURL) };
}

describe("a run folder made before stages", () => {
  test("exports what it had, resumes to the end, and its requests are byte for byte today's", async () => {
    const baseURL = await server.start({ pollsPerPhase: 1 });
    const { cwd, runDir } = await oldRun(baseURL);
    const env = { OPENAI_API_KEY: API_KEY };

    const exported = await runCli(["export", ID, "--runs-dir", "runs", "-p", "before.csv"], { cwd, env });
    expect(exported.code, exported.stderr).toBe(0);
    const before = await readCsv(join(cwd, "before.csv"));
    expect(before).toHaveLength(10);

    const resumed = await runCli(["resume", ID, "--runs-dir", "runs", "-l", "1", "--poll-interval", "0.02"], {
      cwd,
      env,
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    const manifest = await readManifest(runDir);
    expect(manifest.state).toBe("done");
    const rows = await readCsv(join(cwd, "old.csv"));
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(40);
    // The samples it had are the same rows, and only the three chunks it lacked were sent.
    expect(rows.slice(0, 10)).toEqual(before);
    expect(server.fake.uploads).toHaveLength(3);

    // A new run with the same seed builds the very same request files.
    const dry = await runCli(
      ["generate", "-n", "40", "-b", "4", "--seed", "7", "--dry-run", "--runs-dir", "new", "-p", "x.csv"],
      { cwd, env: { ...env, OPENAI_BASE_URL: baseURL } },
    );
    expect(dry.code, dry.stderr).toBe(0);
    const [newId] = await readdir(join(cwd, "new"));
    for (const file of await readdir(join(FIXTURE, ID, "requests")))
      if (file.endsWith("-a1.jsonl"))
        expect(await readFile(join(cwd, "new", newId!, "requests", file), "utf8")).toBe(
          await readFile(join(FIXTURE, ID, "requests", file), "utf8"),
        );
  });
});
