import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects, parquetSchema, parquetMetadataAsync } from "hyparquet";
import { describe, expect, test } from "vitest";
import {
  expectOneLineError,
  onlyRunDir,
  PARAMS,
  readCsv,
  readJsonlFile,
  readManifest,
  ROOT,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const SPEC = join(ROOT, "test", "fixtures", "typed-spec.ts");
const TYPED_PARAMS = join(ROOT, "test", "fixtures", "typed-params.json");
const fast = ["--poll-interval", "0.02", "--spec", SPEC, "-j", TYPED_PARAMS];

async function readParquet(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path) });
}

async function typedRun(extra: string[] = []) {
  const url = await server.start({ malformedRate: 0.2, seed: 5 });
  const cwd = await tempDir();
  const result = await runCli(
    ["-n", "30", "-b", "2", "-p", "out.parquet", "--base-url", url, ...fast, ...extra],
    {
      cwd,
    },
  );
  expect(result.code, result.stderr).toBe(0);
  const { id } = await readManifest(await onlyRunDir(cwd));
  return { cwd, id: id as string };
}

describe("Parquet, JSONL and CSV hold the same rows", () => {
  test("a run writes Parquet with real column types and its metrics beside; export writes the same rows in each format", async () => {
    const { cwd, id } = await typedRun();
    const file = join(cwd, "out.parquet");
    const rows = await readParquet(file);
    expect(rows).toHaveLength(30);
    expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)));
    const first = rows[0]!;
    expect(typeof first.Question).toBe("string");
    expect(typeof first.Difficulty).toBe("bigint");
    expect(typeof first.Score).toBe("number");
    expect(typeof first.Verified).toBe("boolean");
    const schema = parquetSchema(await parquetMetadataAsync(await asyncBufferFromFile(file)));
    expect(Object.fromEntries(schema.children.map((c) => [c.element.name, c.element.type]))).toMatchObject({
      index: "INT64",
      Question: "BYTE_ARRAY",
      Difficulty: "INT64",
      Score: "DOUBLE",
      Verified: "BOOLEAN",
      Topic: "BYTE_ARRAY",
      sample_id: "BYTE_ARRAY",
    });
    const metrics = await readParquet(join(cwd, "out_metrics.parquet"));
    expect(metrics.map((m) => m.sample_id)).toEqual(rows.map((r) => r.sample_id));
    expect(typeof metrics[0]!.cost_usd).toBe("number");
    expect(typeof metrics[0]!.prompt_tokens).toBe("bigint");

    for (const name of ["same.csv", "same.jsonl"])
      expect((await runCli(["export", id, "-p", name], { cwd })).code).toBe(0);
    const csv = await readCsv(join(cwd, "same.csv"));
    const jsonl = await readJsonlFile(join(cwd, "same.jsonl"));
    expect(csv.map((r) => r.Question)).toEqual(rows.map((r) => r.Question));
    expect(csv.map((r) => r.Difficulty)).toEqual(rows.map((r) => String(r.Difficulty)));
    expect(jsonl.map((r) => r.Question)).toEqual(rows.map((r) => r.Question));
    expect(jsonl.map((r) => r.Difficulty)).toEqual(rows.map((r) => Number(r.Difficulty)));
    expect(jsonl.map((r) => r.Verified)).toEqual(rows.map((r) => r.Verified));

    // The same run folder always gives the same bytes.
    const bytes = await readFile(file);
    expect((await runCli(["export", id, "-p", "again.parquet"], { cwd })).code).toBe(0);
    expect((await readFile(join(cwd, "again.parquet"))).equals(bytes)).toBe(true);
    // Exporting to the run's own file again rewrites it whole, not doubled.
    expect((await runCli(["export", id], { cwd })).code).toBe(0);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });

  test("a Parquet file that holds other data is not appended to and not touched", async () => {
    const { cwd, id } = await typedRun();
    const foreign = join(cwd, "theirs.parquet");
    await writeFile(foreign, "PAR1 somebody's data");
    const result = await runCli(["export", id, "-p", foreign], { cwd });
    expect(result.code).not.toBe(0);
    expectOneLineError(
      result.stderr,
      /theirs\.parquet already holds data, and a Parquet file cannot be appended to/,
    );
    expect(await readFile(foreign, "utf8")).toBe("PAR1 somebody's data");
  });
});

describe("fine-tuning chat format", () => {
  test("--format chat writes one conversation per sample from the spec's mapping, metrics beside as JSONL", async () => {
    const { cwd, id } = await typedRun();
    const rows = await readParquet(join(cwd, "out.parquet"));
    const result = await runCli(["export", id, "-p", "train.jsonl", "--format", "chat"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const lines = await readJsonlFile(join(cwd, "train.jsonl"));
    expect(lines).toHaveLength(30);
    expect(lines[0]).toEqual({
      messages: [
        { role: "user", content: rows[0]!.Question },
        { role: "assistant", content: rows[0]!.Answer },
      ],
    });
    const metrics = await readJsonlFile(join(cwd, "train_metrics.jsonl"));
    expect(metrics).toHaveLength(30);
    expect(metrics[0].sample_id).toBe(rows[0]!.sample_id);
  });

  test("a dataset without a chat mapping is refused before any file is written", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const made = await runCli(["-n", "4", "--base-url", url, "--poll-interval", "0.02", "-j", PARAMS], {
      cwd,
    });
    expect(made.code).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const result = await runCli(["export", id, "-p", "chat.jsonl", "--format", "chat"], { cwd });
    expect(result.code).not.toBe(0);
    expectOneLineError(result.stderr, /--format chat needs the conversation each sample becomes/);
    await expect(stat(join(cwd, "chat.jsonl"))).rejects.toThrow();
  });
});

test("generate --format chat without a mapping stops before building anything", async () => {
  const url = await server.start();
  const cwd = await tempDir();
  const result = await runCli(
    ["-n", "4", "-p", "chat.jsonl", "--format", "chat", "--base-url", url, "-j", PARAMS],
    { cwd },
  );
  expect(result.code).toBe(2);
  expectOneLineError(result.stderr, /--format chat needs the conversation each sample becomes/);
  await expect(stat(join(cwd, "runs"))).rejects.toThrow();
  expect(server.fake.requests.length).toBe(0);
});
