import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  buildRequests,
  chunkSize,
  customId,
  MAX_BYTES_PER_FILE,
  MAX_REQUESTS_PER_FILE,
  fileLimits,
} from "../src/pipeline/build.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { drawSample, labelsOf, newFaker } from "../src/dataset/draw.ts";
import { UserError } from "../src/errors.ts";
import { metricsPathFor } from "../src/pipeline/export.ts";
import { newRunId, type RunConfig } from "../src/run/manifest.ts";
import { toRunConfig } from "../src/commands/options.ts";
import { batchPrice, costUsd } from "../src/api/pricing.ts";
import { parseMarkers, parseStructured } from "../src/dataset/spec.ts";
import { chooseIndexes, permute } from "../src/dataset/sampling.ts";
import { withTokenCounter } from "../src/api/tokens.ts";
import { PARAMS, tempDir } from "./helpers.ts";
import { DrawsFile } from "../src/run/draws-file.ts";
import { fitsBudget } from "../src/pipeline/budget.ts";
import { checkParams, type Params } from "../src/dataset/params.ts";
import { verdictOf } from "../src/pipeline/verdict.ts";

describe("parseMarkers", () => {
  test("splits [Call] and [Summary] sections", () => {
    expect(
      parseMarkers("[Call]\nAgent: hello\nClient: hi\n\n[Summary] A short call.", ["Call", "Summary"]),
    ).toEqual({
      ok: true,
      fields: { Call: "Agent: hello\nClient: hi", Summary: "A short call." },
    });
  });
  test("a separator after the marker goes, a value's own sign stays", () => {
    const fields = ["Delta", "Note"];
    const parsed = (answer: string) =>
      (parseMarkers(answer, fields) as { fields: Record<string, string> }).fields;
    expect(parsed("[Delta] -0.5\n[Note] fine")).toEqual({ Delta: "-0.5", Note: "fine" });
    expect(parsed("[Delta]\n-3\n[Note]: - kept -1")).toEqual({ Delta: "-3", Note: "kept -1" });
    expect(parsed("[Delta]: -2.5e3 [Note] -- dash")).toEqual({ Delta: "-2.5e3", Note: "dash" });
    expect(parsed("[Delta] - 4 [Note] :: x")).toEqual({ Delta: "4", Note: "x" });
    expect(parseMarkers("[Delta] - [Note] x", fields)).toEqual({
      ok: false,
      reason: "empty section [Delta]",
    });
  });
  test("a missing, empty or repeated section is malformed, with the reason", () => {
    expect(parseMarkers("[Call] hi", ["Call", "Summary"])).toEqual({
      ok: false,
      reason: "missing section [Summary]",
    });
    expect(parseMarkers("[Call] hi [Summary]  ", ["Call", "Summary"])).toEqual({
      ok: false,
      reason: "empty section [Summary]",
    });
    expect(parseMarkers("[Call] a [Call] b [Summary] c", ["Call", "Summary"])).toEqual({
      ok: false,
      reason: "section [Call] appears twice",
    });
  });
});

describe("parseStructured", () => {
  const dataset = {
    fields: ["Review", "Rating"],
    prompt: () => "",
    schema: {
      type: "object",
      properties: { Review: { type: "string" }, Rating: { type: "integer", minimum: 1, maximum: 5 } },
      required: ["Review", "Rating"],
      additionalProperties: false,
    },
  };
  test("JSON that fits the schema gives one value per field", () => {
    expect(parseStructured('{"Review":"Great kettle.","Rating":5}', dataset)).toEqual({
      ok: true,
      fields: { Review: "Great kettle.", Rating: "5" },
    });
  });
  test("anything else is malformed, with the reason", () => {
    expect(parseStructured('{"Review":"Great', dataset)).toEqual({ ok: false, reason: "answer is not JSON" });
    expect(parseStructured('{"Review":"ok","Rating":9}', dataset)).toEqual({
      ok: false,
      reason: "answer does not match the schema: /Rating must be <= 5",
    });
    expect(parseStructured('{"Review":"ok"}', dataset)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("must have required property 'Rating'"),
    });
  });
});

describe("checkParams", () => {
  test("accepts the seed's params.json", async () => {
    const params = checkParams(await readFile(PARAMS, "utf8"), "params.json");
    expect(Object.keys(params)).toEqual(["Call", "Summary"]);
    expect(params.Call!.Attitude).toHaveLength(5);
  });
  test("takes comments and a byte-order mark, as the README says a params.json may have", () => {
    const text = '\uFEFF/* made by hand */\n{\n  // the call\n  "Call": {"A": ["x"]} /* one */\n}\n';
    expect(checkParams(text, "p.json")).toEqual({ Call: { A: ["x"] } });
  });
  test("names the line and column of a JSON error", () => {
    expect(() => checkParams('{\n  "Call": {"A": ["x",]}\n}', "p.json")).toThrow(
      /p\.json: invalid JSON at line 2 column 22/,
    );
  });
});

describe("drawing samples", () => {
  const params = {
    Call: { Attitude: ["positive", "negative"], Problem: ["meter", "bill"] },
    Summary: { Extension: ["brief"] },
  } satisfies Params;
  test("the same seed and index give the same draw, in any order", async () => {
    const a = drawSample({ faker: await newFaker(), params, dataset: customerCalls, seed: 5 }, 3);
    drawSample({ faker: await newFaker(), params, dataset: customerCalls, seed: 5 }, 9);
    expect(drawSample({ faker: await newFaker(), params, dataset: customerCalls, seed: 5 }, 3)).toEqual(a);
    expect(Object.keys(labelsOf(a))).toEqual([
      "Attitude",
      "Problem",
      "Extension",
      "Phone",
      "Address",
      "Company",
    ]);
    expect(a.values.Company).not.toBe("Company");
  });
  test("every value is drawn over many samples", async () => {
    const faker = await newFaker();
    const seen = new Set(
      Array.from(
        { length: 50 },
        (_, i) => drawSample({ faker, params, dataset: customerCalls, seed: 1 }, i).params.Call!.Problem,
      ),
    );
    expect(seen).toEqual(new Set(["meter", "bill"]));
  });
});

describe("sampling", () => {
  test("permute is a bijection of [0, size) that depends on the seed", () => {
    for (const size of [1, 7, 1000, 5400]) {
      const out = Array.from({ length: size }, (_, i) => permute(i, size, 3));
      expect(new Set(out).size).toBe(size);
      expect(Math.max(...out)).toBe(size - 1);
    }
    expect(Array.from({ length: 10 }, (_, i) => permute(i, 1000, 1))).not.toEqual(
      Array.from({ length: 10 }, (_, i) => permute(i, 1000, 2)),
    );
  });
  test("unique indexes cover every combination once", () => {
    const params = { A: { x: ["1", "2", "3"], y: ["a", "b"] }, B: { z: ["p", "q", "r", "s"] } };
    const seen = new Set(
      Array.from({ length: 24 }, (_, i) => chooseIndexes("unique", params, 9, i)!.join(",")),
    );
    expect(seen.size).toBe(24);
  });
});

describe("verdictOf", () => {
  const ok = (content: string, finish = "stop") =>
    JSON.stringify({
      id: "batch_req_1",
      custom_id: "000003",
      response: {
        status_code: 200,
        request_id: "r",
        body: {
          model: "gpt-4o-mini-2024-07-18",
          choices: [{ message: { content }, finish_reason: finish }],
          usage: { prompt_tokens: 10, completion_tokens: 20 },
        },
      },
      error: null,
    });
  test("a well-formed answer", () => {
    expect(verdictOf(ok("[Call] hi [Summary] bye"), customerCalls)).toMatchObject({
      custom_id: "000003",
      status: "ok",
      fields: { Call: "hi", Summary: "bye" },
      prompt_tokens: 10,
      completion_tokens: 20,
      model: "gpt-4o-mini-2024-07-18",
    });
  });
  test("malformed answers are retried, answers cut at max_tokens are not", () => {
    expect(verdictOf(ok("[Call] hi"), customerCalls)).toMatchObject({
      status: "malformed",
      retryable: true,
      reason: "missing section [Summary]",
    });
    expect(verdictOf(ok("[Call] hi [Summ", "length"), customerCalls)).toMatchObject({
      status: "truncated",
      retryable: false,
    });
  });
  test("error lines: 5xx and expiry are retried, a 400 is not; a corrupt line is reported", () => {
    const err500 = JSON.stringify({
      custom_id: "000001",
      response: { status_code: 500, body: { error: { message: "oops", type: "server_error", code: null } } },
      error: null,
    });
    const expired = JSON.stringify({
      custom_id: "000002",
      response: null,
      error: { code: "batch_expired", message: "expired" },
    });
    const bad400 = JSON.stringify({
      custom_id: "000004",
      response: {
        status_code: 400,
        body: { error: { message: "bad", type: "invalid_request_error", code: "invalid_value" } },
      },
      error: null,
    });
    expect(verdictOf(err500, customerCalls)).toMatchObject({
      status: "failed",
      retryable: true,
      reason: "server_error: oops",
    });
    expect(verdictOf(expired, customerCalls)).toMatchObject({
      status: "failed",
      retryable: true,
      reason: "batch_expired: expired",
    });
    expect(verdictOf(bad400, customerCalls)).toMatchObject({ status: "failed", retryable: false });
    expect(verdictOf("{not json", customerCalls)).toEqual({ corrupt: "not JSON: {not json" });
  });
});

describe("pricing and budget", () => {
  test("batch price is half the standard price; dated snapshots and flags work", () => {
    expect(batchPrice("gpt-4o-mini")).toEqual({ input: 0.075, output: 0.3, cachedInput: 0.0375 });
    expect(batchPrice("gpt-4o-mini-2024-07-18")).toEqual({ input: 0.075, output: 0.3, cachedInput: 0.0375 });
    expect(batchPrice("gpt-6-luna")).toEqual({ input: 0.05, output: 0.25, cachedInput: 0.005 });
    expect(batchPrice("custom", { input: 1, output: 2 })).toEqual({ input: 1, output: 2 });
    expect(() => batchPrice("custom")).toThrow(UserError);
    expect(costUsd({ input: 0.075, output: 0.3 }, 1_000_000, 1_000_000)).toBeCloseTo(0.375, 12);
  });
  test("a batch fits the budget only if its worst case fits what is left", () => {
    const config = toRunConfig({ samples: "10", budget: "0.01", "max-tokens": "1000" }, () => 1);
    const record = (step: string, extra = {}) =>
      ({ chunk: 0, attempt: 1, requestsFile: "x", requests: 10, promptTokens: 1000, step, ...extra }) as any;
    // worst case (gpt-6-luna): 1000 x 0.05/1M + 10 x 1000 x 0.25/1M = 0.00255
    const manifest = {
      config,
      batches: [record("submitted"), record("collected", { collected: { costUsd: 0.003 } })],
    } as any;
    expect(fitsBudget(manifest, record("pending"))).toBe(true);
    manifest.batches.push(record("submitted"));
    expect(fitsBudget(manifest, record("pending"))).toBe(false);
  });
});

describe("options", () => {
  test("defaults follow the seed", () => {
    const config = toRunConfig({}, () => 99);
    expect(config).toMatchObject({
      samples: 10,
      batches: 1,
      metrics: true,
      maxAttempts: 10,
      seed: 99,
      model: "gpt-6-luna",
      reasoningEffort: "none",
    });
    expect(config.output.endsWith("dataset.csv")).toBe(true);
    expect(config.paramsFile.endsWith("params.json")).toBe(true);
  });
  test("metrics file is named as the seed names it", () => {
    expect(metricsPathFor("/x/dataset.csv")).toBe("/x/dataset_metrics.csv");
  });
  test("run ids sort by time", () => {
    const a = newRunId(new Date("2026-01-02T03:04:05Z"), () => 0.5);
    const b = newRunId(new Date("2026-01-02T03:04:06Z"), () => 0.1);
    expect(a).toMatch(/^20260102-030405-[0-9a-z]{4}$/);
    expect([b, a].sort()).toEqual([a, b]);
  });
});

describe("building request files", () => {
  const config = (samples: number, batches: number, seed = 4): RunConfig => ({
    ...toRunConfig({ samples: String(samples), batches: String(batches) }, () => seed),
    seed,
  });
  test("custom ids are zero-padded sample indexes", () => {
    expect(customId(7, 25)).toBe("000007");
    expect(customId(7, 10_000_000)).toBe("0000007");
  });
  test("-b splits into that many files, and never more than 50,000 requests a file", () => {
    expect(chunkSize(25, 3)).toBe(9);
    expect(chunkSize(1_000_000, 1)).toBe(MAX_REQUESTS_PER_FILE);
  });
  test("a file is split where the next request would take it over the byte limit, not a byte later", async () => {
    const params = checkParams(await readFile(PARAMS, "utf8"), "params.json");
    const whole = await tempDir();
    await buildRequests(whole, config(7, 1), params, customerCalls);
    const lines = (await readFile(join(whole, "requests/c0000-a1.jsonl"), "utf8")).split("\n").slice(0, -1);
    const threeLines = lines.slice(0, 3).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
    for (const [bytes, first] of [
      [threeLines, 3],
      [threeLines - 1, 2],
    ] as const) {
      const dir = await tempDir();
      const built = await buildRequests(dir, config(7, 1), params, customerCalls, {
        limits: { requests: MAX_REQUESTS_PER_FILE, bytes },
      });
      expect(built.batches[0]!.requests).toBe(first);
      expect(built.batches.reduce((sum, b) => sum + b.requests, 0)).toBe(7);
      for (const record of built.batches) {
        const text = await readFile(join(dir, record.requestsFile), "utf8");
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(bytes);
        expect(text.split("\n").length - 1).toBe(record.requests);
      }
      // The split files hold the same requests, in order, as the unsplit one.
      const joined = (
        await Promise.all(built.batches.map((b) => readFile(join(dir, b.requestsFile), "utf8")))
      ).join("");
      expect(joined).toBe(`${lines.join("\n")}\n`);
      // Each chunk's draws file follows its requests file.
      for (const chunk of built.chunks)
        expect((await readFile(join(dir, chunk.drawsFile), "utf8")).split("\n").length - 1).toBe(
          chunk.samples,
        );
    }
  });
  test("the Batch API's file limits are 50,000 requests and 200 MB; a run on Together splits at 100 MB", () => {
    expect(MAX_REQUESTS_PER_FILE).toBe(50_000);
    expect(MAX_BYTES_PER_FILE).toBe(200_000_000);
    expect(fileLimits({ provider: "openai" })).toEqual({ requests: 50_000, bytes: 200_000_000 });
    expect(fileLimits({ provider: "together" })).toEqual({ requests: 50_000, bytes: 100_000_000 });
  });
  test("the same seed gives byte-identical request files", async () => {
    const params = checkParams(await readFile(PARAMS, "utf8"), "params.json");
    const [a, b] = [await tempDir(), await tempDir()];
    const built = await buildRequests(a, config(7, 2), params, customerCalls);
    await buildRequests(b, config(7, 2), params, customerCalls);
    expect(built.batches.map((r) => r.requests)).toEqual([4, 3]);
    for (const file of ["requests/c0000-a1.jsonl", "requests/c0001-a1.jsonl", "draws/c0000.jsonl"])
      expect(await readFile(join(a, file), "utf8")).toBe(await readFile(join(b, file), "utf8"));
    const c = await tempDir();
    await buildRequests(c, config(7, 2, 5), params, customerCalls);
    expect(await readFile(join(c, "requests/c0000-a1.jsonl"), "utf8")).not.toBe(
      await readFile(join(a, "requests/c0000-a1.jsonl"), "utf8"),
    );
  });
});

describe("counting prompt tokens", () => {
  test("counts as the chat format does, on a thread of its own: tallies, single counts, a schema", async () => {
    const { countTokens } = await import("gpt-tokenizer");
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Write a call about a gas bill." },
    ];
    // 3 tokens to prime the answer, 4 per message around its content.
    const one = 3 + 4 + countTokens("Be brief.") + 4 + countTokens("Write a call about a gas bill.");
    const schema = { type: "object", properties: { Call: { type: "string" } } };
    const counted = await withTokenCounter(async (counter) => {
      for (let i = 0; i < 1000; i++) await counter.add({ messages });
      const thousand = await counter.tally();
      counter.add({ messages, schema });
      return {
        thousand,
        withSchema: await counter.tally(),
        single: await counter.count({ messages }),
        empty: await counter.tally(),
      };
    });
    expect(counted).toEqual({
      thousand: 1000 * one,
      withSchema: one + countTokens(JSON.stringify(schema)),
      single: one,
      empty: 0,
    });
  });
  test("a counter after another starts afresh: nothing the first left untallied, not its schema", async () => {
    const messages = [{ role: "user" as const, content: "Write a call about a gas bill." }];
    const schema = { type: "object", properties: { Call: { type: "string" } } };
    const one = await withTokenCounter((counter) => counter.count({ messages }));
    // 40 prompts with a schema: 32 of them reach the worker, and no tally takes them.
    await withTokenCounter(async (counter) => {
      for (let i = 0; i < 40; i++) await counter.add({ messages, schema });
      await counter.count({ messages, schema });
    });
    const next = await withTokenCounter(async (counter) => {
      counter.add({ messages });
      return { tally: await counter.tally(), single: await counter.count({ messages }) };
    });
    expect(next).toEqual({ tally: one, single: one });
  });
  test("a special token's text in a prompt is counted as the characters it is, as the service encodes it", async () => {
    const { encode } = await import("gpt-tokenizer");
    const text = "A tokenizer marks the end with <|endoftext|> and a turn with <|im_start|>.";
    const asCharacters = encode(text, { disallowedSpecial: new Set() }).length;
    // As characters, "<|endoftext|>" is several tokens, not the one special token.
    expect(encode("<|endoftext|>", { disallowedSpecial: new Set() }).length).toBeGreaterThan(1);
    const counted = await withTokenCounter((counter) =>
      counter.count({ messages: [{ role: "user", content: text }] }),
    );
    expect(counted).toBe(3 + 4 + asCharacters);
  });
});

describe("reading a chunk's draws", () => {
  test("any sample, in order or not, whether the file is kept whole or read through a window", async () => {
    const dir = await tempDir();
    const path = join(dir, "draws.jsonl");
    // 3,000 lines of 10 to 400 bytes: more than one 256 KB window.
    const lines = Array.from({ length: 3000 }, (_, i) => ({
      custom_id: String(i),
      sample: i + 1,
      labels: { Name: "é".repeat((i * 7919) % 400) },
    }));
    await writeFile(path, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
    const chunk = { index: 0, firstSample: 0, samples: lines.length, drawsFile: "draws.jsonl" };
    const shuffled = lines.map((_, i) => permute(i, lines.length, 3));
    for (const wholeBytes of [undefined, 0]) {
      const draws = DrawsFile.open(path, chunk, wholeBytes);
      for (let i = 0; i < lines.length; i++) expect(draws.read(i)).toEqual(lines[i]);
      for (const i of shuffled) expect(draws.read(i)).toEqual(lines[i]);
      draws.close();
    }
    expect(() => DrawsFile.open(path, { ...chunk, samples: lines.length + 1 })).toThrow(
      /holds 3000 draws, where its chunk has 3001 samples/,
    );
  });
});

describe("the report's charts", () => {
  test("a histogram of a million values counts each once, its bins spanning smallest to largest", async () => {
    const { histogram } = await import("../src/views/report.ts");
    const { labels, counts } = histogram(Array.from({ length: 1_000_000 }, (_, i) => 100 + (i % 700)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1_000_000);
    expect(counts.length).toBeGreaterThanOrEqual(20);
    expect(counts.length).toBeLessThanOrEqual(30);
    expect(labels[0]).toMatch(/^100–/);
    expect(labels.at(-1)).toMatch(/–(799|8\d\d)$/);
    expect(histogram([5, 5, 6])).toEqual({ labels: ["5", "6"], counts: [2, 1] });
  });
});
