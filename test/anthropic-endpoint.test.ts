import { describe, expect, test } from "vitest";
import { ENDPOINTS, VENDOR_ENDPOINTS } from "../src/api/endpoints/index.ts";
import {
  checkMessagesOptions,
  checkMessagesRequest,
  messages,
  requestRefusal,
  temperatureNotice,
  type MessagesBody,
} from "../src/api/endpoints/messages.ts";
import { askPrefix, fromClaudeId, toClaudeId } from "../src/api/services/anthropic-ids.ts";
import { envelopeOf, toRemote } from "../src/api/services/anthropic-shapes.ts";
import { MODELS, modelInfo } from "../src/api/models.ts";
import { priceFor } from "../src/api/pricing.ts";
import { UserError } from "../src/errors.ts";
import { claudeError } from "../src/fake/anthropic-models.ts";
import { ANTHROPIC_ERROR_STATUS } from "../src/wire/anthropic-errors.ts";

const prompt = [
  { role: "system" as const, content: "You write calls." },
  { role: "user" as const, content: "[Call]\n[Summary]" },
];

describe("the Messages endpoint's body", () => {
  test("is Anthropic's endpoint, not a choice of --endpoint (those are OpenAI's)", () => {
    expect(Object.keys(ENDPOINTS)).toEqual(["chat", "responses"]);
    expect(VENDOR_ENDPOINTS.anthropic(undefined)).toBe(messages);
    expect(VENDOR_ENDPOINTS.anthropic("responses")).toBe(messages);
  });

  test("system messages become `system`, max_tokens is always set, a temperature is never sent", () => {
    const body = messages.body(prompt, { model: "claude-haiku-5-5", maxTokens: 300, temperature: 0.7 });
    expect(body).toEqual({
      model: "claude-haiku-5-5",
      max_tokens: 300,
      system: "You write calls.",
      messages: [{ role: "user", content: "[Call]\n[Summary]" }],
    });
  });

  test("a system prompt long enough for the model's cache is marked for the hour-long cache; a short one is not", () => {
    const rubric = "Score 5 only when the call and its summary agree. ".repeat(80);
    const long = [{ role: "system" as const, content: rubric }, prompt[1]!];
    const body = messages.body(long, { model: "claude-sonnet-5-5", maxTokens: 300 });
    expect(body.system).toEqual([
      { type: "text", text: rubric, cache_control: { type: "ephemeral", ttl: "1h" } },
    ]);
    expect(messages.prompt(body).messages).toEqual(long);
    expect(requestRefusal({ custom_id: "a", body })).toBeUndefined();
    // Haiku 4.5 caches from 4,096 tokens: the same rubric is too short for it.
    expect(messages.body(long, { model: "claude-haiku-4-5", maxTokens: 300 }).system).toBe(rubric);
    expect(messages.body(prompt, { model: "claude-sonnet-5-5", maxTokens: 300 }).system).toBe(
      "You write calls.",
    );
  });

  test("a schema is output_config.format; an effort is adaptive thinking at that effort", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
    const body = messages.body(prompt, {
      model: "anthropic/claude-sonnet-5-5",
      maxTokens: 2000,
      effort: "minimal",
      schema,
    });
    expect(body.model).toBe("claude-sonnet-5-5");
    expect(body.thinking).toEqual({ type: "adaptive" });
    expect(body.output_config).toEqual({ effort: "low", format: { type: "json_schema", schema } });
    expect(messages.prompt(body)).toEqual({ messages: prompt, schema });
  });

  test("an older model thinks in a budget under max_tokens; effort none turns thinking off", () => {
    const budget = messages.body(prompt, { model: "claude-haiku-4-5", maxTokens: 5000, effort: "medium" });
    expect(budget.thinking).toEqual({ type: "enabled", budget_tokens: 4999 });
    expect(budget.output_config).toBeUndefined();
    const off = messages.body(prompt, { model: "claude-haiku-5-5", maxTokens: 100, effort: "none" });
    expect(off.thinking).toEqual({ type: "disabled" });
  });
});

describe("the Messages endpoint's answer", () => {
  const answer = (stop_reason: string) => ({
    model: "claude-haiku-5-5",
    stop_reason,
    content: [
      { type: "thinking", thinking: "hm", signature: "s" },
      { type: "text", text: "[Call]\nHello" },
      { type: "text", text: " there" },
    ],
    usage: {
      input_tokens: 10,
      output_tokens: 40,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 1500,
      output_tokens_details: { thinking_tokens: 12 },
      service_tier: "batch",
    },
  });

  test("reads the text blocks, and the prompt as input plus cache reads and writes", () => {
    expect(messages.read(answer("end_turn"))).toEqual({
      text: "[Call]\nHello there",
      finish: "stop",
      model: "claude-haiku-5-5",
      promptTokens: 3510,
      completionTokens: 40,
      cachedTokens: 1500,
      cacheWriteTokens: 2000,
      reasoningTokens: 12,
      serviceTier: "batch",
    });
  });

  test("stop reasons in the other endpoints' words", () => {
    expect(messages.read(answer("max_tokens")).finish).toBe("length");
    expect(messages.read(answer("refusal")).finish).toBe("content_filter");
    expect(messages.read(answer("stop_sequence")).finish).toBe("stop");
    expect(messages.read({ content: [] }).text).toBeUndefined();
  });
});

describe("what is said and refused before sending", () => {
  test("a temperature the user set is one line saying it is not sent", () => {
    expect(temperatureNotice("anthropic/claude-haiku-5-5", undefined)).toBeUndefined();
    expect(temperatureNotice("anthropic/claude-haiku-5-5", 0.7)).toBe(
      "temperature 0.7 is not sent to claude-haiku-5-5: Anthropic's API (2026-10-21) refuses " +
        "temperature, top_p and top_k; the model samples as it does by default",
    );
  });

  const body = (over: Partial<MessagesBody> = {}): MessagesBody => ({
    model: "claude-haiku-5-5",
    max_tokens: 100,
    messages: [{ role: "user", content: "hi" }],
    ...over,
  });

  test("what the service would refuse only when the batch ends", () => {
    expect(requestRefusal({ custom_id: "a-1", body: body() })).toBeUndefined();
    expect(requestRefusal({ custom_id: "a.1", body: body() })).toMatch(/custom_id "a.1"/);
    expect(requestRefusal({ custom_id: "x".repeat(65), body: body() })).toMatch(/custom_id/);
    expect(requestRefusal({ custom_id: "a", body: body({ max_tokens: 0 }) })).toBe("max_tokens 0 is below 1");
    expect(requestRefusal({ custom_id: "a", body: body({ model: "claude-9" }) })).toMatch(/model claude-9/);
    expect(requestRefusal({ custom_id: "a", body: body({ max_tokens: 70_000 }) })).toMatch(/above/);
    const turns = (...roles: ("user" | "assistant")[]) => roles.map((role) => ({ role, content: "x" }));
    expect(requestRefusal({ custom_id: "a", body: body({ messages: turns("assistant", "user") }) })).toMatch(
      /alternate/,
    );
    expect(requestRefusal({ custom_id: "a", body: body({ messages: turns("user", "user") }) })).toMatch(
      /alternate/,
    );
    expect(requestRefusal({ custom_id: "a", body: body({ messages: turns("user", "assistant") }) })).toMatch(
      /last message/,
    );
    const hot = { ...body(), temperature: 1 } as MessagesBody;
    expect(requestRefusal({ custom_id: "a", body: hot })).toBe(
      "temperature is refused by API version 2026-10-21",
    );
    expect(() => checkMessagesRequest({ custom_id: "a", body: hot })).toThrow(UserError);
  });

  test("a run's settings a model cannot take, in one line before anything is built", () => {
    const schema = { type: "object" };
    expect(() => checkMessagesOptions({ model: "claude-opus-4-1", maxTokens: 100, schema })).toThrow(
      /does not take structured output/,
    );
    expect(() => checkMessagesOptions({ model: "claude-nine", maxTokens: 100 })).toThrow(
      /not a Claude model synthai knows/,
    );
    expect(() => checkMessagesOptions({ model: "claude-haiku-4-5", maxTokens: 800, effort: "low" })).toThrow(
      /thinking needs max_tokens above its budget/,
    );
    expect(() =>
      checkMessagesOptions({ model: "anthropic/claude-haiku-5-5", maxTokens: 800, schema }),
    ).not.toThrow();
  });
});

describe("custom ids that prove the run", () => {
  const ask = (attempt: string) => ({
    name: `run-c0000-a${attempt}.jsonl`,
    metadata: { synthai_run: "r1", synthai_chunk: "0", synthai_attempt: attempt },
  });

  test("a prefix per run, stage, chunk and attempt; synthai's id back from the batch's", () => {
    const prefix = askPrefix(ask("1"));
    expect(prefix).toMatch(/^[0-9a-f]{16}$/);
    expect(askPrefix(ask("1"))).toBe(prefix);
    expect(askPrefix(ask("2"))).not.toBe(prefix);
    expect(toClaudeId(prefix, "000042")).toBe(`${prefix}-000042`);
    expect(fromClaudeId(`${prefix}-000042`)).toEqual({ prefix, id: "000042" });
    const odd = toClaudeId(prefix, "row 7/ü");
    expect(odd).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(fromClaudeId(odd)).toEqual({ prefix, id: "row 7/ü" });
    expect(fromClaudeId("not-ours")).toBeUndefined();
  });

  test("an id too long for 64 characters with the prefix is refused in one line", () => {
    expect(() => toClaudeId(askPrefix(ask("1")), "x".repeat(48))).toThrow(UserError);
    expect(toClaudeId(askPrefix(ask("1")), "x".repeat(47))).toHaveLength(64);
  });
});

describe("a batch and its results in synthai's words", () => {
  const batch = (over: Record<string, unknown>) =>
    ({
      id: "msgbatch_1",
      type: "message_batch",
      processing_status: "in_progress",
      request_counts: { processing: 4, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      created_at: "2026-12-07T08:00:00Z",
      expires_at: "2026-12-08T08:00:00Z",
      ended_at: null,
      cancel_initiated_at: null,
      archived_at: null,
      results_url: null,
      ...over,
    }) as never;

  test("counts are unknown until the batch ends, the service's word kept", () => {
    const running = toRemote(batch({}));
    expect(running).toMatchObject({ status: "in_progress", said: "in_progress", createdAt: 1796630400 });
    expect(running.counts).toBeUndefined();
    const ended = toRemote(
      batch({
        processing_status: "ended",
        request_counts: { processing: 0, succeeded: 2, errored: 1, canceled: 0, expired: 1 },
        ended_at: "2026-12-07T08:30:00Z",
        results_url: "http://x/v1/messages/batches/msgbatch_1/results",
      }),
    );
    expect(ended).toMatchObject({
      status: "completed",
      said: "ended",
      counts: { total: 4, completed: 2, failed: 2 },
    });
    expect(
      toRemote(batch({ processing_status: "canceling", cancel_initiated_at: "2026-12-07T08:01:00Z" })).status,
    ).toBe("cancelling");
  });

  test("errored results are filed by their type's status: overloaded is asked again, a refusal is not", () => {
    const id = `${"a".repeat(16)}-000001`;
    const errored = (type: string) =>
      envelopeOf({
        custom_id: id,
        result: { type: "errored", error: { type: "error", error: { type, message: "m" } } },
      } as never);
    expect(errored("overloaded_error")).toEqual({
      kind: "errors",
      value: {
        custom_id: "000001",
        response: {
          status_code: 529,
          body: { error: { type: "overloaded_error", code: "overloaded_error", message: "m" } },
        },
        error: null,
      },
    });
    expect((errored("invalid_request_error").value.response as { status_code: number }).status_code).toBe(
      400,
    );
    expect(envelopeOf({ custom_id: id, result: { type: "canceled" } }).value.error).toMatchObject({
      code: "batch_cancelled",
    });
    expect(envelopeOf({ custom_id: id, result: { type: "expired" } }).value.error).toMatchObject({
      code: "batch_expired",
    });
  });
});

describe("what each Claude model takes is the catalogue's", () => {
  const claude = Object.keys(MODELS).filter((id) => MODELS[id]!.vendor === "anthropic");

  test("every Claude model the endpoint takes is priced, and its longest answer is the catalogue's", () => {
    expect(claude).toEqual(expect.arrayContaining(["claude-haiku-4-5", "claude-opus-4-1"]));
    for (const model of claude) {
      expect(() => checkMessagesOptions({ model, maxTokens: 1000 }), model).not.toThrow();
      expect(priceFor(model, "batch").input, model).toBeGreaterThan(0);
      const maxOutput = modelInfo(model)!.maxOutput!;
      const body = messages.body(prompt, { model, maxTokens: maxOutput + 1 });
      expect(requestRefusal({ custom_id: "a", body }), model).toMatch(/max_tokens .* is above/);
    }
  });
});

test("an error type's status is one table: the fake answers with it and synthai files an errored result under it", () => {
  for (const [type, status] of Object.entries(ANTHROPIC_ERROR_STATUS)) {
    const answered = claudeError(type, "said");
    expect(answered.status).toBe(status);
    const filed = envelopeOf({ custom_id: "x", result: { type: "errored", error: answered.body } } as any);
    expect(filed.value.response).toMatchObject({ status_code: status });
  }
});
