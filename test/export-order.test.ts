import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { eachSampleIn, eachValidByPlace } from "../src/pipeline/export-order.ts";
import { eachValidSample, type SampleFeed } from "../src/pipeline/export.ts";
import type { Manifest } from "../src/run/manifest.ts";
import type { SampleResult } from "../src/run/records.ts";
import { tempDir } from "./helpers.ts";

/** A samples line as synthai writes it: the head, then fields (a long text), labels and the rest. */
function line(sample: number, chunk: number, status: string, text = "", id = String(sample)): string {
  return JSON.stringify({
    custom_id: id,
    sample,
    chunk,
    attempt: 1,
    batch_id: "batch_1",
    status,
    ...(status === "ok" ? { fields: { Call: text } } : {}),
    labels: { Attitude: "calm" },
    cost_usd: 0.001,
  });
}

async function valid(files: string[][], sizes?: { block: number; window: number }) {
  const dir = await tempDir();
  const paths = await Promise.all(
    files.map(async (lines, i) => {
      const path = join(dir, `f${i}.jsonl`);
      await writeFile(path, lines.join(""));
      return path;
    }),
  );
  const chunks = [
    { firstSample: 0, samples: 5 },
    { firstSample: 5, samples: 3 },
  ];
  const seen: string[] = [];
  eachValidByPlace(paths, chunks, "the way out", (s) => seen.push(`${s.sample}:${s.fields!.Call}`), sizes);
  return seen;
}

describe("a chunk's valid samples read back by place", () => {
  // Chunk 0: answers out of order, sample 2 invalid then valid in the retry, sample 4 valid twice
  // (the first wins), a blank line, a CRLF line, an id with an escape (parsed whole) and a text
  // longer than the block; then chunk 1.
  const long = "x".repeat(300);
  const files = [
    [
      `${line(4, 0, "ok", "four")}\n`,
      `${line(2, 0, "malformed")}\n`,
      "\n",
      `${line(1, 0, "ok", long)}\r\n`,
      `${line(5, 0, "ok", "five", 'id"5')}\n`,
    ],
    [`${line(4, 0, "ok", "four again")}\n`, `${line(2, 0, "ok", "two")}\n`, `${line(3, 0, "failed")}`],
    [`${line(8, 1, "ok", "eight")}\n`, `${line(6, 1, "ok", "six")}\n`],
  ];
  const expected = [`1:${long}`, "2:two", "4:four", "5:five", "6:six", "8:eight"];

  test("come in sample order, the first valid answer of each, whatever the sizes of the reads", async () => {
    expect(await valid(files)).toEqual(expected);
    // A block smaller than a line and a window of one sample: every line is read back on its own.
    expect(await valid(files, { block: 64, window: 1 })).toEqual(expected);
    expect(await valid(files, { block: 200, window: 150 })).toEqual(expected);
  });

  test("a torn valid line is told as a damaged file, with the way out", async () => {
    const torn = [[`${line(1, 0, "ok", "one")}\n`, `${line(2, 0, "ok", "two").slice(0, 60)}\n`]];
    await expect(valid(torn)).rejects.toThrow(/f0\.jsonl holds a line that is not valid JSON/);
  });
});

describe("a feed that comes in sample order (a run with stages)", () => {
  test("each valid sample is handed on as it comes: none waits for the chunk's end", async () => {
    const manifest = { chunks: [{ index: 0, firstSample: 0, samples: 3 }] } as unknown as Manifest;
    const sample = (n: number, status: string) => JSON.parse(line(n, 0, status, `text ${n}`)) as SampleResult;
    const seen: number[] = [];
    const handedOnBefore: number[] = [];
    const feed: SampleFeed = Object.assign(
      async (add: (s: SampleResult) => void) => {
        for (const s of [sample(1, "ok"), sample(2, "malformed"), sample(3, "ok")]) {
          handedOnBefore.push(seen.length);
          add(s);
        }
      },
      { inOrder: true as const },
    );
    await eachValidSample(manifest, feed, (s) => seen.push(s.sample));
    expect(seen).toEqual([1, 3]);
    expect(handedOnBefore).toEqual([0, 1, 1]);
  });
});

test("a slice of a samples file: its samples' lines parsed in the file's order, the others passed over, a torn line told", async () => {
  const dir = await tempDir();
  const path = join(dir, "s.jsonl");
  const lines = [
    line(7, 1, "ok", "seven"),
    line(3, 0, "ok", "three"),
    `${line(4, 0, "malformed")}\r`,
    "   ",
    line(5, 0, "ok", "five, its id escaped", 'a"5'),
    line(2, 0, "ok", "two"),
  ];
  await writeFile(path, lines.join("\n"));
  const slice = (first: number, count: number) => {
    const seen: string[] = [];
    eachSampleIn(path, first, count, "the way out", (s) => seen.push(`${s.sample}:${s.status}`));
    return seen;
  };
  expect(slice(3, 3)).toEqual(["3:ok", "4:malformed", "5:ok"]);
  expect(slice(1, 2)).toEqual(["2:ok"]);
  expect(slice(8, 10)).toEqual([]);
  await writeFile(path, [line(3, 0, "ok", "three"), '{"custom_id":"9","sam'].join("\n"));
  expect(() => slice(3, 1)).toThrow(/s\.jsonl.*torn|torn.*s\.jsonl/);
});
