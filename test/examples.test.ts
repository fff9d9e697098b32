import type { FakeOptions } from "../src/fake/server.ts";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { useFake, ROOT, onlyRunDir, readCsv, readJsonlFile, runCli, tempDir } from "./helpers.ts";

const server = useFake();

async function runExample(name: string, options: FakeOptions = {}) {
  const url = await server.start(options);
  const cwd = await tempDir();
  const dir = join(ROOT, "examples", name);
  const result = await runCli(
    [
      "-n",
      "12",
      "-b",
      "2",
      "--spec",
      join(dir, "dataset.ts"),
      "-j",
      join(dir, "params.json"),
      "-p",
      "out.csv",
      "--base-url",
      url,
      "--poll-interval",
      "0.02",
    ],
    { cwd },
  );
  expect(result.stderr).toContain("done: 12 of 12 samples");
  return {
    cwd,
    rows: await readCsv(join(cwd, "out.csv")),
    requests: await readJsonlFile(join(await onlyRunDir(cwd), "requests/c0000-a1.jsonl")),
  };
}

describe("examples", () => {
  test("customer-calls: the seed's dataset", async () => {
    const { rows } = await runExample("customer-calls", { malformedRate: 0.2 });
    expect(Object.keys(rows[0]!).slice(0, 3)).toEqual(["index", "Call", "Summary"]);
    for (const row of rows) expect(row.Call && row.Summary && row.Company).toBeTruthy();
  });

  test("product-reviews: structured output with sentiment and rating labels", async () => {
    const { rows, requests } = await runExample("product-reviews");
    expect(requests[0].body.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "sample", strict: true, schema: { type: "object" } },
    });
    expect(Object.keys(rows[0]!)).toEqual([
      "index",
      "Review",
      "Sentiment",
      "Rating",
      "Product",
      "Tone",
      "Length",
      "Reviewer",
      "Name",
      "Date",
      "sample_id",
    ]);
    for (const row of rows) {
      expect(["positive", "neutral", "negative"]).toContain(row.Sentiment);
      expect(Number(row.Rating)).toBeGreaterThanOrEqual(1);
      expect(Number(row.Rating)).toBeLessThanOrEqual(5);
      expect(row.Review!.length).toBeGreaterThan(10);
    }
  });

  test("qa-pairs: a system message, and its own parser", async () => {
    const { rows, requests } = await runExample("qa-pairs");
    expect(requests[0].body.messages.map((m: { role: string }) => m.role)).toEqual(["system", "user"]);
    expect(Object.keys(rows[0]!)).toEqual([
      "index",
      "Question",
      "Answer",
      "Topic",
      "Level",
      "Kind",
      "Style",
      "sample_id",
    ]);
  });
});
