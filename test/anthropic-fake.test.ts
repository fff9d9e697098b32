// The fake Anthropic service, over HTTP as any client meets it: what it refuses, in Anthropic's
// error shape and status, and how a batch lives (docs: ../shared/vendors/VENDORS-2026-12.md).
import { afterEach, describe, expect, test } from "vitest";
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicOptions } from "../src/fake/anthropic.ts";

const KEY = "test-key";
let fake: FakeAnthropic | undefined;
let base = "";

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function start(options: FakeAnthropicOptions = {}) {
  ({ fake, baseURL: base } = await startFakeAnthropic({ apiKey: KEY, ...options }));
}

const HEADERS = { "x-api-key": KEY, "anthropic-version": "2026-10-21", "content-type": "application/json" };

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = HEADERS) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const json = response.headers.get("content-type") === "application/json";
  return { status: response.status, body: json ? JSON.parse(text) : text };
}

const params = (over: Record<string, unknown> = {}) => ({
  model: "claude-haiku-5-5",
  max_tokens: 400,
  system: "You write calls.",
  messages: [{ role: "user", content: "Write it as:\n[Call]\n...\n[Summary]\n..." }],
  ...over,
});

const requests = (n: number, over: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ custom_id: `r-${i}`, params: params(over) }));

describe("the fake Anthropic service refuses what the service refuses", () => {
  test("no x-api-key, a wrong one, no anthropic-version", async () => {
    await start();
    const { "x-api-key": _, ...noKey } = HEADERS;
    expect(await call("POST", "/v1/messages", params(), noKey)).toEqual({
      status: 401,
      body: {
        type: "error",
        error: { type: "authentication_error", message: "x-api-key header is required" },
      },
    });
    expect((await call("POST", "/v1/messages", params(), { ...HEADERS, "x-api-key": "nope" })).status).toBe(
      401,
    );
    const { "anthropic-version": __, ...noVersion } = HEADERS;
    const refused = await call("POST", "/v1/messages", params(), noVersion);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toEqual({
      type: "invalid_request_error",
      message: "anthropic-version: header is required",
    });
  });

  test("direct: temperature, top_p, top_k under 2026-10-21, even at their defaults; taken under 2023-06-01", async () => {
    await start();
    for (const field of ["temperature", "top_p", "top_k"]) {
      const refused = await call("POST", "/v1/messages", params({ [field]: 1 }));
      expect(refused.status).toBe(400);
      expect(refused.body.error.type).toBe("invalid_request_error");
      expect(refused.body.error.message).toMatch(
        new RegExp(`^${field}: is not supported in API version 2026-10-21`),
      );
    }
    const old = await call("POST", "/v1/messages", params({ temperature: 1 }), {
      ...HEADERS,
      "anthropic-version": "2023-06-01",
    });
    expect(old.status).toBe(200);
  });

  test("an unknown model is not_found_error; a system role, a missing max_tokens, an extra field are 400", async () => {
    await start();
    expect(await call("POST", "/v1/messages", params({ model: "claude-nine" }))).toEqual({
      status: 404,
      body: { type: "error", error: { type: "not_found_error", message: "model: claude-nine" } },
    });
    const system = await call(
      "POST",
      "/v1/messages",
      params({ messages: [{ role: "system", content: "x" }] }),
    );
    expect(system.body.error.message).toMatch(/top-level `system` parameter/);
    const { max_tokens: _, ...noMax } = params();
    expect((await call("POST", "/v1/messages", noMax)).body.error.message).toBe("max_tokens: Field required");
    const extra = await call("POST", "/v1/messages", params({ max_completion_tokens: 9 }));
    expect(extra.body.error.message).toBe("max_completion_tokens: Extra inputs are not permitted");
    const format = { format: { type: "json_schema", schema: { type: "object" } } };
    const old = await call(
      "POST",
      "/v1/messages",
      params({ model: "claude-opus-4-1", output_config: format }),
    );
    expect(old.body.error.message).toMatch(/structured outputs are not supported/);
  });

  test("a batch: custom ids of [a-zA-Z0-9_-]{1,64}, unique, at most its limit of requests and bytes", async () => {
    await start({ maxRequests: 3, maxBytes: 4000 });
    const bad = await call("POST", "/v1/messages/batches", {
      requests: [{ custom_id: "a.b", params: params() }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/requests\.0\.custom_id: String should match pattern/);
    const long = await call("POST", "/v1/messages/batches", {
      requests: [{ custom_id: "x".repeat(65), params: params() }],
    });
    expect(long.status).toBe(400);
    const twice = [...requests(1), ...requests(1)];
    expect((await call("POST", "/v1/messages/batches", { requests: twice })).body.error.message).toMatch(
      /unique/,
    );
    expect(
      (await call("POST", "/v1/messages/batches", { requests: requests(4) })).body.error.message,
    ).toMatch(/at most 3 items/);
    const big = [{ custom_id: "big", params: params({ system: "x".repeat(5000) }) }];
    const tooBig = await call("POST", "/v1/messages/batches", { requests: big });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.type).toBe("request_too_large");
    expect(fake!.batchesCreated).toBe(0);
  });
});

describe("a batch's life in the fake", () => {
  test("counts but processing stay 0 until it ends; params are checked only then; results in no set order", async () => {
    await start({ pollsPerPhase: 2 });
    const sent = [...requests(6), { custom_id: "hot", params: params({ temperature: 0.2 }) }];
    const created = await call("POST", "/v1/messages/batches", { requests: sent });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      type: "message_batch",
      processing_status: "in_progress",
      request_counts: { processing: 7, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      results_url: null,
    });
    expect(Object.keys(created.body)).not.toContain("metadata");
    const id = created.body.id;
    const first = await call("GET", `/v1/messages/batches/${id}`);
    expect(first.body.request_counts).toEqual({
      processing: 7,
      succeeded: 0,
      errored: 0,
      canceled: 0,
      expired: 0,
    });
    expect((await call("GET", `/v1/messages/batches/${id}/results`)).status).toBe(400);
    const ended = await call("GET", `/v1/messages/batches/${id}`);
    expect(ended.body).toMatchObject({
      processing_status: "ended",
      request_counts: { processing: 0, succeeded: 6, errored: 1, canceled: 0, expired: 0 },
      results_url: `${base}/v1/messages/batches/${id}/results`,
    });
    const lines = String((await call("GET", `/v1/messages/batches/${id}/results`)).body)
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.custom_id).sort()).toEqual(sent.map((r) => r.custom_id).sort());
    expect(lines.map((l) => l.custom_id)).not.toEqual(sent.map((r) => r.custom_id));
    const hot = lines.find((l) => l.custom_id === "hot");
    expect(hot.result).toMatchObject({
      type: "errored",
      error: { type: "error", error: { type: "invalid_request_error" } },
    });
    const ok = lines.find((l) => l.custom_id === "r-0").result;
    expect(ok.type).toBe("succeeded");
    expect(ok.message.content.at(-1).text).toMatch(/\[Call\][\s\S]*\[Summary\]/);
    expect(ok.message.usage).toMatchObject({
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: "batch",
    });
  });

  test("listing is newest first with before_id, after_id, limit, has_more, first_id, last_id", async () => {
    await start();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await call("POST", "/v1/messages/batches", { requests: requests(1) })).body.id);
    const page = await call("GET", "/v1/messages/batches?limit=2");
    expect(page.body).toMatchObject({ has_more: true, first_id: ids[2], last_id: ids[1] });
    expect(page.body.data.map((b: { id: string }) => b.id)).toEqual([ids[2], ids[1]]);
    const older = await call("GET", `/v1/messages/batches?limit=2&after_id=${ids[1]}`);
    expect(older.body).toMatchObject({ has_more: false, first_id: ids[0], last_id: ids[0] });
    const newer = await call("GET", `/v1/messages/batches?limit=2&before_id=${ids[0]}`);
    expect(newer.body.data.map((b: { id: string }) => b.id)).toEqual([ids[2], ids[1]]);
  });

  test("delete only once ended; cancel leaves some requests canceled", async () => {
    await start({ pollsPerPhase: 5 });
    const id = (await call("POST", "/v1/messages/batches", { requests: requests(4) })).body.id;
    const early = await call("DELETE", `/v1/messages/batches/${id}`);
    expect(early.status).toBe(400);
    expect((await call("POST", `/v1/messages/batches/${id}/cancel`)).body.processing_status).toBe(
      "canceling",
    );
    const ended = await call("GET", `/v1/messages/batches/${id}`);
    expect(ended.body.request_counts).toMatchObject({ succeeded: 2, canceled: 2 });
    expect(await call("DELETE", `/v1/messages/batches/${id}`)).toEqual({
      status: 200,
      body: { id, type: "message_batch_deleted" },
    });
    expect((await call("GET", `/v1/messages/batches/${id}`)).status).toBe(404);
  });

  test("a prompt marked for caching is written to the cache once, then read from it", async () => {
    await start();
    const long = params({
      system: [{ type: "text", text: "rule ".repeat(1200), cache_control: { type: "ephemeral" } }],
    });
    const first = await call("POST", "/v1/messages", long);
    const second = await call("POST", "/v1/messages", long);
    expect(first.body.usage.cache_creation_input_tokens).toBe(1500);
    expect(first.body.usage.cache_read_input_tokens).toBe(0);
    expect(second.body.usage).toMatchObject({
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 1500,
    });
    expect(second.body.usage.input_tokens).toBe(first.body.usage.input_tokens);
    expect(fake!.directUsage).toHaveLength(2);
  });

  test("a cache write is billed at the lifetime its mark asks for: 5 minutes unless ttl is 1h", async () => {
    await start();
    const marked = (text: string, ttl?: string) =>
      params({
        system: [{ type: "text", text, cache_control: { type: "ephemeral", ...(ttl ? { ttl } : {}) } }],
      });
    const hour = await call("POST", "/v1/messages", marked("hour ".repeat(1200), "1h"));
    const minutes = await call("POST", "/v1/messages", marked("five ".repeat(1200)));
    expect(hour.body.usage.cache_creation).toEqual({
      ephemeral_5m_input_tokens: 0,
      ephemeral_1h_input_tokens: 1500,
    });
    expect(minutes.body.usage.cache_creation).toEqual({
      ephemeral_5m_input_tokens: 1500,
      ephemeral_1h_input_tokens: 0,
    });
  });

  test("--malformed-rate: an answer missing its last [Section], as the OpenAI fake writes them", async () => {
    await start({ malformedRate: 1 });
    const answer = await call("POST", "/v1/messages", params());
    const text = answer.body.content.at(-1).text;
    expect(text).toMatch(/\[Call\]/);
    expect(text).not.toMatch(/\[Summary\]/);
  });

  test("a 529 fault answers overloaded_error", async () => {
    await start({ faults: [{ method: "POST", path: /^\/v1\/messages$/, status: 529, times: 1 }] });
    expect(await call("POST", "/v1/messages", params())).toEqual({
      status: 529,
      body: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    });
    expect((await call("POST", "/v1/messages", params())).status).toBe(200);
  });
});
