/**
 * The fake Gemini's models and what it refuses in a GenerateContentRequest, as
 * ai.google.dev/api/generate-content and the thinking and structured-output guides describe them
 * (read 2026-12-07). Answers are made by the OpenAI fake's model (server.ts `complete`), so
 * `[Call] … [Summary] …` prompts get the same parseable answers whatever the vendor; this file
 * only translates a Gemini request to it and its answer back.
 */
import type { FakeModel } from "./models.ts";

export interface GeminiFakeModel {
  id: string;
  /** How it takes a thinking setting: a level (Gemini 3), a budget (Gemini 2.5). */
  thinks: "level" | "budget";
  inputTokenLimit: number;
  outputTokenLimit: number;
}

export const GEMINI_FAKE_MODELS: GeminiFakeModel[] = [
  { id: "gemini-3-pro", thinks: "level", inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: "gemini-3-flash", thinks: "level", inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: "gemini-3-flash-lite", thinks: "level", inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: "gemini-2.5-pro", thinks: "budget", inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: "gemini-2.5-flash", thinks: "budget", inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
  { id: "gemini-2.5-flash-lite", thinks: "budget", inputTokenLimit: 1_048_576, outputTokenLimit: 65_536 },
];

/** The OpenAI fake's view of them: every one thinks, Gemini 3 at "high" unless told, 2.5 at "medium". */
export function asFakeModels(models: GeminiFakeModel[]): FakeModel[] {
  return models.map((m) => ({
    id: m.id,
    shutdown_date: null,
    efforts: ["none", "minimal", "low", "medium", "high", "xhigh"],
    defaultEffort: m.thinks === "level" ? "high" : "medium",
    contextTokens: m.inputTokenLimit + m.outputTokenLimit,
  }));
}

/** Google's error: `{error: {code, message, status}}`, the HTTP code and the canonical name. */
export interface GoogleError {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

/** Canonical codes as HTTP and gRPC numbers (google.rpc.Code); a batch line's status carries the latter. */
export const CODES: Record<string, { http: number; grpc: number }> = {
  INVALID_ARGUMENT: { http: 400, grpc: 3 },
  FAILED_PRECONDITION: { http: 400, grpc: 9 },
  UNAUTHENTICATED: { http: 401, grpc: 16 },
  PERMISSION_DENIED: { http: 403, grpc: 7 },
  NOT_FOUND: { http: 404, grpc: 5 },
  RESOURCE_EXHAUSTED: { http: 429, grpc: 8 },
  INTERNAL: { http: 500, grpc: 13 },
  UNAVAILABLE: { http: 503, grpc: 14 },
  DEADLINE_EXCEEDED: { http: 504, grpc: 4 },
};

export function googleError(status: string, message: string, details?: unknown[]): GoogleError {
  return { code: CODES[status]?.http ?? 500, message, status, ...(details ? { details } : {}) };
}

const REQUEST_FIELDS = [
  "model",
  "contents",
  "systemInstruction",
  "generationConfig",
  "safetySettings",
  "tools",
  "toolConfig",
  "cachedContent",
  "labels",
];
const CONFIG_FIELDS = [
  "stopSequences",
  "responseMimeType",
  "responseSchema",
  "responseJsonSchema",
  "candidateCount",
  "maxOutputTokens",
  "temperature",
  "topP",
  "topK",
  "seed",
  "presencePenalty",
  "frequencyPenalty",
  "responseLogprobs",
  "logprobs",
  "thinkingConfig",
  "responseModalities",
  "mediaResolution",
];
const MIME_TYPES = ["text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum"];

/** Proto JSON takes a field by its lowerCamel or its snake_case name (the batch guide's lines use `generation_config`). */
export function camelKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
  );
}

const invalid = (message: string) => googleError("INVALID_ARGUMENT", message);
const unknownName = (name: string, at: string) =>
  invalid(`Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`);

/** Why the service refuses a GenerateContentRequest for `model`, if it does. */
export function requestRefusal(raw: unknown, model: GeminiFakeModel): GoogleError | undefined {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return invalid("Invalid JSON payload received.");
  const request = camelKeys(raw as Record<string, unknown>);
  const unknown = Object.keys(request).find((k) => !REQUEST_FIELDS.includes(k));
  if (unknown) return unknownName(unknown, "");
  if (request.model !== undefined && String(request.model).replace(/^models\//, "") !== model.id)
    return invalid(`The model of the request, ${request.model}, is not the batch's (models/${model.id}).`);
  const contents = request.contents;
  if (!Array.isArray(contents) || !contents.length)
    return invalid("* GenerateContentRequest.contents: contents is not specified\n");
  for (const content of contents) {
    const role = (content as { role?: unknown })?.role;
    if (role !== undefined && role !== "user" && role !== "model")
      return invalid("Please use a valid role: user, model.");
    const parts = (content as { parts?: unknown })?.parts;
    if (!Array.isArray(parts) || !parts.length)
      return invalid("* GenerateContentRequest.contents.parts: contents.parts must not be empty.\n");
  }
  return request.generationConfig === undefined
    ? undefined
    : configRefusal(camelKeys(request.generationConfig as Record<string, unknown>), model);
}

function configRefusal(config: Record<string, unknown>, model: GeminiFakeModel): GoogleError | undefined {
  const unknown = Object.keys(config).find((k) => !CONFIG_FIELDS.includes(k));
  if (unknown) return unknownName(unknown, "generation_config");
  const { temperature, maxOutputTokens, responseMimeType: mime } = config;
  if (temperature !== undefined && !(typeof temperature === "number" && temperature >= 0 && temperature <= 2))
    return invalid(
      "* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0]\n",
    );
  if (
    maxOutputTokens !== undefined &&
    !(Number.isInteger(maxOutputTokens) && (maxOutputTokens as number) > 0)
  )
    return invalid("* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n");
  if ((maxOutputTokens as number) > model.outputTokenLimit)
    return invalid(
      `The maximum number of output tokens (${maxOutputTokens}) exceeds the model's limit (${model.outputTokenLimit}).`,
    );
  if (mime !== undefined && !MIME_TYPES.includes(String(mime)))
    return invalid(
      `* GenerateContentRequest.generation_config.response_mime_type: ${mime} is not supported\n`,
    );
  if (config.responseSchema !== undefined && config.responseJsonSchema !== undefined)
    return invalid("responseSchema and responseJsonSchema cannot both be set.");
  if ((config.responseSchema ?? config.responseJsonSchema) !== undefined && mime !== "application/json")
    return invalid(
      "* GenerateContentRequest.generation_config.response_mime_type: a response schema needs response_mime_type application/json\n",
    );
  return thinkingRefusal(config.thinkingConfig, model);
}

function thinkingRefusal(raw: unknown, model: GeminiFakeModel): GoogleError | undefined {
  if (raw === undefined) return undefined;
  const thinking = camelKeys(raw as Record<string, unknown>);
  if (thinking.thinkingLevel !== undefined && thinking.thinkingBudget !== undefined)
    return invalid("You can only set only one of thinking budget and thinking level.");
  if (thinking.thinkingLevel !== undefined && model.thinks !== "level")
    return invalid("Thinking level is not supported for this model.");
  return undefined;
}

/** The effort the OpenAI fake's model spends for a Gemini thinking setting. */
export function effortFor(config: Record<string, unknown>): string | undefined {
  const thinking = config.thinkingConfig ? camelKeys(config.thinkingConfig as Record<string, unknown>) : {};
  if (typeof thinking.thinkingLevel === "string") return thinking.thinkingLevel.toLowerCase();
  const budget = thinking.thinkingBudget;
  if (typeof budget !== "number" || budget < 0) return undefined; // -1: the model decides
  return budget === 0
    ? "none"
    : budget <= 512
      ? "minimal"
      : budget <= 1024
        ? "low"
        : budget <= 8192
          ? "medium"
          : "high";
}

/** A Gemini request as the chat request the OpenAI fake's model answers. */
export function asChatRequest(raw: Record<string, unknown>, model: string): Record<string, unknown> {
  const request = camelKeys(raw);
  const config = camelKeys((request.generationConfig ?? {}) as Record<string, unknown>);
  const text = (content: any) => (content?.parts ?? []).map((p: any) => p?.text ?? "").join("");
  const system = request.systemInstruction
    ? [{ role: "system", content: text(request.systemInstruction) }]
    : [];
  const turns = (request.contents as any[]).map((c) => ({
    role: c.role === "model" ? "assistant" : "user",
    content: text(c),
  }));
  const schema = config.responseJsonSchema ?? config.responseSchema;
  const effort = effortFor(config);
  return {
    model,
    messages: [...system, ...turns],
    ...(config.maxOutputTokens !== undefined ? { max_completion_tokens: config.maxOutputTokens } : {}),
    ...(effort ? { reasoning_effort: effort } : {}),
    ...(schema ? { response_format: { type: "json_schema", json_schema: { name: "answer", schema } } } : {}),
  };
}

/** A chat answer of the OpenAI fake as Gemini's GenerateContentResponse. */
export function asGeminiResponse(chat: any, model: string, responseId: string): Record<string, unknown> {
  const choice = chat.choices[0];
  const usage = chat.usage;
  const thoughts = usage.completion_tokens_details.reasoning_tokens as number;
  const cached = usage.prompt_tokens_details.cached_tokens as number;
  const candidates = usage.completion_tokens - thoughts;
  const text = choice.message.content as string;
  return {
    candidates: [
      {
        // An answer whose whole budget went to thinking has no parts, as the service sends it.
        content: text ? { parts: [{ text }], role: "model" } : { role: "model" },
        finishReason: choice.finish_reason === "length" ? "MAX_TOKENS" : "STOP",
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: usage.prompt_tokens,
      candidatesTokenCount: candidates,
      totalTokenCount: usage.prompt_tokens + candidates + thoughts,
      ...(cached ? { cachedContentTokenCount: cached } : {}),
      ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
      promptTokensDetails: [{ modality: "TEXT", tokenCount: usage.prompt_tokens }],
    },
    modelVersion: model,
    responseId,
  };
}
