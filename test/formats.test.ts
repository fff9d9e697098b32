import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects, parquetSchema, parquetMetadataAsync } from "hyparquet";
import matter from "gray-matter";
import { stringify as csvStringify } from "csv-stringify/sync";
import { FORMATS, checkOutputName, defaultOutput, formatFor } from "../src/io/formats/index.ts";
import { UserError } from "../src/errors.ts";
import { openRun } from "../src/index.ts";
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
  runDirsByAge,
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
    // A schema's array is a list, its object a struct: values of their own types, not JSON text.
    expect(Array.isArray(first.Tags) && (first.Tags as unknown[]).length).toBeTruthy();
    for (const tag of first.Tags as unknown[]) expect(typeof tag).toBe("string");
    expect(first.Source).toEqual({ Name: expect.any(String), Year: expect.any(BigInt) });
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
    // One type per column in every format: the turnaround is whole seconds everywhere.
    expect(typeof metrics[0]!.time).toBe("bigint");

    for (const name of ["same.csv", "same.jsonl"])
      expect((await runCli(["export", id, "-p", name], { cwd })).code).toBe(0);
    const csv = await readCsv(join(cwd, "same.csv"));
    const jsonl = await readJsonlFile(join(cwd, "same.jsonl"));
    expect(csv.map((r) => r.Question)).toEqual(rows.map((r) => r.Question));
    expect(csv.map((r) => r.Difficulty)).toEqual(rows.map((r) => String(r.Difficulty)));
    expect(jsonl.map((r) => r.Question)).toEqual(rows.map((r) => r.Question));
    expect(jsonl.map((r) => r.Difficulty)).toEqual(rows.map((r) => Number(r.Difficulty)));
    expect(jsonl.map((r) => r.Verified)).toEqual(rows.map((r) => r.Verified));
    expect(jsonl.map((r) => r.Tags)).toEqual(rows.map((r) => r.Tags));
    const plain = (s: any) => ({ Name: s.Name, Year: Number(s.Year) });
    expect(jsonl.map((r) => r.Source)).toEqual(rows.map((r) => plain(r.Source)));
    // CSV holds text: a list or struct as its JSON.
    expect(csv.map((r) => JSON.parse(r.Tags!))).toEqual(rows.map((r) => r.Tags));
    expect(csv.map((r) => JSON.parse(r.Source!))).toEqual(rows.map((r) => plain(r.Source)));
    const jsonlMetrics = await readJsonlFile(join(cwd, "same_metrics.jsonl"));
    expect(jsonlMetrics.every((m) => Number.isInteger(m.time))).toBe(true);
    // The library's rows are the export's, each value of its type: what JSONL holds.
    const library: Record<string, unknown>[] = [];
    for await (const row of (await openRun(id, { runsDir: join(cwd, "runs") })).rows()) library.push(row);
    expect(library).toEqual(jsonl);

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

describe("a format and its file's name", () => {
  test("a name whose extension is another kind of file than the format writes is refused; the default output is the format's", () => {
    expect(() => checkOutputName("/o/x.parquet", "chat")).toThrow(
      new UserError(
        "/o/x.parquet is named as Parquet, and the chat format writes JSON lines",
        "name it .jsonl, or give the format its name says",
      ),
    );
    expect(() => checkOutputName("x.csv", "preference")).toThrow(
      /named as CSV, and the preference format writes JSON lines/,
    );
    expect(() => checkOutputName("x.csv", "jsonl")).toThrow(
      /named as CSV, and the jsonl format writes JSON lines/,
    );
    expect(() => checkOutputName("x.jsonl", "parquet")).toThrow(
      /named as JSON lines, and the parquet format writes Parquet/,
    );
    for (const [path, name] of [
      ["x.tsv", "csv"],
      ["x.jsonl", "chat"],
      ["x.out", "parquet"],
      ["x.parquet", undefined],
    ] as const)
      expect(() => checkOutputName(path, name)).not.toThrow();
    expect(formatFor("x.parquet")).toBe(FORMATS.parquet);
    expect(formatFor("x.out")).toBe(FORMATS.csv);
    // A Hugging Face export takes a run's shape whatever its output file was named.
    expect(formatFor("dataset.csv", "chat")).toBe(FORMATS.chat);
    expect(["csv", "chat", "openai-preference", "parquet"].map((f) => defaultOutput(f as never))).toEqual([
      "dataset.csv",
      "dataset.jsonl",
      "dataset.jsonl",
      "dataset.parquet",
    ]);
    expect(defaultOutput()).toBe("dataset.csv");
  });
});

describe("CSV quoting", () => {
  test("rows are quoted as csv-stringify quotes them, whatever the fields hold and the delimiter", async () => {
    const dir = await tempDir();
    const awkward = [
      "plain",
      "a, comma",
      'say "hi"',
      "two\nlines",
      "carriage\rreturn",
      "crlf\r\nend",
      "semi;colon",
      "tab\there",
      "pipe|here",
      "",
      " spaced ",
      "ünïcödé ✓ 日本",
      '"',
      "'=1+1",
    ];
    const values = [
      ...awkward,
      0,
      -1.5,
      1e21,
      Number.NaN,
      true,
      false,
      null,
      undefined,
      { a: [1, "x,y"] },
      new Date(0),
    ];
    // Every value in every column, shifted row by row, so each meets each neighbour.
    const rows = values.map((_, r) =>
      Array.from({ length: 5 }, (_, c) => values[(r + c * 7) % values.length]),
    );
    const columns = ["index", "text, quoted", 'say "x"', "d", "e"];
    for (const delimiter of [",", ";", "\t", "|"]) {
      const path = join(dir, `rows-${delimiter.charCodeAt(0)}.csv`);
      for (const header of [true, false]) {
        const csv = await FORMATS.csv.appender(path, { delimiter, header, columns, types: [] });
        for (const row of rows) csv.write(row);
        csv.close();
      }
      const expected = [true, false]
        .map((header) => csvStringify(rows, { delimiter, header, columns, quoted_match: "\r" }))
        .join("");
      expect(await readFile(path, "utf8")).toBe(expected);
    }
  });
});

describe("appending to an output", () => {
  test("a last line without its line end (as editors save it): the next run's rows start on lines of their own", async () => {
    const url = await server.start({ seed: 8 });
    const cwd = await tempDir();
    for (const output of ["t.csv", "t.jsonl"]) {
      const make = (seed: string) =>
        runCli(["-n", "2", "--seed", seed, "-p", output, "--base-url", url, ...fast], { cwd });
      expect((await make("51")).code).toBe(0);
      const metrics = output.replace(".", "_metrics.");
      for (const file of [output, metrics]) {
        const text = await readFile(join(cwd, file), "utf8");
        await writeFile(join(cwd, file), text.replace(/\n$/, ""));
      }
      const second = await make("52");
      expect(second.code, second.stderr).toBe(0);
      const rows = output.endsWith(".csv")
        ? await readCsv(join(cwd, output))
        : await readJsonlFile(join(cwd, output));
      expect(rows.map((r) => Number(r.index))).toEqual([0, 1, 2, 3]);
      expect(rows.every((r) => /^\d{6}$/.test(String(r.sample_id)))).toBe(true);
      const metricRows = output.endsWith(".csv")
        ? await readCsv(join(cwd, metrics))
        : await readJsonlFile(join(cwd, metrics));
      expect(metricRows.map((r) => Number(r.index))).toEqual([0, 1, 2, 3]);
    }
  });

  test("an output that holds binary data (Parquet under another name) is one short line, nothing written", async () => {
    const url = await server.start({ seed: 9 });
    const cwd = await tempDir();
    const binary = Buffer.concat([Buffer.from("PAR1"), Buffer.alloc(2000, 0x15), Buffer.from("\nPAR1")]);
    await writeFile(join(cwd, "x.txt"), binary);
    const refused = await runCli(["-n", "2", "-p", "x.txt", "--base-url", url, ...fast], { cwd });
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, /x\.txt is not a CSV file: it holds binary data — /);
    expect(refused.stderr.length).toBeLessThan(300);
    expect(await readFile(join(cwd, "x.txt"))).toEqual(binary);
  });

  test("an export refused for what its output holds leaves that output as it was, this run's rows included", async () => {
    const url = await server.start({ seed: 9 });
    const cwd = await tempDir();
    for (const seed of ["1", "2"])
      expect(
        (await runCli(["-n", "3", "--seed", seed, "-p", "d.jsonl", "--base-url", url, ...fast], { cwd }))
          .code,
      ).toBe(0);
    const [, second] = await runDirsByAge(cwd);
    const before = await readFile(join(cwd, "d.jsonl"), "utf8");
    const beforeMetrics = await readFile(join(cwd, "d_metrics.jsonl"), "utf8");
    const refused = await runCli(["export", basename(second!), "-p", "d.jsonl", "--format", "chat"], { cwd });
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, /d\.jsonl is not a chat file/);
    expect(await readFile(join(cwd, "d.jsonl"), "utf8")).toBe(before);
    expect(await readFile(join(cwd, "d_metrics.jsonl"), "utf8")).toBe(beforeMetrics);
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

    // A Hugging Face folder of a chat export keeps the messages: one list of {role, content} a row.
    const hf = await runCli(["export", id, "--hf", "hf-chat", "--format", "chat"], { cwd });
    expect(hf.code, hf.stderr).toBe(0);
    const file = join(cwd, "hf-chat", "data", "train-00000-of-00001.parquet");
    expect(await readParquet(file)).toEqual(lines);
    const card = matter(await readFile(join(cwd, "hf-chat", "README.md"), "utf8"));
    expect(card.data.dataset_info.features).toEqual([
      {
        name: "messages",
        list: [
          { name: "role", dtype: "string" },
          { name: "content", dtype: "string" },
        ],
      },
    ]);
  });

  /** examples/support-dialogues cut to `turns` turns, `samples` of them exported as chat to `output`. */
  async function dialogues(turns: number, samples: number, output: string) {
    const url = await server.start({ seed: 4 });
    const cwd = await tempDir();
    const example = join(ROOT, "examples", "support-dialogues");
    const dialogue = (await readFile(join(example, "dialogue.md"), "utf8")).replace(
      "turns: 4",
      `turns: ${turns}`,
    );
    await writeFile(join(cwd, "dialogue.md"), dialogue);
    const result = await runCli(
      [
        ...["--prompt", join(example, "scenario.md"), "--prompt", join(cwd, "dialogue.md")],
        ...[
          "-n",
          String(samples),
          "--base-url",
          url,
          "--poll-interval",
          "0.02",
          "-j",
          join(example, "params.json"),
        ],
        ...["-p", output, "--format", "chat"],
      ],
      { cwd },
    );
    return { cwd, result };
  }

  test("a conversation of an odd number of turns ends on the assistant in the chat export", async () => {
    const { cwd, result } = await dialogues(3, 4, "dialogues.jsonl");
    expect(result.code, result.stderr).toBe(0);
    const lines = await readJsonlFile(join(cwd, "dialogues.jsonl"));
    expect(lines).toHaveLength(4);
    // customer, agent, customer: the customer's last turn, which nothing answers, is left out.
    for (const { messages } of lines)
      expect(messages.map((m: any) => m.role)).toEqual(["system", "user", "assistant"]);
  });

  test("a chat line ends at its first empty turn, so its roles alternate as the mapping's do", () => {
    const chat = [
      { role: "system", content: "{{rules}}" },
      { role: "user", content: "{{text}}" },
      { role: "assistant", content: "{{Reply}}" },
      { role: "user", content: "{{followup}}" },
      { role: "assistant", content: "{{answer2}}" },
    ] as const;
    const columns = ["rules", "text", "Reply", "followup", "answer2"];
    const line = FORMATS.chat.shape!.record({ columns, chat: [...chat] } as never);
    const roles = (row: string[]) =>
      (line(row) as { messages: { role: string }[] } | undefined)?.messages.map((m) => m.role);
    expect(roles(["", "Invoice wrong", "Sorry", "", "Thanks"])).toEqual(["user", "assistant"]);
    expect(roles(["Be kind", "Crash", "Update", "Still?", ""])).toEqual(["system", "user", "assistant"]);
    expect(roles(["", "", "Hello?", "Bye", "x"])).toBeUndefined();
    expect(roles(["R", "a", "b", "c", "d"])).toEqual(["system", "user", "assistant", "user", "assistant"]);
  });

  test("a conversation whose assistant never speaks makes no chat line: said, no metrics line, exit 6", async () => {
    const { cwd, result } = await dialogues(1, 3, "one-turn.jsonl");
    expect(result.code, result.stderr).toBe(6);
    expect(result.stderr).toMatch(
      /done: 0 of 3 samples .*; 3 samples were left out, having nothing this format holds \(a chat line needs an answer/,
    );
    expect(await readFile(join(cwd, "one-turn.jsonl"), "utf8")).toBe("");
    expect(await readFile(join(cwd, "one-turn_metrics.jsonl"), "utf8")).toBe("");
    // A Hugging Face folder of it says the same, and is no dataset to publish.
    const { id } = await readManifest(await onlyRunDir(cwd));
    const hf = await runCli(["export", id, "--hf", "hf-chat", "--format", "chat"], { cwd });
    expect(hf.code).toBe(6);
    expect(hf.stderr).toMatch(/; 3 samples were left out, having nothing this format holds/);
    expectOneLineError(hf.stderr, /has no sample this format can hold .* — export it in another --format/);
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
    // A Hugging Face folder in that shape likewise: refused before any file is written.
    const hf = await runCli(["export", id, "--hf", "hf", "--format", "chat"], { cwd });
    expect(hf.code).toBe(2);
    expectOneLineError(hf.stderr, /--format chat needs the conversation each sample becomes/);
    await expect(stat(join(cwd, "hf"))).rejects.toThrow();
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

describe("Hugging Face folder", () => {
  test("--hf DIR --split writes Parquet by split and a card whose YAML the datasets library reads: files, features and sizes", async () => {
    const { cwd, id } = await typedRun(["-n", "200"]);
    const result = await runCli(["export", id, "--hf", "hf", "--split", "train=0.8,test=0.2"], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const dir = join(cwd, "hf");
    const card = matter(await readFile(join(dir, "README.md"), "utf8"));
    const [config] = card.data.configs;
    expect(config.config_name).toBe("default");
    expect(config.data_files.map((f: any) => f.split)).toEqual(["train", "test"]);
    const all: Record<string, unknown>[] = [];
    for (const { split, path } of config.data_files) {
      // The Hub's file-name rule: the split's name, delimited by non-word characters, under data/.
      expect(path).toMatch(new RegExp(`^data/${split}-\\d{5}-of-\\d{5}\\.parquet$`));
      const file = join(dir, path);
      const rows = await readParquet(file);
      const size = card.data.dataset_info.splits.find((s: any) => s.name === split).num_examples;
      expect(rows).toHaveLength(size);
      const schema = parquetSchema(await parquetMetadataAsync(await asyncBufferFromFile(file)));
      expect(schema.children.map((c) => c.element.name)).toEqual(
        card.data.dataset_info.features.map((f: any) => f.name),
      );
      all.push(...rows);
    }
    const features = Object.fromEntries(card.data.dataset_info.features.map((f: any) => [f.name, f]));
    expect(features.Tags).toEqual({ name: "Tags", list: "string" });
    expect(features.Source).toEqual({
      name: "Source",
      struct: [
        { name: "Name", dtype: "string" },
        { name: "Year", dtype: "int64" },
      ],
    });
    expect(all[0]!.Source).toEqual({ Name: expect.any(String), Year: expect.any(BigInt) });
    const dtypes = Object.fromEntries(card.data.dataset_info.features.map((f: any) => [f.name, f.dtype]));
    expect(dtypes).toMatchObject({
      index: "int64",
      Difficulty: "int64",
      Score: "float64",
      Verified: "bool",
      Question: "string",
    });
    // Every valid sample once, in one split or the other; the shares roughly as asked.
    expect(all).toHaveLength(200);
    expect(new Set(all.map((r) => r.sample_id)).size).toBe(200);
    const train = card.data.dataset_info.splits[0].num_examples;
    expect(train).toBeGreaterThan(130);
    expect(train).toBeLessThan(190);
    expect(card.content).toMatch(/gpt-6-luna/);
    expect(card.content).toMatch(
      new RegExp(`seed \\| ${(await readManifest(await onlyRunDir(cwd))).config.seed}`),
    );
    expect(card.content).toMatch(/cost \| \$\d/);
    // How diverse and balanced the data is: the figures `synthai stats` prints for the run.
    const stats = await runCli(["stats", id, "--json"], { cwd });
    expect(stats.code, stats.stderr).toBe(0);
    const measured = JSON.parse(stats.stdout).stats;
    expect(card.content).toContain("## Diversity and balance");
    expect(card.content).toContain(`the run's ${measured.samples} kept samples`);
    expect(measured.texts.length).toBeGreaterThan(0);
    for (const t of measured.texts)
      expect(card.content).toContain(
        `| \`${t.field}\` | ${t.words.mean.toFixed(0)} / ${t.words.p90} | ` +
          `${t.distinct.map((x: number) => `${(100 * x).toFixed(1)}%`).join(" / ")} |`,
      );

    // The same run splits the same way: a second export gives the same bytes, replacing the first.
    const before = await readFile(join(dir, config.data_files[0].path));
    expect((await runCli(["export", id, "--hf", "hf", "--split", "train=0.8,test=0.2"], { cwd })).code).toBe(
      0,
    );
    expect((await readFile(join(dir, config.data_files[0].path))).equals(before)).toBe(true);
  });

  test("an --hf export killed at any point leaves no folder behind for good: the next one puts back the old or finishes", async () => {
    const { cwd, id } = await typedRun();
    const card = join(cwd, "hf", "README.md");
    expect((await runCli(["export", id, "--hf", "hf"], { cwd })).code).toBe(0);
    await writeFile(card, `${await readFile(card, "utf8")}\nthe old copy\n`);
    const beside = async () => (await readdir(cwd)).filter((name) => name.startsWith(".hf.")).sort();
    // Killed between moving the old folder aside and moving the new one in: neither is at hf/.
    const swapping = await runCli(["export", id, "--hf", "hf"], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "hf-swap" },
    });
    expect(swapping.signal).toBe("SIGKILL");
    await expect(stat(join(cwd, "hf"))).rejects.toThrow();
    expect(await beside()).toEqual([
      expect.stringMatching(/^\.hf\.old-\d+$/),
      expect.stringMatching(/^\.hf\.partial-\d+$/),
    ]);
    // The next export puts the old folder back and removes the dead one's partial folder first.
    const writing = await runCli(["export", id, "--hf", "hf"], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "during-hf-export" },
    });
    expect(writing.signal).toBe("SIGKILL");
    expect(await readFile(card, "utf8")).toContain("the old copy");
    expect(await beside()).toEqual([expect.stringMatching(/^\.hf\.partial-\d+$/)]);
    const done = await runCli(["export", id, "--hf", "hf"], { cwd });
    expect(done.code, done.stderr).toBe(0);
    expect(await beside()).toEqual([]);
    expect(await readFile(card, "utf8")).not.toContain("the old copy");
    expect(await readParquet(join(cwd, "hf", "data", "train-00000-of-00001.parquet"))).toEqual(
      await readParquet(join(cwd, "out.parquet")),
    );
  });

  test("--hf refuses a folder holding somebody's files, and bad splits, leaving everything as it was", async () => {
    const { cwd, id } = await typedRun();
    await writeFile(join(cwd, "notes.txt"), "mine");
    const refused = await runCli(["export", id, "--hf", "."], { cwd });
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, /already holds files that synthai did not write/);
    expect(await readFile(join(cwd, "notes.txt"), "utf8")).toBe("mine");
    for (const [split, message] of [
      ["train=0.9,test=0.2", /--split shares add up to 1\.1/],
      ["train=0.5,train=0.5", /names a split twice/],
      ["tr ain=1", /is not name=share/],
    ] as const) {
      const bad = await runCli(["export", id, "--hf", "hf", "--split", split], { cwd });
      expect(bad.code).toBe(2);
      expectOneLineError(bad.stderr, message);
    }
    await expect(stat(join(cwd, "hf"))).rejects.toThrow();
  });
});

describe("de-duplication at export", () => {
  const REPEATS = join(ROOT, "test", "fixtures", "repeats-spec.ts");

  /** A finished run of 40 samples of `spec`, exported to all.csv. */
  async function runOf(spec: string, seed: number) {
    const url = await server.start({ seed });
    const cwd = await tempDir();
    const made = await runCli(
      [
        "-n",
        "40",
        "-p",
        "all.csv",
        "--spec",
        spec,
        "-j",
        TYPED_PARAMS,
        "--base-url",
        url,
        "--poll-interval",
        "0.02",
      ],
      { cwd },
    );
    expect(made.code, made.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    return { cwd, runDir, id: (await readManifest(runDir)).id as string };
  }

  test("--dedup exact and near leave repeats out of the export, list which and of what, and a plain export brings them back", async () => {
    const { cwd, runDir, id } = await runOf(REPEATS, 9);
    const all = await readCsv(join(cwd, "all.csv"));
    expect(all).toHaveLength(40);
    const distinct = new Set(all.map((r) => r.Text));

    const exact = await runCli(["export", id, "-p", "exact.csv", "--dedup", "exact"], { cwd });
    expect(exact.code, exact.stderr).toBe(0);
    const exactRows = await readCsv(join(cwd, "exact.csv"));
    expect(exactRows.map((r) => r.Text)).toEqual([...distinct]);
    expect(exactRows.map((r) => Number(r.index))).toEqual(exactRows.map((_, i) => i));
    const listed = await readJsonlFile(join(runDir, "duplicates.jsonl"));
    expect(listed).toHaveLength(40 - distinct.size);
    expect(exact.stderr).toMatch(
      new RegExp(`left out ${40 - distinct.size} duplicates \\(${40 - distinct.size} exact\\)`),
    );
    for (const d of listed) {
      const kept = exactRows.find((r) => r.sample_id === d.duplicate_of)!;
      expect(kept.Text).toBe(all.find((r) => r.sample_id === d.sample_id)!.Text);
    }

    // The texts differ by one word at most: near keeps only the first.
    const near = await runCli(["export", id, "-p", "near.csv", "--dedup", "near"], { cwd });
    expect(near.code, near.stderr).toBe(0);
    expect(await readCsv(join(cwd, "near.csv"))).toHaveLength(1);
    const nearListed = await readJsonlFile(join(runDir, "duplicates.jsonl"));
    expect(nearListed.filter((d) => d.kind === "near").length).toBe(distinct.size - 1);
    expect(nearListed.every((d) => d.similarity >= 0.8)).toBe(true);
    // Near de-duplication's spill files go once the export is written.
    expect(existsSync(join(runDir, "dedup"))).toBe(false);
    // A threshold above what the near ones share keeps them.
    const strict = await runCli(
      ["export", id, "-p", "strict.csv", "--dedup", "near", "--dedup-threshold", "0.99"],
      { cwd },
    );
    expect(strict.code).toBe(0);
    expect(await readCsv(join(cwd, "strict.csv"))).toHaveLength(distinct.size);

    const plain = await runCli(["export", id, "-p", "again.csv"], { cwd });
    expect(plain.code).toBe(0);
    expect(await readFile(join(cwd, "again.csv"), "utf8")).toBe(await readFile(join(cwd, "all.csv"), "utf8"));
    const bad = await runCli(["export", id, "--dedup", "fuzzy"], { cwd });
    expect(bad.code).toBe(2);
    expectOneLineError(bad.stderr, /--dedup must be one of exact, near, semantic, got "fuzzy"/);
  });

  test("--dedup semantic embeds the texts as a batch, leaves out those that mean the same, counts the cost once, and resumes after kill -9", async () => {
    const { cwd, runDir, id } = await runOf(join(ROOT, "test", "fixtures", "meaning-spec.ts"), 4);
    const texts = new Set((await readCsv(join(cwd, "all.csv"))).map((r) => r.Text));
    // Two sentences, each said forwards and backwards: four texts, two meanings.
    expect(texts.size).toBe(4);
    const near = await runCli(["export", id, "-p", "near.csv", "--dedup", "near"], { cwd });
    expect(near.code, near.stderr).toBe(0);
    expect(await readCsv(join(cwd, "near.csv"))).toHaveLength(4);

    // Killed once the embeddings batch is created, before the run knew it: the next export finds it.
    const batchesBefore = server.fake.batches.length;
    const killed = await runCli(["export", id, "-p", "meaning.csv", "--dedup", "semantic"], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "after-create" },
    });
    expect(killed.code).not.toBe(0);
    const semantic = await runCli(["export", id, "-p", "meaning.csv", "--dedup", "semantic"], { cwd });
    expect(semantic.code, semantic.stderr).toBe(0);
    const [, exact, bySense] =
      /left out 38 duplicates \((\d+) exact, (\d+) semantic\)/.exec(semantic.stderr) ?? [];
    expect(Number(exact) + Number(bySense)).toBe(38);
    const rows = await readCsv(join(cwd, "meaning.csv"));
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.Text!.split(" ").sort().join(" "))).size).toBe(2);
    const listed = await readJsonlFile(join(runDir, "duplicates.jsonl"));
    const bySemantic = listed.filter((d) => d.kind === "semantic");
    expect(bySemantic).toHaveLength(Number(bySense));
    expect(bySemantic.length).toBeGreaterThan(0);
    expect(bySemantic.every((d) => d.similarity >= 0.9)).toBe(true);

    // One batch of embeddings on the service, for the 40 samples, billed once into the run.
    const embedded = server.fake.batches.slice(batchesBefore);
    expect(embedded.map((b) => b.batch.endpoint)).toEqual(["/v1/embeddings"]);
    expect(embedded[0]!.batch.request_counts.total).toBe(40);
    const manifest = await readManifest(runDir);
    const billed = (embedded[0]!.batch.usage.input_tokens * 0.01) / 1e6;
    expect(manifest.embeddings.batches[0].collected.costUsd).toBeCloseTo(billed, 12);
    const status = JSON.parse((await runCli(["status", id, "--json"], { cwd })).stdout);
    expect(status.embeddingsUsd).toBeCloseTo(billed, 12);
    // The vectors stay in the run folder: exporting again sends nothing.
    const again = await runCli(["export", id, "-p", "again.csv", "--dedup", "semantic"], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(server.fake.batches.length).toBe(batchesBefore + 1);
    expect(await readFile(join(cwd, "again.csv"), "utf8")).toBe(
      await readFile(join(cwd, "meaning.csv"), "utf8"),
    );
  });
});
