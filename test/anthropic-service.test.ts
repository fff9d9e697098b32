// The Anthropic batch service through the official SDK against the fake: a batch made, looked
// at until it ends and its results written in synthai's envelope; a create cut short found again
// without metadata (its own batch adopted, another run's of the same size never); requests the
// service would refuse only at the end refused before sending.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import type { BatchAsk, BatchService } from "../src/api/batch-service.ts";
import { VENDOR_ENDPOINTS } from "../src/api/endpoints/index.ts";
import { messages } from "../src/api/endpoints/messages.ts";
import { anthropicService } from "../src/api/services/anthropic.ts";
import { makeService, serviceOptions } from "../src/api/services/index.ts";
import customerCalls from "../src/dataset/builtin/customer-calls.ts";
import { UserError } from "../src/errors.ts";
import { verdictOf } from "../src/pipeline/verdict.ts";
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from "../src/fake/anthropic.ts";
import { ENTRY, expectOneLineError, runCli, tempDir } from "./helpers.ts";

const KEY = "sk-ant-test-0123456789";
let fake: FakeAnthropic | undefined;
let base = "";

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function setUp(options: FakeAnthropicOptions = {}): Promise<BatchService> {
  const started = await startFakeAnthropic({ apiKey: KEY, ...options });
  fake = started.fake;
  base = started.baseURL;
  return anthropicService({ apiKey: KEY, baseURL: started.baseURL });
}

const PROMPT = [
  { role: "system" as const, content: "You write customer calls." },
  { role: "user" as const, content: "Write:\n[Call]\n...\n[Summary]\n..." },
];

/** A request file of synthai's envelope lines, and the ask for it. */
async function askFor(
  n: number,
  run = "run-a",
  edit: (body: Record<string, unknown>) => Record<string, unknown> = (b) => b,
  ids = (i: number) => String(i).padStart(6, "0"),
): Promise<BatchAsk> {
  const dir = await tempDir();
  const path = join(dir, "c0000-a1.jsonl");
  const body = messages.body(PROMPT, { model: "claude-haiku-5-5", maxTokens: 400 });
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ custom_id: ids(i), method: "POST", url: "/v1/messages", body: edit({ ...body }) }),
  );
  await writeFile(path, `${lines.join("\n")}\n`);
  return {
    path,
    file: "requests/c0000-a1.jsonl",
    name: `${run}-c0000-a1.jsonl`,
    url: "/v1/messages",
    model: "claude-haiku-5-5",
    requests: n,
    metadata: { synthai_run: run, synthai_chunk: "0", synthai_attempt: "1" },
  };
}

const now = () => Math.floor(Date.now() / 1000);

async function lookUntilEnded(service: BatchService, id: string) {
  for (let looks = 1; ; looks++) {
    const batch = (await service.look([id], 0)).get(id)!;
    if (batch.counts || looks > 10) return batch;
  }
}

const linesOf = async (path: string) =>
  (await readFile(path, "utf8"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));

describe("the Anthropic batch service", () => {
  test("creates a batch inline, sees no counts until it ends, writes its results in synthai's envelope", async () => {
    const service = await setUp({ pollsPerPhase: 2 });
    const ask = await askFor(4);
    // Inline: nothing is uploaded; the request file is read by the create call itself.
    expect([await service.upload(ask, now()), await service.findUpload(ask, now())]).toEqual([
      "inline",
      "inline",
    ]);
    expect(fake!.requests).toEqual([]);
    const created = await service.create(ask, now());
    expect(created).toMatchObject({ status: "in_progress", said: "in_progress" });
    expect(created.counts).toBeUndefined();
    expect(fake!.requestedIds().every((id) => /^[0-9a-f]{16}-00000\d$/.test(id))).toBe(true);
    const first = (await service.look([created.id], 0)).get(created.id)!;
    expect(first.counts).toBeUndefined();
    const ended = await lookUntilEnded(service, created.id);
    expect(ended).toMatchObject({
      status: "completed",
      said: "ended",
      counts: { total: 4, completed: 4, failed: 0 },
    });
    const dir = await tempDir();
    const to = { output: join(dir, "out.jsonl"), errors: join(dir, "err.jsonl") };
    const written = await service.results(ended, to);
    expect(written.errors).toBeUndefined();
    expect(existsSync(to.errors)).toBe(false);
    const sha = createHash("sha256")
      .update(await readFile(to.output))
      .digest("hex");
    expect(written.output).toEqual({ sha256: sha, lines: 4 });
    const lines = await linesOf(to.output);
    expect(lines.map((l) => l.custom_id).sort()).toEqual(["000000", "000001", "000002", "000003"]);
    for (const line of lines) {
      expect(line).toMatchObject({ response: { status_code: 200 }, error: null });
      const answer = messages.read(line.response.body);
      expect(answer.text).toMatch(/\[Call\][\s\S]*\[Summary\]/);
      expect(answer.finish).toBe("stop");
    }
  });

  test("errored, cancelled and expired requests go to the errors file, a server's failure asked again", async () => {
    const service = await setUp({ expireFirst: 1, failedRate: 0.5, pollsPerPhase: 1 });
    const created = await service.create(await askFor(6), now());
    const ended = await lookUntilEnded(service, created.id);
    const dir = await tempDir();
    const to = { output: join(dir, "out.jsonl"), errors: join(dir, "err.jsonl") };
    const written = await service.results(ended, to);
    expect((written.output?.lines ?? 0) + written.errors!.lines).toBe(6);
    const errors = await linesOf(to.errors);
    const codes = errors.map((l) => l.error?.code ?? l.response.body.error.type);
    expect(codes.filter((c) => c === "batch_expired")).toHaveLength(3);
    for (const line of errors.filter((l) => l.response))
      expect([500, 529]).toContain(line.response.status_code);
  });

  test("what it writes is judged by synthai's verdict: answers parsed, overloaded and expired asked again, a refusal not", async () => {
    const service = await setUp({ expireFirst: 1, failedRate: 0.4 });
    const ask = await askFor(8, "run-a", (body) => ({
      ...body,
      messages: [{ role: "user", content: "[Call]\n[Summary]" }],
    }));
    const created = await service.create(ask, now());
    const ended = await lookUntilEnded(service, created.id);
    const dir = await tempDir();
    const to = { output: join(dir, "out.jsonl"), errors: join(dir, "err.jsonl") };
    await service.results(ended, to);
    const judge = (line: unknown) =>
      verdictOf(JSON.stringify(line), customerCalls, VENDOR_ENDPOINTS.anthropic(undefined)) as Record<
        string,
        unknown
      >;
    const answered = (await linesOf(to.output)).map(judge);
    expect(answered.length).toBeGreaterThan(0);
    for (const verdict of answered)
      expect(verdict).toMatchObject({ status: "ok", model: "claude-haiku-5-5" });
    const failed = (await linesOf(to.errors)).map(judge);
    expect(failed.length).toBeGreaterThan(0);
    for (const verdict of failed) expect(verdict).toMatchObject({ status: "failed", retryable: true });
    expect(failed.map((v) => String(v.reason).split(":")[0]).sort()).toContain("batch_expired");
    const refused = judge({
      custom_id: "000009",
      response: {
        status_code: 400,
        body: { error: { type: "invalid_request_error", code: "invalid_request_error", message: "x" } },
      },
      error: null,
    });
    expect(refused).toMatchObject({ status: "failed", retryable: false, refusedWith: 400 });
  });

  test("a cancelled batch ends cancelled; its unrun requests are batch_cancelled", async () => {
    const service = await setUp({ pollsPerPhase: 5 });
    const created = await service.create(await askFor(4), now());
    expect((await service.cancel(created.id))?.status).toBe("cancelling");
    const ended = await lookUntilEnded(service, created.id);
    expect(ended).toMatchObject({ status: "cancelled", counts: { total: 4, completed: 2, failed: 2 } });
    const dir = await tempDir();
    const to = { output: join(dir, "out.jsonl"), errors: join(dir, "err.jsonl") };
    await service.results(ended, to);
    expect((await linesOf(to.errors)).map((l) => l.error.code)).toEqual([
      "batch_cancelled",
      "batch_cancelled",
    ]);
  });

  test("a results download cut short leaves no file and is transient; the next one is whole", async () => {
    const service = await setUp({ cutDownloads: 1 });
    const created = await service.create(await askFor(5), now());
    const ended = await lookUntilEnded(service, created.id);
    const dir = await tempDir();
    const to = { output: join(dir, "out.jsonl"), errors: join(dir, "err.jsonl") };
    const early = await service.results(created, to).catch((error) => error);
    expect(early.message).toMatch(/has not ended: it has no results yet/);
    const cut = await service.results(ended, to).catch((error) => error);
    expect(cut).toBeInstanceOf(UserError);
    expect(cut.transient).toBe(true);
    expect(existsSync(to.output) || existsSync(`${to.output}.part`)).toBe(false);
    expect((await service.results(ended, to)).output?.lines).toBe(5);
  });

  test("looks at several batches with one listing back to the oldest", async () => {
    const service = await setUp({ pollsPerPhase: 3 });
    const since = now();
    const ids: string[] = [];
    for (const run of ["run-a", "run-b", "run-c"])
      ids.push((await service.create(await askFor(2, run), since)).id);
    fake!.requests.length = 0;
    const seen = await service.look(ids, since);
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    expect([...seen.values()].every((b) => b.status === "in_progress" && !b.counts)).toBe(true);
    expect(fake!.requests).toEqual([{ method: "GET", path: "/v1/messages/batches" }]);
  });

  test("deletes an ended batch; one still running is a warning, not a failure", async () => {
    const service = await setUp({ pollsPerPhase: 2 });
    const created = await service.create(await askFor(1), now());
    expect(await service.remove([], created.id)).toEqual([expect.stringMatching(/not deleted/)]);
    await lookUntilEnded(service, created.id);
    expect(await service.remove([], created.id)).toEqual([]);
    expect((await service.look([created.id], 0)).size).toBe(0);
  });
});

describe("transfer buffers", () => {
  test("a create sent from a temp file and results of 8 MB and more free their buffers as they go, leaving no temp file", async () => {
    const service = await setUp();
    const ask = await askFor(20_000);
    const tmp = await tempDir();
    const minor: unknown[] = [];
    const saved = { gc: globalThis.gc, tmpdir: process.env.TMPDIR };
    globalThis.gc = ((options: unknown) => void minor.push(options)) as typeof globalThis.gc;
    process.env.TMPDIR = tmp;
    try {
      const created = await service.create(ask, now());
      expect(minor).toEqual([{ type: "minor" }]);
      expect(fake!.requestedIds()).toHaveLength(20_000);
      const dir = await tempDir();
      const to = { output: join(dir, "out.jsonl"), errors: join(dir, "err.jsonl") };
      const written = await service.results(await lookUntilEnded(service, created.id), to);
      const bytes = (await readFile(to.output)).length;
      expect(written.output?.lines).toBe(20_000);
      expect(minor.length - 1).toBe(Math.floor(bytes / (8 * 1024 * 1024)));
      expect(minor.length - 1).toBeGreaterThan(0);
      expect(readdirSync(tmp).filter((name) => name.startsWith("synthai-anthropic-"))).toEqual([]);
    } finally {
      globalThis.gc = saved.gc;
      if (saved.tmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved.tmpdir;
    }
  });
});

test("a create of 8 MB and more frees what it has read of its body every 8 MB, not only once it is sent", async () => {
  const service = await setUp();
  const long = "a sentence of the prompt, again and again. ".repeat(250); // about 11 KB
  const ask = await askFor(2_000, "run-a", (b) => ({ ...b, messages: [{ role: "user", content: long }] }));
  const minor: unknown[] = [];
  const saved = globalThis.gc;
  globalThis.gc = ((options: unknown) => void minor.push(options)) as typeof globalThis.gc;
  try {
    await service.create(ask, now());
  } finally {
    globalThis.gc = saved;
  }
  expect(fake!.requestedIds()).toHaveLength(2_000);
  // About 22 MB sent: a collection after each 8 MB, and one once it is all sent.
  expect(minor).toEqual([{ type: "minor" }, { type: "minor" }, { type: "minor" }]);
});

describe("a create cut short, found again without metadata", () => {
  const cutCreate = {
    method: "POST",
    path: /^\/v1\/messages\/batches$/,
    status: 529,
    times: 1,
    afterHandling: true,
  };

  test("adopts its own batch once it has ended, and never makes a second", async () => {
    const service = await setUp({ faults: [cutCreate], pollsPerPhase: 2 });
    const ask = await askFor(3);
    const since = now();
    const undecided = await service.create(ask, since).catch((error) => error);
    expect(undecided).toBeInstanceOf(UserError);
    expect(undecided.transient).toBe(true);
    expect(undecided.message).toMatch(/whether it is this run's shows only once it ends/);
    expect(fake!.batchesCreated).toBe(1);
    const id = fake!.batches[0]!.batch.id as string;
    await lookUntilEnded(service, id);
    expect((await service.find(ask, since))?.id).toBe(id);
    expect(fake!.batchesCreated).toBe(1);
  });

  test("refuses another run's batch of the same size, ended or running", async () => {
    const service = await setUp({ pollsPerPhase: 2 });
    const since = now();
    const theirs = await service.create(await askFor(3, "run-b"), since);
    const ours = await askFor(3, "run-a");
    await expect(service.find(ours, since)).rejects.toThrow(/whether it is this run's/);
    await lookUntilEnded(service, theirs.id);
    expect(await service.find(ours, since)).toBeUndefined();
    // Nor one of another size, nor one of the same run's other attempt.
    expect(await service.find({ ...ours, requests: 2 }, since)).toBeUndefined();
    const retry = await askFor(3, "run-b");
    expect(
      await service.find({ ...retry, metadata: { ...retry.metadata, synthai_attempt: "2" } }, since),
    ).toBeUndefined();
    expect((await service.find(retry, since))?.id).toBe(theirs.id);
  });
});

describe("requests refused before sending", () => {
  test("a temperature in a request is refused before the batch is made", async () => {
    const service = await setUp();
    const ask = await askFor(2, "run-a", (body) => ({ ...body, temperature: 0.7 }));
    await expect(service.create(ask, now())).rejects.toThrow(
      /temperature is refused by API version 2026-10-21/,
    );
    expect(fake!.requests.filter((r) => r.method === "POST")).toEqual([]);
  });

  test("an id that cannot fit Anthropic's 64 characters is refused before the batch is made", async () => {
    const service = await setUp();
    const ask = await askFor(
      2,
      "run-a",
      (b) => b,
      (i) => `${"x".repeat(60)}${i}`,
    );
    await expect(service.create(ask, now())).rejects.toThrow(UserError);
    await expect(service.create(ask, now())).rejects.toThrow(/too long for Anthropic's Message Batches/);
    expect(fake!.batchesCreated).toBe(0);
  });
});

describe("every body the Messages endpoint makes, as the fake takes it", () => {
  test("structured output, adaptive thinking at an effort, a thinking budget, thinking off", async () => {
    const service = await setUp();
    const schema = {
      type: "object",
      properties: { call: { type: "string" }, solved: { type: "boolean" } },
      required: ["call", "solved"],
      additionalProperties: false,
    };
    const shapes = [
      { model: "claude-haiku-5-5", maxTokens: 400, schema },
      { model: "claude-sonnet-5-5", maxTokens: 2000, effort: "low" },
      { model: "claude-opus-5-5", maxTokens: 9000, effort: "max" },
      { model: "claude-haiku-4-5", maxTokens: 3000, effort: "high" },
      { model: "claude-haiku-5-5", maxTokens: 400, effort: "none" },
    ];
    for (const options of shapes) {
      const sent = await service.send("/v1/messages", messages.body(PROMPT, options));
      expect(sent.ok, JSON.stringify(sent.ok ? "" : sent.body)).toBe(true);
      if (!sent.ok) continue;
      const answer = messages.read(sent.body);
      if (options.schema) expect(Object.keys(JSON.parse(answer.text!))).toEqual(["call", "solved"]);
      // Thinking is billed as output, within max_tokens.
      expect(answer.reasoningTokens > 0).toBe(Boolean(options.effort && options.effort !== "none"));
      expect(answer.completionTokens).toBeLessThanOrEqual(options.maxTokens);
    }
  });

  test("the model listing, and one model looked up", async () => {
    const service = await setUp();
    expect((await service.models()).map((m) => m.id)).toContain("claude-haiku-5-5");
    expect(await service.model("claude-sonnet-5-5")).toEqual({ id: "claude-sonnet-5-5" });
    expect(await service.model("claude-nine")).toBeUndefined();
  });
});

describe("gc", () => {
  test("finds only ended batches whose ids are synthai's; deletes them unless dry", async () => {
    const service = await setUp({ fast: true });
    const ours = await service.create(await askFor(2), now());
    const params = messages.body(PROMPT, { model: "claude-haiku-5-5", maxTokens: 100 });
    const foreign = await fetch(`${base}/v1/messages/batches`, {
      method: "POST",
      headers: { "x-api-key": KEY, "anthropic-version": "2026-10-21", "content-type": "application/json" },
      body: JSON.stringify({ requests: [{ custom_id: "someone-else-1", params }] }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    expect(await service.gc(true, () => {})).toEqual([ours.id]);
    expect((await service.look([ours.id], 0)).size).toBe(1);
    expect(await service.gc(false, () => {})).toEqual([ours.id]);
    expect((await service.look([ours.id, foreign.id], 0)).has(ours.id)).toBe(false);
    expect((await service.look([foreign.id], 0)).get(foreign.id)?.status).toBe("completed");
  });
});

describe("sent directly, and the key", () => {
  test("an answer, or the service's refusal as a value: not transient, the key never in it", async () => {
    const service = await setUp();
    const body = messages.body(PROMPT, { model: "claude-haiku-5-5", maxTokens: 300 });
    const sent = await service.send("/v1/messages", body);
    expect(sent.ok).toBe(true);
    const refused = await service.send("/v1/messages", { ...body, temperature: 0.5 });
    expect(refused).toMatchObject({ ok: false, status: 400, transient: false });
    if (refused.ok) return;
    expect(refused.body.error.type).toBe("invalid_request_error");
    expect(refused.failure.message).toMatch(/temperature/);
  });

  test("a wrong key is one line that does not show it; no key at all is said before anything is sent", async () => {
    const started = await startFakeAnthropic({ apiKey: "the-right-one" });
    fake = started.fake;
    const wrong = await anthropicService({ apiKey: KEY, baseURL: started.baseURL });
    const failure = await wrong.preflight("batch").catch((error) => error);
    expect(failure).toBeInstanceOf(UserError);
    expect(failure.message).toMatch(/Anthropic refused the key/);
    // A key given with -k is checked there as much as the variable.
    expect(failure.hint).toBe("check the key: -k/--api-key, or $ANTHROPIC_API_KEY");
    expect(`${failure.message} ${failure.hint}`).not.toContain(KEY);
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      expect(() => anthropicService({ baseURL: started.baseURL })).toThrow(/no Anthropic API key/);
      // A run whose main vendor is OpenAI gives its -k to OpenAI only (here it is the fake's key, so
      // it would pass): Claude's stage is made with ANTHROPIC_API_KEY, which the fake refuses.
      const options = serviceOptions(
        "anthropic",
        { apiKey: "the-right-one", baseURL: undefined },
        { vendor: "openai" },
      );
      expect(() => makeService("anthropic", options)).toThrow(/no Anthropic API key/);
      process.env.ANTHROPIC_API_KEY = KEY;
      process.env.ANTHROPIC_BASE_URL = started.baseURL;
      const fromVariables = makeService("anthropic", options);
      expect(fromVariables.vendor).toBe("anthropic");
      await expect(fromVariables.preflight("batch")).rejects.toThrow(/refused the key/);
    } finally {
      delete process.env.ANTHROPIC_BASE_URL;
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved;
    }
  });
});

describe("synthai fake --vendor anthropic", () => {
  test("takes no --profile (those are OpenAI-shaped services): one line, exit 2", async () => {
    const refused = await runCli(["fake", "--vendor", "anthropic", "--profile", "groq", "--port", "0"], {
      cwd: await tempDir(),
    });
    expect(refused.code).toBe(2);
    expectOneLineError(refused.stderr, /--profile plays an OpenAI-shaped service/);
  });

  test("serves the fake Anthropic service at the address it prints, with the key it was given", async () => {
    const child = spawn(process.execPath, [
      ENTRY,
      "fake",
      "--vendor",
      "anthropic",
      "--port",
      "0",
      "--fast",
      "--key",
      KEY,
    ]);
    const url = await new Promise<string>((resolve) =>
      child.stdout.once("data", (d) => resolve(String(d).trim())),
    );
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const service = await anthropicService({ apiKey: KEY, baseURL: url });
      const created = await service.create(await askFor(2), now());
      const ended = (await service.look([created.id], 0)).get(created.id);
      expect(ended).toMatchObject({ status: "completed", counts: { total: 2, completed: 2 } });
    } finally {
      child.kill("SIGTERM");
    }
  });
});
