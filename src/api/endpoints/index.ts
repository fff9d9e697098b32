// Endpoints: how a request body is made from a prompt's messages and how an answer is read back
// (sending is the batch service's, api/services). One file per endpoint; the run names one of them.
import type { Vendor } from "../batch-service.ts";
import { UserError } from "../../errors.ts";
import { chat } from "./chat.ts";
import { gemini } from "./gemini.ts";
import { messages } from "./messages.ts";
import { responses } from "./responses.ts";

export interface Message {
  role: "system" | "developer" | "user" | "assistant";
  content: string;
}

/** What a request asks for, whatever the endpoint's own names for it. */
export interface RequestOptions {
  model: string;
  maxTokens: number;
  temperature?: number;
  /** How hard a reasoning model thinks; absent for models that do not reason. */
  effort?: string;
  /** "flex": the cheaper, slower tier for requests sent directly. */
  serviceTier?: string;
  /** A JSON Schema for structured output (strict). */
  schema?: Record<string, unknown>;
}

/** A 200 answer, read the same way whatever endpoint gave it. */
export interface Answer {
  text: string | undefined;
  /** Why it ended: "stop", "length" (cut at the token limit), "content_filter", or the endpoint's own word. */
  finish: string | undefined;
  model: string | undefined;
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt, what the service billed as cached; of the completion, what went to reasoning. */
  cachedTokens: number;
  reasoningTokens: number;
  /** Of the prompt, what the service wrote to its cache (Anthropic bills it apart); absent: none. */
  cacheWriteTokens?: number;
  /** The tier that served it, as the response says ("flex", "default", …). */
  serviceTier: string | undefined;
}

/** What the service refuses on an endpoint, as OpenAI's OpenAPI document states it for the request. */
export interface Limits {
  /** The token limit's own name in a body, and the least it takes. */
  maxTokens: {
    name: string;
    min: number;
    /** Where it sits in a body, when not at its top (Gemini: generationConfig.maxOutputTokens). */
    at?: readonly string[];
  };
  temperature: { min: number; max: number };
}

export interface Endpoint<Body = Record<string, unknown>> {
  /** The path of batch lines and of the batch's `endpoint`. */
  url: string;
  limits: Limits;
  body(messages: Message[], options: RequestOptions): Body;
  /** The prompt's messages and schema back from a body (token counting, inspect). */
  prompt(body: Body): { messages: Message[]; schema?: unknown };
  read(responseBody: unknown): Answer;
  /** Refuses, before anything is built, settings every request would be refused for (a service that checks only when a batch ends). */
  check?(options: RequestOptions, where: string): void;
  /** What a person should know of how the settings are sent (a setting left out), in one line. */
  notice?(options: RequestOptions): string | undefined;
}

/** OpenAI's endpoints, the choices of --endpoint; other vendors' are theirs alone (VENDOR_ENDPOINTS). */
export const ENDPOINTS = { chat, responses } satisfies Record<string, Endpoint<any>>;

export type EndpointName = keyof typeof ENDPOINTS;

export function endpointFor(name: EndpointName = "chat"): Endpoint<any> {
  return ENDPOINTS[name];
}

/** Each vendor's endpoint: OpenAI's is the run's choice (--endpoint); Anthropic's is Messages, Gemini's generateContent. */
export const VENDOR_ENDPOINTS: Record<Vendor, (name: EndpointName | undefined) => Endpoint<any>> = {
  openai: endpointFor,
  anthropic: () => messages,
  gemini: () => gemini,
};

/**
 * Refuses, before anything is built, a value the endpoint would refuse on every line; `where`
 * names what set it (a flag, or a stage's prompt file).
 */
export function checkLimits(
  name: EndpointName | undefined,
  values: { maxTokens: number; temperature?: number },
  where: { maxTokens: string; temperature?: string },
): void {
  const { url, limits } = endpointFor(name);
  const { min, name: field } = limits.maxTokens;
  if (values.maxTokens < min)
    throw new UserError(
      `${where.maxTokens} ${values.maxTokens} is below what ${url} takes (${field} of at least ${min})`,
      `give ${min} or more`,
    );
  const { temperature } = values;
  if (
    temperature !== undefined &&
    (temperature < limits.temperature.min || temperature > limits.temperature.max)
  )
    throw new UserError(
      `${where.temperature ?? "--temperature"} ${temperature} is outside what ${url} takes (${limits.temperature.min} to ${limits.temperature.max})`,
      `give a temperature from ${limits.temperature.min} to ${limits.temperature.max}`,
    );
}
