// Anthropic's Messages API (/v1/messages), the body of every Message Batches request: system
// messages become `system`, `max_tokens` is always set, a schema is `output_config.format`, and
// reasoning is the model's thinking setting. API version 2026-10-21 (the SDK's default) refuses
// temperature, top_p and top_k, so they are never put in a body. The service checks a batch's
// requests only when the batch ends, so what can be checked here is checked before sending.
// Sources: anthropic-sdk-typescript 1.17 `resources/messages/messages.ts`; platform.claude.com
// "Structured outputs", "Adaptive thinking", "Migrating to API version 2026-10-21" (read 2026-12-07).
import { UserError } from "../../errors.ts";
import { CACHE_TTL, MODELS, modelInfo, type Model } from "../models.ts";
import { prefixCacheOf } from "../pricing.ts";
import { VENDORS } from "../vendors.ts";
import type { Answer, Endpoint, Message, RequestOptions } from "./index.ts";

/** A system prompt's text block, marked as a cache breakpoint (CacheControlEphemeral). */
interface SystemBlock {
  type: "text";
  text: string;
  cache_control?: { type: "ephemeral"; ttl: typeof CACHE_TTL };
}

export interface MessagesBody {
  model: string;
  max_tokens: number;
  messages: { role: "user" | "assistant"; content: string }[];
  system?: string | SystemBlock[];
  thinking?: { type: "adaptive" } | { type: "disabled" } | { type: "enabled"; budget_tokens: number };
  output_config?: { effort?: string; format?: { type: "json_schema"; schema: Record<string, unknown> } };
}

/** What the Messages API takes of a model: its catalogue entry (api/models.ts), if it is Claude's. */
function claudeInfo(model: string): Model | undefined {
  const info = modelInfo(model);
  return info?.vendor === "anthropic" ? info : undefined;
}

/** What a Message Batches custom id may be (the SDK's docs omit it: anthropic-sdk-python#984). */
export const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** synthai's efforts as output_config.effort takes them ("minimal" has no own level: the lowest). */
const EFFORT: Record<string, string> = { minimal: "low", low: "low", medium: "medium", high: "high" };
/** Thinking budgets of the older models, per effort: at least 1,024, and under max_tokens. */
const BUDGET: Record<string, number> = { minimal: 1024, low: 2048, medium: 8192, high: 16_384 };

interface MessagesAnswer {
  model?: string;
  stop_reason?: string | null;
  content?: { type?: string; text?: string }[];
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    cache_creation_input_tokens?: number | null;
    cache_read_input_tokens?: number | null;
    output_tokens_details?: { thinking_tokens?: number } | null;
    service_tier?: string | null;
  };
}

/** stop_reason in the words the other endpoints use. */
const FINISH: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  refusal: "content_filter",
};

/** A model named `anthropic/claude-…` is Claude's own name without the prefix. */
export function claudeModel(model: string): string {
  const prefix = VENDORS.anthropic.prefix;
  return model.startsWith(prefix) ? model.slice(prefix.length) : model;
}

export const messages: Endpoint<MessagesBody> = {
  url: "/v1/messages",
  limits: { maxTokens: { name: "max_tokens", min: 1 }, temperature: { min: 0, max: 1 } },

  check: (options, where) => checkMessagesOptions(options, where),
  notice: (options) => temperatureNotice(options.model, options.temperature),

  body(prompt, options) {
    const model = claudeModel(options.model);
    const system = prompt.filter((m) => m.role === "system" || m.role === "developer");
    const body: MessagesBody = {
      model,
      max_tokens: options.maxTokens,
      messages: prompt
        .filter((m) => !system.includes(m))
        .map((m) => ({ role: m.role as "user" | "assistant", content: m.content })),
    };
    if (system.length) body.system = cached(system.map((m) => m.content).join("\n\n"), model);
    Object.assign(body, thinkingOf(model, options));
    if (options.schema)
      body.output_config = { ...body.output_config, format: { type: "json_schema", schema: options.schema } };
    return body;
  },

  prompt(body) {
    const text = typeof body.system === "string" ? body.system : body.system?.map((b) => b.text).join("");
    const system: Message[] = text ? [{ role: "system", content: text }] : [];
    return { messages: [...system, ...body.messages], schema: body.output_config?.format?.schema };
  },

  read(responseBody): Answer {
    const body = (responseBody ?? {}) as MessagesAnswer;
    const texts = (body.content ?? []).filter((block) => block.type === "text");
    const usage = body.usage ?? {};
    const cacheRead = usage.cache_read_input_tokens ?? 0;
    const cacheWrite = usage.cache_creation_input_tokens ?? 0;
    const reason = body.stop_reason ?? undefined;
    return {
      text: texts.length ? texts.map((block) => block.text ?? "").join("") : undefined,
      finish: reason === undefined ? undefined : (FINISH[reason] ?? reason),
      model: body.model,
      // input_tokens leaves out what was read from or written to the cache: the prompt is all three.
      promptTokens: (usage.input_tokens ?? 0) + cacheRead + cacheWrite,
      completionTokens: usage.output_tokens ?? 0,
      cachedTokens: cacheRead,
      cacheWriteTokens: cacheWrite,
      reasoningTokens: usage.output_tokens_details?.thinking_tokens ?? 0,
      serviceTier: usage.service_tier ?? undefined,
    };
  },
};

/**
 * The system prompt, a cache breakpoint when long enough for the model's cache: it is the part a
 * stage's requests share, so each request after the first reads it from the cache at the cached
 * price. Tokens are reckoned at 3 characters, more than a text has: a mark under the floor costs
 * nothing (the service caches nothing), a long prefix left unmarked costs every read.
 */
function cached(text: string, model: string): MessagesBody["system"] {
  const floor = prefixCacheOf("anthropic", model)?.minTokens;
  if (floor === undefined || text.length / 3 < floor) return text;
  return [{ type: "text", text, cache_control: { type: "ephemeral", ttl: CACHE_TTL } }];
}

/**
 * Reasoning as the model's thinking setting: adaptive thinking at an effort on the newer models,
 * a token budget on the older ones; "none" turns thinking off.
 */
function thinkingOf(model: string, { effort, maxTokens }: RequestOptions): Partial<MessagesBody> {
  if (!effort) return {};
  if (effort === "none") return { thinking: { type: "disabled" } };
  if (claudeInfo(model)?.thinkingBudget)
    return {
      thinking: { type: "enabled", budget_tokens: Math.min(BUDGET[effort] ?? 32_000, maxTokens - 1) },
    };
  return { thinking: { type: "adaptive" }, output_config: { effort: EFFORT[effort] ?? effort } };
}

/**
 * The line to show when a user set a temperature for a Claude model: it is not sent, since API
 * version 2026-10-21 refuses it (a batch of them would only come back errored).
 */
export function temperatureNotice(model: string, temperature: number | undefined): string | undefined {
  if (temperature === undefined) return undefined;
  return (
    `temperature ${temperature} is not sent to ${claudeModel(model)}: Anthropic's API (2026-10-21) ` +
    "refuses temperature, top_p and top_k; the model samples as it does by default"
  );
}

/**
 * Refuses, before anything is built, what every request of a run would be refused for: an
 * unknown model, a schema it cannot follow, a token limit it does not take.
 */
export function checkMessagesOptions(options: RequestOptions, where = "--model"): void {
  const model = claudeModel(options.model);
  const known = claudeInfo(model);
  if (!known)
    throw new UserError(
      `${where} ${options.model} is not a Claude model synthai knows`,
      `use one of ${Object.keys(MODELS)
        .filter((id) => claudeInfo(id))
        .join(", ")}`,
    );
  if (options.schema && known.structuredOutput === false)
    throw new UserError(
      `${model} does not take structured output (a JSON schema); Claude models from 4.5 do`,
      "pick a newer Claude model, or leave the schema out",
    );
  const refused = requestRefusal({
    custom_id: "check",
    body: messages.body([{ role: "user", content: "." }], options),
  });
  if (refused) throw new UserError(`${model}: ${refused}`, "change the setting it names");
}

/**
 * Why the service would refuse this request line when its batch ends, or undefined. Pure: what
 * the API documents and can be seen without asking it (the model's own limits are the catalogue's).
 */
export function requestRefusal(line: { custom_id: string; body: MessagesBody }): string | undefined {
  const { custom_id, body } = line;
  if (!CUSTOM_ID.test(custom_id))
    return `custom_id ${JSON.stringify(custom_id)} is not 1 to 64 letters, digits, _ or -`;
  const model = claudeInfo(body.model);
  if (!model) return `model ${body.model} is not one the Messages API has`;
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    return `max_tokens ${body.max_tokens} is below 1`;
  if (model.maxOutput !== undefined && body.max_tokens > model.maxOutput)
    return `max_tokens ${body.max_tokens} is above ${body.model}'s ${model.maxOutput}`;
  for (const field of ["temperature", "top_p", "top_k"])
    if (field in body) return `${field} is refused by API version 2026-10-21`;
  const thinking = body.thinking;
  if (
    thinking?.type === "enabled" &&
    (thinking.budget_tokens < 1024 || thinking.budget_tokens >= body.max_tokens)
  )
    return `thinking needs max_tokens above its budget of at least 1,024 (max_tokens is ${body.max_tokens})`;
  return turnsRefusal(body.messages);
}

/** Turns alternate user, assistant, user…, start and end with the user, and are never empty. */
function turnsRefusal(turns: MessagesBody["messages"]): string | undefined {
  if (!turns.length) return "a request needs at least one user message";
  for (const [i, turn] of turns.entries()) {
    if (turn.role !== (i % 2 ? "assistant" : "user"))
      return `message ${i + 1} is ${turn.role}: messages must alternate user and assistant, starting with user`;
    if (!turn.content.trim()) return `message ${i + 1} is empty`;
  }
  if (turns.at(-1)!.role !== "user") return "the last message must be the user's (no assistant prefill)";
  return undefined;
}

/** Refuses, before sending, a request line the service would only refuse once its batch ends. */
export function checkMessagesRequest(line: { custom_id: string; body: MessagesBody }): void {
  const refused = requestRefusal(line);
  if (refused)
    throw new UserError(
      `request ${line.custom_id}: ${refused}`,
      "the Message Batches API checks requests only when the batch ends; fix it before sending",
    );
}
