import { mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  PARAMS,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";
import { scaffold } from "../src/dataset/scaffold.ts";
import { UserError } from "../src/errors.ts";

const server = useFake();

describe("making a dataset of one's own", () => {
  test("init scaffolds a spec and params that preview and generate use as they are", async () => {
    const cwd = await tempDir();
    // Started as a user's shell starts it (not by npx, whose PATH is npm's).
    const init = await runCli(["init", "reviews"], { cwd, env: { npm_command: undefined } });
    expect(init.code).toBe(0);
    // The next command as it runs from here: the launcher's path (bin/ is not on this PATH).
    expect(init.stdout).toMatch(
      /^next: \S+\/bin\/synthai preview --spec reviews\/dataset\.ts -j reviews\/params\.json$/m,
    );
    const again = await runCli(["init", "reviews"], { cwd });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/dataset\.ts already exists/);
    // A file where the folder would go is bad input (2), not the disk refusing (7).
    await writeFile(join(cwd, "afile"), "");
    const onFile = await runCli(["init", "afile"], { cwd });
    expect(onFile.code).toBe(2);
    expectOneLineError(onFile.stderr, /afile is a file, or inside one — choose a folder for `synthai init`/);

    const preview = await runCli(
      ["preview", "-n", "3", "--spec", "reviews/dataset.ts", "-j", "reviews/params.json", "--seed", "4"],
      { cwd },
    );
    expect(preview.code).toBe(0);
    expect(preview.stdout.match(/^── sample \d \(seed 4\)$/gm)).toHaveLength(3);
    expect(preview.stdout).toMatch(/Write an? \w+ review of/);

    const url = await server.start();
    const run = await runCli(
      [
        "-n",
        "4",
        "--spec",
        "reviews/dataset.ts",
        "-j",
        "reviews/params.json",
        "-p",
        "reviews.csv",
        "--seed",
        "4",
        "--base-url",
        url,
        "--poll-interval",
        "0.02",
      ],
      { cwd },
    );
    expect(run.code).toBe(0);
    const rows = await readCsv(join(cwd, "reviews.csv"));
    expect(Object.keys(rows[0]!)).toEqual([
      "index",
      "Review",
      "Rating",
      "Product",
      "Tone",
      "Scale",
      "Reviewer",
      "sample_id",
    ]);
    // The preview shows exactly the prompts the run sent.
    const requests = await readJsonlFile(join(await onlyRunDir(cwd), "requests/c0000-a1.jsonl"));
    expect(preview.stdout).toContain(requests[0].body.messages[0].content.split("\n")[0]);
  });

  test("--locale draws generated values in that language, the same for the same seed", async () => {
    const cwd = await tempDir();
    const de = await runCli(["preview", "-n", "2", "-j", PARAMS, "--locale", "de", "--seed", "3"], { cwd });
    const deAgain = await runCli(["preview", "-n", "2", "-j", PARAMS, "--locale", "de", "--seed", "3"], {
      cwd,
    });
    const en = await runCli(["preview", "-n", "2", "-j", PARAMS, "--seed", "3"], { cwd });
    expect(de.stdout).toBe(deAgain.stdout);
    expect(de.stdout).not.toBe(en.stdout);
    expect(de.stdout).toMatch(
      /Company=.*(GmbH|AG|KG|und|&).* Energy|Address=.*(str\.|Str\.|weg|platz|gasse|ring|allee)/,
    );
    const bad = await runCli(["preview", "-j", PARAMS, "--locale", "xx"], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'error: unknown locale "xx" — use one of faker\'s locales, e.g. en, de, fr, es, it, pt_BR, ja',
    );
    expect(await readFile(join(cwd, "dataset.csv")).catch(() => "none")).toBe("none");
  });
});

describe("init among links", () => {
  test("a link to nowhere, as the folder or as one of its files, is refused in one line and left as it was", async () => {
    const cwd = await tempDir();
    await symlink(join(cwd, "nowhere"), join(cwd, "dangling"));
    await expect(scaffold(join(cwd, "dangling"))).rejects.toThrow(
      new UserError(`${join(cwd, "dangling")} is a link to nowhere`, "choose a folder for `synthai init`"),
    );
    // A params.json that links elsewhere would be written through: it is there, so init stops.
    await mkdir(join(cwd, "spec"));
    await mkdir(join(cwd, "elsewhere"));
    await symlink(join(cwd, "elsewhere", "params.json"), join(cwd, "spec", "params.json"));
    await expect(scaffold(join(cwd, "spec"))).rejects.toThrow(/params\.json already exists/);
    expect(await readlink(join(cwd, "spec", "params.json"))).toBe(join(cwd, "elsewhere", "params.json"));
    await expect(readFile(join(cwd, "elsewhere", "params.json"))).rejects.toThrow(/ENOENT/);
  });
});

describe("sampling and top-up", () => {
  const combo = (r: Record<string, string>) =>
    ["Attitude", "Conversation", "Problem", "Solved", "Manner", "Extension"].map((k) => r[k]).join("|");

  test("--sampling unique never repeats a combination, and a top-up continues the stream", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const first = await runCli(
      [
        "-n",
        "20",
        "--sampling",
        "unique",
        "-j",
        PARAMS,
        "-p",
        "out.csv",
        "--base-url",
        url,
        "--poll-interval",
        "0.02",
      ],
      { cwd },
    );
    expect(first.code).toBe(0);
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    const more = await runCli(
      ["resume", runId, "--top-up", "10", "--base-url", url, "--poll-interval", "0.02"],
      { cwd },
    );
    expect(more.stderr).toContain("topping up run");
    expect(more.code).toBe(0);
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows).toHaveLength(30);
    expect(rows.map((r) => Number(r.index))).toEqual([...Array(30).keys()]);
    expect(new Set(rows.map(combo)).size).toBe(30);
    expect(new Set(rows.map((r) => r.sample_id)).size).toBe(30);
  });

  test("a top-up whose output another run has appended to since is refused before anything is paid", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const run = ["-n", "3", "-j", PARAMS, "-p", "out.csv", "--base-url", url, "--poll-interval", "0.02"];
    expect((await runCli([...run, "--seed", "1"], { cwd })).code).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    expect((await runCli([...run, "--seed", "2"], { cwd })).code).toBe(0); // appends to out.csv
    const csv = await readFile(join(cwd, "out.csv"), "utf8");
    const batches = server.fake.batchesCreated;
    const more = await runCli(["resume", id, "--top-up", "2", "--base-url", url], { cwd });
    expect(more.code).toBe(2);
    expectOneLineError(
      more.stderr,
      /out\.csv changed since this run exported to it — --top-up writes this run's rows again where it wrote them/,
    );
    expect(server.fake.batchesCreated).toBe(batches);
    expect(await readFile(join(cwd, "out.csv"), "utf8")).toBe(csv);
    const status = await runCli(["status", id], { cwd });
    expect(status.code, status.stdout).toBe(0);
  });

  test("--sampling stratified balances every value's share", async () => {
    const cwd = await tempDir();
    const preview = await runCli(["preview", "-n", "45", "--sampling", "stratified", "-j", PARAMS], { cwd });
    const attitudes = [...preview.stdout.matchAll(/Attitude=(\w+)/g)].map((m) => m[1]);
    const counts = new Map<string, number>();
    for (const a of attitudes) counts.set(a!, (counts.get(a!) ?? 0) + 1);
    expect([...counts.values()]).toEqual([9, 9, 9, 9, 9]);
    const problems = new Set([...preview.stdout.matchAll(/Problem=([^,]+)/g)].map((m) => m[1]));
    expect(problems.size).toBe(9);
  });

  test("more unique samples than combinations is refused before anything is built", async () => {
    const cwd = await tempDir();
    const result = await runCli(["-n", "6000", "--sampling", "unique", "-j", PARAMS, "--dry-run"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      "error: only 5400 distinct parameter combinations exist, 6000 samples were asked — ask for fewer samples, add values to params.json, or use --sampling random",
    );
  });
});
