// Endpoints: how a request body is made from a prompt's messages, how an answer is read back,
// and how one request is sent directly. One file per endpoint; the run names one of them.
import type OpenAI from "openai";
import { chat } from "./chat.ts";
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
  /** The tier that served it, as the response says ("flex", "default", …). */
  serviceTier: string | undefined;
}

export interface Endpoint<Body = Record<string, unknown>> {
  /** The path of batch lines and of the batch's `endpoint`. */
  url: string;
  body(messages: Message[], options: RequestOptions): Body;
  /** The prompt's messages and schema back from a body (token counting, inspect). */
  prompt(body: Body): { messages: Message[]; schema?: unknown };
  read(responseBody: unknown): Answer;
  /** Sends one body directly (--mode sync, --pilot): the answer's body and the request id. */
  send(client: OpenAI, body: Body): Promise<{ body: unknown; requestId: string }>;
}

export const ENDPOINTS = { chat, responses } satisfies Record<string, Endpoint<any>>;

export type EndpointName = keyof typeof ENDPOINTS;

export function endpointFor(name: EndpointName = "chat"): Endpoint<any> {
  return ENDPOINTS[name];
}
