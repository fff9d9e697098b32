// The OpenAI batch service (src/api/services/openai.ts) against the in-process fake: what the
// pipeline relies on at the seam, without a run around it.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Batch } from "openai/resources/batches";
import { describe, expect, test } from "vitest";
import type { BatchAsk, BatchService, RemoteBatch } from "../src/api/batch-service.ts";
import { makeService, serviceOptions } from "../src/api/services/index.ts";
import { batchStatus, remoteBatch } from "../src/api/services/openai.ts";
import { UserError } from "../src/errors.ts";
import { configOfStage, endpointOf, vendorField, vendorOf } from "../src/run/config.ts";
import type { RunConfig } from "../src/run/manifest.ts";
import type { ProfileName } from "../src/fake/profiles.ts";
import { API_KEY, readJsonlFile, tempDir, useFake } from "./helpers.ts";

const server = useFake();
/** What the services said as warnings. */
const logged: string[] = [];

async function serviceAt(
  profile: ProfileName = "openai",
  options = {},
  provider: string = profile,
): Promise<BatchService> {
  const url = await server.start({ profile, ...options });
  return makeService("openai", { apiKey: API_KEY, baseURL: url, provider, log: (line) => logged.push(line) });
}

/** A request file of `count` chat requests, and the ask for it. */
async function askFor(count: number, attempt = 1): Promise<BatchAsk> {
  const dir = await tempDir();
  const path = join(dir, `c0000-a${attempt}.jsonl`);
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      custom_id: `s${i}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: {
        model: "gpt-6-luna",
        messages: [{ role: "user", content: `Say something about ${i}` }],
        max_completion_tokens: 50,
      },
    }),
  );
  await writeFile(path, `${lines.join("\n")}\n`);
  return {
    path,
    file: `requests/c0000-a${attempt}.jsonl`,
    name: `synthai-test-c0000-a${attempt}.jsonl`,
    url: "/v1/chat/completions",
    model: "gpt-6-luna",
    requests: count,
    metadata: { synthai_run: "test", synthai_chunk: "0", synthai_attempt: String(attempt) },
    window: "24h",
  };
}

const now = () => Math.floor(Date.now() / 1000);

/** Looks until the batch has ended (the fake moves a phase a look). */
async function ended(service: BatchService, id: string): Promise<RemoteBatch> {
  for (;;) {
    const batch = (await service.look([id], 0)).get(id)!;
    if (["completed", "failed", "expired", "cancelled"].includes(batch.status)) return batch;
  }
}

describe("the OpenAI batch service", () => {
  test.each([
    ["openai", "by its metadata"],
    ["together", "by its uploaded file, where batches keep no metadata"],
  ] as const)("%s: a create whose answer was lost is found %s, not made twice", async (profile, _how) => {
    const service = await serviceAt(profile, {
      faults: [{ method: "POST", path: /^\/v1\/batches$/, status: 500, times: 1, afterHandling: true }],
    });
    const ask = await askFor(3);
    ask.fileId = await service.upload(ask, now());
    const batch = await service.create(ask, now());
    expect(server.fake.batches).toHaveLength(1);
    expect(batch.id).toBe(server.fake.batches[0]!.batch.id);
  });

  test("find and findUpload tell this attempt's batch and file from another's", async () => {
    const service = await serviceAt();
    const since = now();
    const ask = await askFor(2, 1);
    ask.fileId = await service.upload(ask, since);
    const made = await service.create(ask, since);
    const other = await askFor(2, 2);
    expect(await service.findUpload(ask, since)).toBe(ask.fileId);
    expect(await service.findUpload(other, since)).toBeUndefined();
    expect((await service.find(ask, since))?.id).toBe(made.id);
    expect(await service.find(other, since)).toBeUndefined();
  });

  test("an optional field the service refuses is told once, and the upload and create go without it", async () => {
    // A server that refuses metadata and expiry outright, reached as OpenAI (which sends both).
    const service = await serviceAt("strict", {}, "openai");
    const ask = await askFor(2);
    const told: string[] = [];
    ask.onRefused = (field) => told.push(field);
    ask.fileId = await service.upload(ask, now());
    await service.create(ask, now());
    expect(told).toEqual(["expiry", "metadata"]);
    expect(server.fake.batches).toHaveLength(1);
  });

  test("results are written in synthai's envelope, whole, with their SHA-256 and lines", async () => {
    const service = await serviceAt("openai", { fast: true, failedRate: 0.5, shortDownloads: 1, seed: 3 });
    const ask = await askFor(10);
    ask.fileId = await service.upload(ask, now());
    const batch = await ended(service, (await service.create(ask, now())).id);
    expect(batch.counts!.completed + batch.counts!.failed).toBe(10);
    expect(batch.counts!.failed).toBeGreaterThan(0);
    const dir = await tempDir();
    const to = { output: join(dir, "results", "out.jsonl"), errors: join(dir, "results", "err.jsonl") };
    const written = await service.results(batch, to);
    // The first download came a line short: it was fetched again, never accepted.
    expect(logged.filter((line) => line.includes("fetching it again"))).toHaveLength(1);
    const output = await readJsonlFile(to.output);
    expect(output).toHaveLength(batch.counts!.completed);
    expect(written.output).toEqual({
      sha256: createHash("sha256")
        .update(await readFile(to.output))
        .digest("hex"),
      lines: batch.counts!.completed,
    });
    for (const line of output) {
      expect(line.custom_id).toMatch(/^s\d$/);
      expect(line.response.status_code).toBe(200);
      expect(line.response.body.choices[0].message.content).toBeTypeOf("string");
    }
    const errors = await readJsonlFile(to.errors);
    expect(errors).toHaveLength(batch.counts!.failed);
    expect(written.errors?.lines).toBe(batch.counts!.failed);
  });

  test("statuses are synthai's words whatever the service says, its own word kept beside", async () => {
    for (const [profile, stored, status, said] of [
      ["cerebras", "validating", "validating", "queued"],
      ["novita", "in_progress", "in_progress", "PROGRESS"],
      ["novita", "completed", "completed", "COMPLETED"],
    ] as const) {
      const service = await serviceAt(profile, { pollsPerPhase: 1_000_000 });
      const ask = await askFor(12);
      ask.fileId = await service.upload(ask, now());
      const made = await service.create(ask, now());
      server.fake.batches[0]!.batch.status = stored;
      const looked = (await service.look([made.id], 0)).get(made.id)!;
      expect([looked.status, looked.said]).toEqual([status, said]);
      await server.fake.stop();
    }
  });

  test("a batch's counts, times, usage and errors are read into one RemoteBatch", () => {
    const batch = {
      id: "batch_1",
      status: "canceled",
      created_at: 100,
      in_progress_at: 110,
      finalizing_at: null,
      cancelled_at: 150,
      expires_at: 200,
      request_counts: { total: 5, completed: 3, failed: 1 },
      usage: {
        input_tokens: 40,
        output_tokens: 20,
        input_tokens_details: { cached_tokens: 8 },
        output_tokens_details: { reasoning_tokens: 4 },
        total_tokens: 60,
      },
      output_file_id: "file_out",
      error_file_id: null,
      errors: { data: [{ line: 2, code: "invalid_model", message: "no such model" }] },
    } as unknown as Batch;
    expect(remoteBatch(batch)).toEqual({
      id: "batch_1",
      status: "cancelled",
      said: "canceled",
      counts: { total: 5, completed: 3, failed: 1 },
      createdAt: 100,
      inProgressAt: 110,
      finishedAt: 150,
      expiresAt: 200,
      usage: { input_tokens: 40, output_tokens: 20, cached_tokens: 8, reasoning_tokens: 4 },
      outputRef: "file_out",
      errors: ["line 2: invalid_model: no such model"],
    });
    expect(
      ["SUCCEEDED", "Failed", "expired", "queued", "PROGRESS", "finalizing", "cancelling"].map(batchStatus),
    ).toEqual(["completed", "failed", "expired", "validating", "in_progress", "finalizing", "cancelling"]);
  });

  test("a request sent directly that the service refuses comes back as a value, not a throw", async () => {
    const service = await serviceAt();
    const sent = await service.send("/v1/chat/completions", {
      model: "gpt-no-such-model",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(sent.ok).toBe(false);
    if (sent.ok) return;
    expect(sent.status).toBe(404);
    expect(sent.transient).toBe(false);
    expect(sent.body.error.message).toContain("gpt-no-such-model");
    const answered = await service.send("/v1/chat/completions", {
      model: "gpt-6-luna",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(answered.ok).toBe(true);
  });

  test("cancel stops a running batch; remove deletes its files; a file already gone is no warning", async () => {
    const service = await serviceAt("openai", { pollsPerPhase: 1_000_000 });
    const ask = await askFor(2);
    ask.fileId = await service.upload(ask, now());
    const made = await service.create(ask, now());
    expect((await service.cancel(made.id))?.status).toBe("cancelling");
    expect(await service.cancel("batch_nope")).toBeUndefined();
    expect(await service.remove([ask.fileId, ask.fileId])).toEqual([]);
    expect(server.fake.files.has(ask.fileId)).toBe(false);
  });
});

describe("the registry of services", () => {
  test("a vendor without its service yet is one line, before anything is sent", () => {
    expect(() => makeService("anthropic", {})).toThrow(UserError);
  });

  test("-k and --base-url go to --provider's vendor only: another vendor reads its own variables", () => {
    const connection = { apiKey: "sk-flag", baseURL: "http://flag" };
    expect(serviceOptions("openai", connection, { provider: "groq" })).toMatchObject({
      apiKey: "sk-flag",
      baseURL: "http://flag",
      provider: "groq",
    });
    // A first stage on Claude does not take an OpenAI run's -k to Anthropic.
    expect(serviceOptions("anthropic", connection, { vendor: "anthropic" })).toEqual({});
    const other = serviceOptions("openai", connection, { provider: "anthropic", baseURL: "http://run" });
    expect(other).not.toHaveProperty("apiKey");
    expect(other).not.toHaveProperty("baseURL");
    expect(serviceOptions("anthropic", connection, { provider: "anthropic" })).toMatchObject({
      apiKey: "sk-flag",
      baseURL: "http://flag",
    });
  });

  test("a missing key is refused when the service is made, naming the preset's variable", () => {
    const saved = process.env.GROQ_API_KEY;
    delete process.env.GROQ_API_KEY;
    try {
      expect(() => makeService("openai", { provider: "groq" })).toThrow(
        expect.objectContaining({
          message: "no Groq API key",
          hint: expect.stringContaining("GROQ_API_KEY"),
        }),
      );
    } finally {
      if (saved !== undefined) process.env.GROQ_API_KEY = saved;
    }
  });
});

describe("a stage's vendor", () => {
  const price = { input: 1, output: 1 };
  const config = {
    model: "gpt-6-luna",
    maxTokens: 100,
    price,
    endpoint: "responses",
    stages: [
      { model: "claude-haiku-5-5", vendor: "anthropic", maxTokens: 50, price },
      { model: "gpt-6.1-terra", maxTokens: 50, price },
    ],
  } as unknown as RunConfig;

  test("is the stage's own, else OpenAI; a record says it only where it is not OpenAI", () => {
    expect([1, 2, 3].map((stage) => vendorOf(config, stage))).toEqual(["openai", "anthropic", "openai"]);
    expect([1, 2, 3].map((stage) => vendorField(config, stage))).toEqual([{}, { vendor: "anthropic" }, {}]);
    expect(configOfStage(config, 2).vendor).toBe("anthropic");
    expect(configOfStage(config, 3)).not.toHaveProperty("vendor");
  });

  test("an OpenAI stage is written and read with the run's --endpoint", () => {
    expect(endpointOf(config, 1).url).toBe("/v1/responses");
    expect(endpointOf(config, 3).url).toBe("/v1/responses");
  });
});
