// Gemini's generateContent (models/{model}:generateContent, and each line of a Gemini batch):
// system messages become `systemInstruction`, the rest `contents` with roles user and model;
// the answer is the text parts of the first candidate. Field names as ai.google.dev/api/generate-content.
import type { Endpoint, Message } from "./index.ts";

interface Content {
  role: "user" | "model";
  parts: { text: string }[];
}

export interface GeminiBody {
  /** The model, for a request sent directly; a batch line leaves it out (the job names it). */
  model: string;
  contents: Content[];
  systemInstruction?: { parts: { text: string }[] };
  generationConfig: {
    maxOutputTokens: number;
    temperature?: number;
    responseMimeType?: "application/json";
    responseJsonSchema?: Record<string, unknown>;
    thinkingConfig?: { thinkingLevel?: string; thinkingBudget?: number };
  };
}

interface GeminiAnswer {
  modelVersion?: string;
  candidates?: { finishReason?: string; content?: { parts?: { text?: string; thought?: boolean }[] } }[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: {
    promptTokenCount?: number;
    candidatesTokenCount?: number;
    cachedContentTokenCount?: number;
    thoughtsTokenCount?: number;
  };
}

/** finishReason in the words the other endpoints use; any other keeps Gemini's own word. */
const FINISH: Record<string, string> = {
  STOP: "stop",
  MAX_TOKENS: "length",
  SAFETY: "content_filter",
  RECITATION: "content_filter",
  BLOCKLIST: "content_filter",
  PROHIBITED_CONTENT: "content_filter",
  SPII: "content_filter",
};

/**
 * A reasoning effort as Gemini's thinking setting (the thinking guide): Gemini 3 takes a level,
 * the 2.x models a budget of tokens (0 turns thinking off; 24,576 is 2.5 Flash's most).
 */
const LEVEL: Record<string, string> = {
  minimal: "MINIMAL",
  low: "LOW",
  medium: "MEDIUM",
  high: "HIGH",
  xhigh: "XHIGH",
  max: "XHIGH",
};
const BUDGET: Record<string, number> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24_576,
  xhigh: 24_576,
  max: 24_576,
};

export function thinkingFor(
  model: string,
  effort: string,
): { thinkingLevel?: string; thinkingBudget?: number } | undefined {
  const budgeted = /^(gemini\/)?(models\/)?gemini-[12]\./.test(model);
  if (budgeted || effort === "none")
    return BUDGET[effort] === undefined ? undefined : { thinkingBudget: BUDGET[effort] };
  return LEVEL[effort] ? { thinkingLevel: LEVEL[effort] } : undefined;
}

export const gemini: Endpoint<GeminiBody> = {
  url: "/v1beta/models/{model}:generateContent",
  // GenerationConfig: temperature "Values can range from [0.0, 2.0]"; maxOutputTokens a positive count.
  limits: {
    maxTokens: { name: "maxOutputTokens", min: 1, at: ["generationConfig", "maxOutputTokens"] },
    temperature: { min: 0, max: 2 },
  },

  body(messages, { model, maxTokens, temperature, effort, schema }) {
    const system = messages.filter((m) => m.role === "system" || m.role === "developer");
    const body: GeminiBody = {
      model,
      contents: messages
        .filter((m) => !system.includes(m))
        .map((m) => ({ role: m.role === "assistant" ? "model" : "user", parts: [{ text: m.content }] })),
      generationConfig: { maxOutputTokens: maxTokens },
    };
    if (system.length) body.systemInstruction = { parts: system.map((m) => ({ text: m.content })) };
    if (temperature !== undefined) body.generationConfig.temperature = temperature;
    const thinking = effort ? thinkingFor(model, effort) : undefined;
    if (thinking) body.generationConfig.thinkingConfig = thinking;
    if (schema) {
      body.generationConfig.responseMimeType = "application/json";
      body.generationConfig.responseJsonSchema = schema;
    }
    return body;
  },

  prompt(body) {
    const system: Message[] = (body.systemInstruction?.parts ?? []).map((p) => ({
      role: "system",
      content: p.text,
    }));
    const turns: Message[] = body.contents.map((c) => ({
      role: c.role === "model" ? "assistant" : "user",
      content: c.parts.map((p) => p.text).join(""),
    }));
    return { messages: [...system, ...turns], schema: body.generationConfig.responseJsonSchema };
  },

  read(responseBody) {
    const body = (responseBody ?? {}) as GeminiAnswer;
    const candidate = body.candidates?.[0];
    // Thought summaries are parts too (thought: true): only the answer's text is the answer.
    const parts = (candidate?.content?.parts ?? []).filter((p) => !p.thought && typeof p.text === "string");
    const usage = body.usageMetadata ?? {};
    const thoughts = usage.thoughtsTokenCount ?? 0;
    const reason = candidate?.finishReason ?? (body.promptFeedback?.blockReason ? "SAFETY" : undefined);
    return {
      text: parts.length ? parts.map((p) => p.text).join("") : undefined,
      finish: reason === undefined ? undefined : (FINISH[reason] ?? reason.toLowerCase()),
      model: body.modelVersion,
      promptTokens: usage.promptTokenCount ?? 0,
      // Gemini bills thoughts as output but counts them apart from the candidates.
      completionTokens: (usage.candidatesTokenCount ?? 0) + thoughts,
      cachedTokens: usage.cachedContentTokenCount ?? 0,
      reasoningTokens: thoughts,
      serviceTier: undefined,
    };
  },
};
