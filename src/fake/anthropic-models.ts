/**
 * What the fake Anthropic service checks in a Messages request (`params` of a batch request, or
 * the body of `POST /v1/messages`), as its documentation states it: anthropic-sdk-typescript 1.17
 * `resources/messages/messages.ts` (MessageCreateParams, OutputConfig, ThinkingConfigParam);
 * platform.claude.com "Migrating to API version 2026-10-21" (temperature, top_p, top_k refused);
 * "Structured outputs" (Claude 4.5 models and later); "Adaptive thinking"; "Errors" (the shape
 * `{type: "error", error: {type, message}}` and each type's status). Read 2026-12-07.
 * Kept apart from synthai's own tables on purpose: the fake models the service, not synthai
 * (only the vendor's error statuses are shared, from src/wire/).
 */
import { anthropicErrorStatus } from "../wire/anthropic-errors.ts";

export interface ClaudeFakeModel {
  id: string;
  /** The most `max_tokens` it takes, and the prompt and answer it holds together. */
  maxOutput: number;
  contextTokens: number;
  /** Whether it takes `output_config.format` (structured outputs). */
  structured: boolean;
  /** The `thinking.type`s it takes, and whether it takes `output_config.effort`. */
  thinking: string[];
  effort: boolean;
  /** The shortest prefix it caches ("Prompt caching": 4,096 for Haiku 4.5; none published for 5.5: 1,024). */
  cacheMinTokens: number;
}

export const CLAUDE_FAKE_MODELS: ClaudeFakeModel[] = [
  { id: "claude-haiku-5-5", maxOutput: 64_000, contextTokens: 200_000, ...modern() },
  { id: "claude-sonnet-5-5", maxOutput: 128_000, contextTokens: 1_000_000, ...modern() },
  { id: "claude-opus-5-5", maxOutput: 128_000, contextTokens: 1_000_000, ...modern() },
  {
    id: "claude-haiku-4-5",
    maxOutput: 64_000,
    contextTokens: 200_000,
    structured: true,
    thinking: ["enabled", "disabled"],
    effort: false,
    cacheMinTokens: 4096,
  },
  // Older than structured outputs (they came with the 4.5 models).
  {
    id: "claude-opus-4-1",
    maxOutput: 32_000,
    contextTokens: 200_000,
    structured: false,
    thinking: ["enabled", "disabled"],
    effort: false,
    cacheMinTokens: 1024,
  },
];

function modern() {
  return { structured: true, thinking: ["adaptive", "disabled"], effort: true, cacheMinTokens: 1024 };
}

/** The API versions it answers; the newest refuses temperature, top_p and top_k. */
export const API_VERSIONS = ["2023-06-01", "2026-10-21"];
const NO_SAMPLING_SINCE = "2026-10-21";
export const EFFORTS = ["low", "medium", "high", "xhigh", "max"];

export interface ClaudeError {
  status: number;
  body: { type: "error"; error: { type: string; message: string } };
}

export function claudeError(type: string, message: string): ClaudeError {
  return { status: anthropicErrorStatus(type), body: { type: "error", error: { type, message } } };
}

const invalid = (message: string) => claudeError("invalid_request_error", message);

/** The fields a Messages request may carry; any other is refused ("Extra inputs are not permitted"). */
const FIELDS = new Set([
  "model",
  "max_tokens",
  "messages",
  "system",
  "metadata",
  "stop_sequences",
  "stream",
  "thinking",
  "output_config",
  "cache_control",
  "service_tier",
  "tools",
  "tool_choice",
  "temperature",
  "top_p",
  "top_k",
  "container",
  "inference_geo",
  "speed",
  "diagnostics",
]);

export function findModel(models: ClaudeFakeModel[], id: unknown): ClaudeFakeModel | undefined {
  return models.find((m) => m.id === id || (typeof id === "string" && id.startsWith(`${m.id}-20`)));
}

/** Why the service refuses these params under this API version, or undefined: it runs them. */
export function paramsRefusal(
  models: ClaudeFakeModel[],
  params: any,
  version: string,
): ClaudeError | undefined {
  if (!params || typeof params !== "object" || Array.isArray(params))
    return invalid("params: Input should be a valid dictionary");
  const extra = Object.keys(params).find((key) => !FIELDS.has(key));
  if (extra !== undefined) return invalid(`${extra}: Extra inputs are not permitted`);
  if (typeof params.model !== "string") return invalid("model: Field required");
  const model = findModel(models, params.model);
  if (!model) return claudeError("not_found_error", `model: ${params.model}`);
  return (
    samplingRefusal(params, version) ??
    maxTokensRefusal(model, params) ??
    messagesRefusal(params) ??
    thinkingRefusal(model, params) ??
    outputRefusal(model, params)
  );
}

/** Under 2026-10-21 the sampling knobs are gone, whatever their value; before it, their ranges. */
function samplingRefusal(params: any, version: string): ClaudeError | undefined {
  for (const field of ["temperature", "top_p", "top_k"]) {
    if (params[field] === undefined) continue;
    if (version >= NO_SAMPLING_SINCE)
      return invalid(
        `${field}: is not supported in API version ${NO_SAMPLING_SINCE}; remove it from the request`,
      );
    const value = params[field];
    const max = field === "top_k" ? Infinity : 1;
    if (typeof value !== "number" || value < 0 || value > max)
      return invalid(`${field}: Input should be between 0 and ${max}`);
  }
  return undefined;
}

function maxTokensRefusal(model: ClaudeFakeModel, params: any): ClaudeError | undefined {
  const value = params.max_tokens;
  if (value === undefined) return invalid("max_tokens: Field required");
  // 0 is taken: it warms the prompt cache without an answer (MessageCreateParams.max_tokens).
  if (!Number.isInteger(value) || value < 0)
    return invalid("max_tokens: Input should be a valid non-negative integer");
  if (value > model.maxOutput)
    return invalid(
      `max_tokens: ${value} > ${model.maxOutput}, which is the maximum allowed number of output tokens for ${model.id}`,
    );
  return undefined;
}

/** Roles user and assistant only (the system prompt is a field of its own), content never empty. */
function messagesRefusal(params: any): ClaudeError | undefined {
  const { messages, system } = params;
  if (!Array.isArray(messages) || !messages.length)
    return invalid("messages: at least one message is required");
  for (const [i, message] of messages.entries()) {
    if (message?.role !== "user" && message?.role !== "assistant")
      return invalid(
        `messages.${i}.role: Unexpected role "${message?.role}". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`,
      );
    if (!textOf(message.content).trim())
      return invalid(`messages.${i}: all messages must have non-empty content`);
  }
  if (messages[0].role !== "user") return invalid('messages: first message must use the "user" role');
  // These models take no prefill: a request ending on an assistant turn is refused.
  if (messages.at(-1).role !== "user")
    return invalid(
      "messages: this model does not support assistant message prefill; the last message must be a user message",
    );
  if (system !== undefined && typeof system !== "string" && !Array.isArray(system))
    return invalid("system: Input should be a valid string or list of text blocks");
  return undefined;
}

function thinkingRefusal(model: ClaudeFakeModel, params: any): ClaudeError | undefined {
  const thinking = params.thinking;
  if (thinking === undefined) return undefined;
  if (!model.thinking.includes(thinking?.type))
    return invalid(
      `thinking.type: "${thinking?.type}" is not supported for ${model.id}; use one of ${model.thinking.map((t) => `"${t}"`).join(", ")}`,
    );
  if (thinking.type === "enabled") {
    const budget = thinking.budget_tokens;
    if (!Number.isInteger(budget) || budget < 1024)
      return invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
    if (budget >= params.max_tokens)
      return invalid("max_tokens: must be greater than thinking.budget_tokens");
  }
  return undefined;
}

function outputRefusal(model: ClaudeFakeModel, params: any): ClaudeError | undefined {
  const config = params.output_config;
  if (config === undefined) return undefined;
  if (config.effort !== undefined && config.effort !== null) {
    if (!model.effort) return invalid(`output_config.effort: is not supported for ${model.id}`);
    if (!EFFORTS.includes(config.effort))
      return invalid(`output_config.effort: Input should be ${EFFORTS.map((e) => `'${e}'`).join(", ")}`);
  }
  const format = config.format;
  if (format === undefined || format === null) return undefined;
  if (!model.structured)
    return invalid(`output_config.format: structured outputs are not supported for ${model.id}`);
  if (format.type !== "json_schema" || format.schema?.type !== "object")
    return invalid("output_config.format.schema: the schema's root must be of type object");
  return undefined;
}

/** A message's or system prompt's text: a string, or its text blocks'. */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((block: any) => (block?.type === "text" ? String(block.text ?? "") : "")).join("");
}

/** The API version a request names, or why it is refused. */
export function versionRefusal(version: string | undefined): ClaudeError | undefined {
  if (!version) return invalid("anthropic-version: header is required");
  if (!API_VERSIONS.includes(version))
    return invalid(`anthropic-version: "${version}" is not a valid version`);
  return undefined;
}
