import { appendFile, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  ROOT,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const fast = ["--poll-interval", "0.02", "-p", "out.csv"];
const TICKETS = join(ROOT, "examples", "ticket-labels");
const DOCS = join(ROOT, "examples", "doc-questions");
const labelArgs = [
  "--input",
  join(TICKETS, "tickets.csv"),
  "--prompt",
  join(TICKETS, "label.md"),
  "-j",
  join(TICKETS, "params.json"),
];

const docArgs = [
  "--input",
  join(DOCS, "docs.jsonl"),
  "--spec",
  join(DOCS, "dataset.ts"),
  "-j",
  join(DOCS, "params.json"),
];

/** Bad input: one line naming the file and the fix, exit 2, nothing written. */
async function expectRefused(args: string[], message: RegExp, setup?: (cwd: string) => Promise<void>) {
  const cwd = await tempDir();
  await setup?.(cwd);
  const before = await readdir(cwd);
  const result = await runCli([...args, "--base-url", "http://127.0.0.1:9/v1", "--dry-run"], { cwd });
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr.trim()).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.code).toBe(2);
  expect(await readdir(cwd)).toEqual(before);
}

describe("your rows in", () => {
  test("ticket-labels: the prompt file's chat mapping turns each labelled ticket into a fine-tuning conversation", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli([...labelArgs, "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const exported = await runCli(["export", id, "-p", "train.jsonl", "--format", "chat"], { cwd });
    expect(exported.code, exported.stderr).toBe(0);
    const rows = await readCsv(join(cwd, "out.csv"));
    const conversations = await readJsonlFile(join(cwd, "train.jsonl"));
    expect(conversations.map((c) => c.messages.map((m: any) => m.role))).toEqual(
      rows.map(() => ["system", "user", "assistant"]),
    );
    expect(conversations.map((c) => c.messages[1].content)).toEqual(rows.map((r) => r.text));
    expect(conversations.map((c) => c.messages[2].content)).toEqual(rows.map((r) => r.Reply));
  });

  test("ticket-labels: a CSV (;-separated) labelled through a prompt file; its columns beside the fields, its row in the metrics", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli([...labelArgs, "--base-url", url, ...fast], { cwd });
    expect(result.stderr).toContain("done: 6 of 6 samples");
    expect(result.code).toBe(0);
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(Object.keys(rows[0]!)).toEqual([
      "index",
      "Category",
      "Urgency",
      "Reply",
      "ticket_id",
      "customer",
      "text",
      "Tone",
      "sample_id",
    ]);
    // In input order, whatever order the answers came in.
    expect(rows.map((r) => r.ticket_id)).toEqual([
      "T-1001",
      "T-1002",
      "T-1003",
      "T-1004",
      "T-1005",
      "T-1006",
    ]);
    expect(rows.map((r) => r.index)).toEqual(["0", "1", "2", "3", "4", "5"]);
    const byId = new Map(rows.map((r) => [r.sample_id, r]));
    const requests = await readJsonlFile(join(await onlyRunDir(cwd), "requests", "c0000-a1.jsonl"));
    // The row's columns filled the prompt; the system message came from the front matter.
    expect(requests[2].body.messages[0]).toEqual({
      role: "system",
      content: "You are a support lead who labels tickets carefully and answers in one short paragraph.",
    });
    expect(requests[2].body.messages[1].content).toContain(
      'Ticket from Chloé:\n\n"Can I move my subscription to my partner\'s account?"',
    );
    expect(byId.get(requests[2].custom_id)!.ticket_id).toBe("T-1003");
    const metrics = await readCsv(join(cwd, "out_metrics.csv"));
    for (const m of metrics) expect(byId.get(m.sample_id)!.ticket_id).toBe(`T-100${m.input_row}`);
  });

  test("doc-questions: JSONL through a spec module; -n fewer takes the first rows, more cycles them, --per-row draws each row k times", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const args = [...docArgs, "--base-url", url, "--poll-interval", "0.02"];
    const first = await runCli([...args, "-n", "2", "-p", "two.csv"], { cwd });
    expect(first.code).toBe(0);
    expect((await readCsv(join(cwd, "two.csv"))).map((r) => r.doc_id).sort()).toEqual(["d1", "d2"]);
    const cycled = await runCli([...args, "-n", "10", "-p", "ten.csv"], { cwd });
    expect(cycled.code).toBe(0);
    const ten = await readCsv(join(cwd, "ten.csv"));
    expect(ten.filter((r) => r.doc_id === "d1")).toHaveLength(3);
    expect(ten.filter((r) => r.doc_id === "d4")).toHaveLength(2);
    const perRow = await runCli(
      [...args, "--per-row", "3", "--keep-columns", "doc_id,title", "-p", "three.csv"],
      { cwd },
    );
    expect(perRow.stderr).toContain("done: 12 of 12 samples");
    const three = await readCsv(join(cwd, "three.csv"));
    expect(Object.keys(three[0]!)).toEqual([
      "index",
      "Question",
      "Answer",
      "doc_id",
      "title",
      "Difficulty",
      "sample_id",
    ]);
    expect(new Set(three.filter((r) => r.doc_id === "d2").map((r) => r.sample_id)).size).toBe(3);
  });

  test("--input-sample random takes a seeded sample of the rows, in file order, the same for the same seed", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const args = [
      ...docArgs,
      "--input-sample",
      "random",
      "-n",
      "2",
      "--base-url",
      url,
      "--poll-interval",
      "0.02",
    ];
    const picked: string[][] = [];
    for (const [seed, name] of [
      ["1", "a"],
      ["1", "b"],
      ["2", "c"],
      ["3", "d"],
      ["4", "e"],
    ] as const) {
      expect((await runCli([...args, "--seed", seed, "-p", `${name}.csv`], { cwd })).code).toBe(0);
      picked.push((await readCsv(join(cwd, `${name}.csv`))).map((r) => r.doc_id!));
    }
    expect(picked[0]).toEqual(picked[1]);
    for (const ids of picked) expect(ids).toEqual([...ids].sort());
    expect(picked.some((ids) => ids.join() !== "d1,d2")).toBe(true);
  });

  test("resume after a kill gives the same rows; a changed input is refused by export and --top-up", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const tickets = join(cwd, "tickets.csv");
    await writeFile(tickets, await readFile(join(TICKETS, "tickets.csv")));
    const args = [
      "--input",
      tickets,
      "--prompt",
      join(TICKETS, "label.md"),
      "-j",
      join(TICKETS, "params.json"),
      "-b",
      "2",
      "--seed",
      "3",
    ];
    const killed = await runCli([...args, "--base-url", url, ...fast], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "after-chunk" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const { id } = await readManifest(await onlyRunDir(cwd));
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code).toBe(0);
    const whole = await tempDir();
    await runCli([...args.map((a) => (a === tickets ? join(TICKETS, "tickets.csv") : a)), "--dry-run"], {
      cwd: whole,
    });
    const [a, b] = [await onlyRunDir(cwd), await onlyRunDir(whole)];
    for (const file of ["draws/c0000.jsonl", "draws/c0001.jsonl"])
      expect(await readFile(join(a, file), "utf8")).toBe(await readFile(join(b, file), "utf8"));
    await appendFile(tickets, 'T-1007;Gus;"One more ticket."\n');
    const exported = await runCli(["export", id], { cwd });
    expect(exported.code).toBe(2);
    expect(exported.stderr.trim()).toMatch(
      /^error: input .*tickets\.csv changed since run \S+ read it — restore the file it was built from/,
    );
    const again = await runCli(["resume", id, "--top-up", "2", "--base-url", url], { cwd });
    expect(again.code).toBe(2);
  });

  test("a placeholder that names nothing is refused before building, with what exists", async () => {
    await expectRefused(
      ["--input", join(TICKETS, "tickets.csv"), "--prompt", "bad.md", "-j", join(TICKETS, "params.json")],
      /prompt file .*bad\.md: \{\{Customer\}\} names nothing — it can use ticket_id, customer, text, Tone, Reply\.Tone/,
      (cwd) =>
        writeFile(
          join(cwd, "bad.md"),
          "---\nfields: [Label]\n---\nLabel {{text}} from {{Customer}}. Write [Label] first.\n",
        ),
    );
  });

  test.each([
    ["a missing input", "nope.csv", "", /--input .*nope\.csv does not exist or cannot be read/],
    ["an empty input", "empty.csv", "", /--input .*empty\.csv is empty/],
    ["a CSV with a ragged row", "ragged.csv", "a,b\n1,2\n3\n", /--input .*ragged\.csv: .*line 3/],
    [
      "a JSONL line that is not an object",
      "rows.jsonl",
      '{"a": 1}\n[1, 2]\n',
      /--input .*rows\.jsonl: row 2 is not a JSON object/,
    ],
    [
      "a Parquet file that is not one",
      "rows.parquet",
      "not parquet at all",
      /--input .*rows\.parquet is not a Parquet file/,
    ],
    [
      "a header naming a column twice",
      "twice.csv",
      "x,y,x\n1,2,3\n",
      /--input .*twice\.csv: its header names the column "x" twice/,
    ],
    [
      "a column named like a field",
      "clash.csv",
      "Label,x\n1,2\n",
      /p\.md: field "Label" has the name of an input column/,
    ],
  ])("%s: one line naming the file, nothing written", async (_, name, content, message) => {
    await expectRefused(["--input", name, "--prompt", "p.md"], message, async (cwd) => {
      if (content !== "" || name === "empty.csv") await writeFile(join(cwd, name), content);
      await writeFile(join(cwd, "p.md"), "---\nfields: [Label]\n---\nLabel {{x}}. Write [Label] first.\n");
    });
  });
});
