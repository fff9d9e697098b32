import { ApiError } from "@google/genai";
import { describe, expect, test } from "vitest";
import { VENDOR_ENDPOINTS } from "../src/api/endpoints/index.ts";
import { endpointOf } from "../src/run/config.ts";
import type { RunConfig } from "../src/run/manifest.ts";
import { gemini } from "../src/api/endpoints/gemini.ts";
import { geminiFailure, googleFailure } from "../src/api/services/gemini-failure.ts";
import { fromGeminiLine, toGeminiLine } from "../src/api/services/gemini-lines.ts";
import { UserError } from "../src/errors.ts";

const messages = [
  { role: "system" as const, content: "You write calls." },
  { role: "user" as const, content: "[Call]" },
  { role: "assistant" as const, content: "Hello?" },
  { role: "user" as const, content: "[Summary]" },
];

describe("the Gemini endpoint", () => {
  test("is Gemini's endpoint, whatever --endpoint says (that choice is OpenAI's)", () => {
    expect(VENDOR_ENDPOINTS.gemini(undefined)).toBe(gemini);
    expect(VENDOR_ENDPOINTS.gemini("responses")).toBe(gemini);
    const config = {
      model: "gpt-6-luna",
      maxTokens: 50,
      endpoint: "responses",
      stages: [{ model: "gemini-3-flash", vendor: "gemini", maxTokens: 50 }],
    } as unknown as RunConfig;
    expect(endpointOf(config, 2)).toBe(gemini);
    expect(endpointOf(config, 1).url).toBe("/v1/responses");
  });

  test("system messages become systemInstruction, the rest contents with roles user and model", () => {
    const body = gemini.body(messages, { model: "gemini-3-flash", maxTokens: 900, temperature: 0.7 });
    expect(body).toEqual({
      model: "gemini-3-flash",
      systemInstruction: { parts: [{ text: "You write calls." }] },
      contents: [
        { role: "user", parts: [{ text: "[Call]" }] },
        { role: "model", parts: [{ text: "Hello?" }] },
        { role: "user", parts: [{ text: "[Summary]" }] },
      ],
      generationConfig: { maxOutputTokens: 900, temperature: 0.7 },
    });
    expect(gemini.prompt(body)).toEqual({ messages, schema: undefined });
  });

  test("structured output asks for JSON with the schema; effort becomes the thinking setting", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const body = gemini.body(messages.slice(1, 2), { model: "m", maxTokens: 50, schema, effort: "low" });
    expect(body.generationConfig).toEqual({
      maxOutputTokens: 50,
      responseMimeType: "application/json",
      responseJsonSchema: schema,
      thinkingConfig: { thinkingLevel: "LOW" },
    });
    expect(
      gemini.body(messages, { model: "m", maxTokens: 5, effort: "none" }).generationConfig.thinkingConfig,
    ).toEqual({ thinkingBudget: 0 });
    expect(gemini.prompt(body).schema).toBe(schema);
    // Gemini 2.5 takes a budget of thinking tokens, not a level.
    const older = gemini.body(messages, { model: "gemini-2.5-flash", maxTokens: 5, effort: "low" });
    expect(older.generationConfig.thinkingConfig).toEqual({ thinkingBudget: 1024 });
  });

  test("an answer's text, why it ended and its tokens, thoughts and cached ones included", () => {
    const answer = gemini.read({
      modelVersion: "gemini-3-flash",
      candidates: [
        {
          content: {
            role: "model",
            parts: [{ text: "thinking…", thought: true }, { text: "[Call]\n" }, { text: "hi" }],
          },
          finishReason: "MAX_TOKENS",
        },
      ],
      usageMetadata: {
        promptTokenCount: 40,
        candidatesTokenCount: 12,
        thoughtsTokenCount: 30,
        cachedContentTokenCount: 8,
      },
    });
    expect(answer).toEqual({
      text: "[Call]\nhi",
      finish: "length",
      model: "gemini-3-flash",
      promptTokens: 40,
      completionTokens: 42,
      cachedTokens: 8,
      reasoningTokens: 30,
      serviceTier: undefined,
    });
    expect(gemini.read({ candidates: [{ finishReason: "SAFETY" }] })).toMatchObject({
      text: undefined,
      finish: "content_filter",
    });
    expect(
      gemini.read({ candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }] }).finish,
    ).toBe("stop");
    expect(gemini.read({ promptFeedback: { blockReason: "OTHER" } }).finish).toBe("content_filter");
  });

  test("its limits are Gemini's: temperature 0 to 2, at least one output token", () => {
    expect(gemini.limits).toEqual({
      maxTokens: { name: "maxOutputTokens", min: 1, at: ["generationConfig", "maxOutputTokens"] },
      temperature: { min: 0, max: 2 },
    });
  });
});

describe("Gemini batch lines", () => {
  test("a request line becomes {key, request}, without the model the job names", () => {
    const line = JSON.stringify({
      custom_id: "s1-r0",
      method: "POST",
      url: gemini.url,
      body: { model: "gemini-3-flash", contents: [{ role: "user", parts: [{ text: "x" }] }] },
    });
    expect(JSON.parse(toGeminiLine(line, "gemini/gemini-3-flash"))).toEqual({
      key: "s1-r0",
      request: { contents: [{ role: "user", parts: [{ text: "x" }] }] },
    });
    expect(() => toGeminiLine(line, "gemini-3-pro")).toThrow(
      "a request for gemini-3-flash in a job for gemini-3-pro",
    );
    expect(() => toGeminiLine('{"body": {}}', "gemini-3-pro")).toThrow("not a request line");
  });

  test("a response is an answer by key; a status an error whose HTTP code says whether to retry", () => {
    const response = { candidates: [{ content: { parts: [{ text: "a" }] }, finishReason: "STOP" }] };
    expect(JSON.parse(fromGeminiLine(JSON.stringify({ key: "k1", response }))!.line)).toEqual({
      custom_id: "k1",
      response: { status_code: 200, body: response },
      error: null,
    });
    const refused = fromGeminiLine(
      JSON.stringify({ key: "k2", error: { code: 3, message: "bad temperature" } }),
    )!;
    expect(refused.to).toBe("errors");
    expect(JSON.parse(refused.line)).toEqual({
      custom_id: "k2",
      response: {
        status_code: 400,
        body: { error: { code: 400, message: "bad temperature", status: "INVALID_ARGUMENT" } },
      },
      error: { code: "INVALID_ARGUMENT", message: "bad temperature" },
    });
    const busy = JSON.parse(
      fromGeminiLine(JSON.stringify({ key: "k3", status: { code: 14, message: "later" } }))!.line,
    );
    expect(busy.response.status_code).toBe(503);
    expect(fromGeminiLine('{"key": "k4", "respo')).toBeUndefined();
  });
});

describe("Gemini failures", () => {
  const where = { key: "AIzaSyTHE-SECRET-KEY-0123456789abcdefghij", baseUrl: "http://127.0.0.1:1" };
  const apiError = (status: number, body: unknown) => new ApiError({ status, message: JSON.stringify(body) });

  test("a wrong key (Google answers 400 API_KEY_INVALID) is one line naming the variable, not the key", () => {
    const error = apiError(400, {
      error: {
        code: 400,
        message: `API key not valid: ${where.key}`,
        status: "INVALID_ARGUMENT",
        details: [{ reason: "API_KEY_INVALID" }],
      },
    });
    const failure = geminiFailure(error, "checking the connection", where) as UserError;
    expect(failure).toBeInstanceOf(UserError);
    expect(failure.toLine()).toMatch(/refused the key.* — check the key: -k\/--api-key, or \$GEMINI_API_KEY/);
    expect(failure.toLine()).not.toContain("SECRET");
    expect(failure.transient).toBe(false);
  });

  test("429 and 5xx are transient; another 4xx is the request's fault, said with Google's status", () => {
    const busy = geminiFailure(
      apiError(503, { error: { code: 503, message: "overloaded", status: "UNAVAILABLE" } }),
      "x",
      where,
    );
    expect((busy as UserError).transient).toBe(true);
    const quota = geminiFailure(
      apiError(429, { error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" } }),
      "x",
      where,
    );
    expect((quota as UserError).transient).toBe(true);
    const refused = geminiFailure(
      apiError(400, { error: { code: 400, message: `bad ${where.key}`, status: "INVALID_ARGUMENT" } }),
      "creating the batch",
      where,
    ) as UserError;
    expect(refused.transient).toBe(false);
    expect(refused.message).toBe("Gemini refused creating the batch (400 INVALID_ARGUMENT: bad ***)");
    expect(googleFailure(new Error("not the service's"))).toBeUndefined();
    const bug = new RangeError("ours");
    expect(geminiFailure(bug, "x", where)).toBe(bug);
  });
});
