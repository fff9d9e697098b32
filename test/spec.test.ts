import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { API_KEY, useFake, PARAMS, onlyRunDir, readCsv, readJsonlFile, runCli, tempDir } from "./helpers.ts";

const server = useFake();

describe("making a dataset of one's own", () => {
  test("init scaffolds a spec and params that preview and generate use as they are", async () => {
    const cwd = await tempDir();
    const init = await runCli(["init", "reviews"], { cwd });
    expect(init.code).toBe(0);
    expect(init.stdout).toContain("next: npx synthai preview --spec");
    const again = await runCli(["init", "reviews"], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/dataset\.ts already exists/);

    const preview = await runCli(["preview", "-n", "3", "--spec", "reviews/dataset.ts", "-j", "reviews/params.json", "--seed", "4"], { cwd });
    expect(preview.code).toBe(0);
    expect(preview.stdout.match(/^── sample \d \(seed 4\)$/gm)).toHaveLength(3);
    expect(preview.stdout).toMatch(/Write an? \w+ review of/);

    const url = await server.start();
    const run = await runCli(["-n", "4", "--spec", "reviews/dataset.ts", "-j", "reviews/params.json", "-p", "reviews.csv", "--seed", "4", "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(run.code).toBe(0);
    const rows = await readCsv(join(cwd, "reviews.csv"));
    expect(Object.keys(rows[0]!)).toEqual(["index", "Review", "Rating", "Product", "Tone", "Scale", "Reviewer", "sample_id"]);
    // The preview shows exactly the prompts the run sent.
    const requests = await readJsonlFile(join(await onlyRunDir(cwd), "requests/c0000-a1.jsonl"));
    expect(preview.stdout).toContain(requests[0].body.messages[0].content.split("\n")[0]);
  });

  test("--locale draws generated values in that language, the same for the same seed", async () => {
    const cwd = await tempDir();
    const de = await runCli(["preview", "-n", "2", "-j", PARAMS, "--locale", "de", "--seed", "3"], { cwd });
    const deAgain = await runCli(["preview", "-n", "2", "-j", PARAMS, "--locale", "de", "--seed", "3"], { cwd });
    const en = await runCli(["preview", "-n", "2", "-j", PARAMS, "--seed", "3"], { cwd });
    expect(de.stdout).toBe(deAgain.stdout);
    expect(de.stdout).not.toBe(en.stdout);
    expect(de.stdout).toMatch(/Company=.*(GmbH|AG|KG|und|&).* Energy|Address=.*(str\.|Str\.|weg|platz|gasse|ring|allee)/);
    const bad = await runCli(["preview", "-j", PARAMS, "--locale", "xx"], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('error: unknown locale "xx" — use one of faker\'s locales, e.g. en, de, fr, es, it, pt_BR, ja');
    expect(await readFile(join(cwd, "dataset.csv")).catch(() => "none")).toBe("none");
  });
});
