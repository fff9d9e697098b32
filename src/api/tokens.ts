// Counting prompt tokens: for the cost estimate and the budget before anything is sent, and
// for the enqueued-token and sync-mode rate limits.
import { createRequire } from "node:module";
import { sep } from "node:path";
import type { Message } from "./endpoints/index.ts";
import { returnFreedMemory } from "../io/memory.ts";

/** A request's prompt, as its endpoint reads it back from the body. */
export type TokenCounter = (prompt: { messages: Message[]; schema?: unknown }) => number;
type Tokenizer = typeof import("gpt-tokenizer");

const require = createRequire(import.meta.url);

/**
 * Lends `use` a counter of a request's prompt tokens, as the chat format counts them (content
 * plus a few tokens per message), plus its response format's schema, which is sent with every
 * request and billed as prompt. The o200k tokenizer's tables take 50–60 MB of memory that
 * submitting, waiting and collecting do not need, so it lives only while `use` runs: it is
 * loaded as CommonJS, which, unlike an ES module, can be dropped again (see releaseTokenizer).
 */
export async function withTokenCounter<T>(use: (count: TokenCounter) => Promise<T>): Promise<T> {
  const { countTokens, setMergeCacheSize } = require("gpt-tokenizer") as Tokenizer;
  // Prompts share their template, so a small cache of merges keeps most of the speed; the
  // default (100,000 entries) grows with every new name and number, and memory with it.
  setMergeCacheSize(20_000);
  let schema: unknown;
  let schemaTokens = 0;
  try {
    return await use((prompt) => {
      if (prompt.schema !== schema)
        [schema, schemaTokens] = [
          prompt.schema,
          prompt.schema ? countTokens(JSON.stringify(prompt.schema)) : 0,
        ];
      return prompt.messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3) + schemaTokens;
    });
  } finally {
    releaseTokenizer();
  }
}

/** Forgets the tokenizer's modules, so that the memory of their tables can be freed. */
function releaseTokenizer(): void {
  for (const path of Object.keys(require.cache))
    if (path.includes(`${sep}gpt-tokenizer${sep}`)) delete require.cache[path];
  returnFreedMemory();
}
