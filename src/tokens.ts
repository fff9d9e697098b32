// Counting prompt tokens: for the cost estimate and the budget before anything is sent, and
// for the enqueued-token and sync-mode rate limits.
import type { BatchRequest } from "./build.ts";

type Body = BatchRequest["body"];
export type TokenCounter = (body: Body) => number;

/**
 * Counts a request's prompt tokens as the chat format does (content plus a few tokens per
 * message), plus its response format's schema, which is sent with every request and billed as
 * prompt. The tokenizer is loaded here, on first use: its tables take ~75 MB that collecting
 * and exporting do not need.
 */
export async function promptTokenCounter(): Promise<TokenCounter> {
  const { countTokens, setMergeCacheSize } = await import("gpt-tokenizer");
  // Prompts share their template, so a small cache of merges keeps most of the speed; the
  // default (100,000 entries) grows with every new name and number, and memory with it.
  setMergeCacheSize(20_000);
  let schema: unknown;
  let schemaTokens = 0;
  return (body) => {
    const format = body.response_format?.json_schema.schema;
    if (format !== schema) [schema, schemaTokens] = [format, format ? countTokens(JSON.stringify(format)) : 0];
    return body.messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3) + schemaTokens;
  };
}
