// Chat Completions (/v1/chat/completions): messages in, the first choice's message out.
import type { Endpoint, Message } from "./index.ts";

export interface ChatBody {
  model: string;
  messages: Message[];
  max_completion_tokens: number;
  temperature?: number;
  reasoning_effort?: string;
  service_tier?: string;
  response_format?: {
    type: "json_schema";
    json_schema: { name: string; strict: true; schema: Record<string, unknown> };
  };
}

interface ChatAnswer {
  model?: string;
  service_tier?: string;
  choices?: { finish_reason?: string; message?: { content?: string | null } }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
    completion_tokens_details?: { reasoning_tokens?: number };
  };
}

export const chat: Endpoint<ChatBody> = {
  url: "/v1/chat/completions",
  limits: { maxTokens: { name: "max_completion_tokens", min: 1 }, temperature: { min: 0, max: 2 } },

  body(messages, { model, maxTokens, temperature, effort, serviceTier, schema }) {
    const body: ChatBody = { model, messages, max_completion_tokens: maxTokens };
    if (effort) body.reasoning_effort = effort;
    if (serviceTier) body.service_tier = serviceTier;
    if (temperature !== undefined) body.temperature = temperature;
    if (schema)
      body.response_format = { type: "json_schema", json_schema: { name: "sample", strict: true, schema } };
    return body;
  },

  prompt(body) {
    return { messages: body.messages, schema: body.response_format?.json_schema.schema };
  },

  read(responseBody) {
    const body = (responseBody ?? {}) as ChatAnswer;
    const choice = body.choices?.[0];
    return {
      text: choice?.message?.content ?? undefined,
      finish: choice?.finish_reason,
      model: body.model,
      promptTokens: body.usage?.prompt_tokens ?? 0,
      completionTokens: body.usage?.completion_tokens ?? 0,
      cachedTokens: body.usage?.prompt_tokens_details?.cached_tokens ?? 0,
      reasoningTokens: body.usage?.completion_tokens_details?.reasoning_tokens ?? 0,
      serviceTier: body.service_tier,
    };
  },
};
