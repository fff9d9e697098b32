// The token counter's thread (tokens.ts): counts batches of prompts, answering a tally with
// the sum since the last one, or a single count with its own.
import { parentPort } from "node:worker_threads";
import { countTokens, setMergeCacheSize } from "gpt-tokenizer";
import type { Message } from "./endpoints/index.ts";

// Prompts share their template, so a small cache of merges keeps most of the speed; the
// default (100,000 entries) grows with every new name and number, and memory with it.
setMergeCacheSize(20_000);

let schemaTokens = 0;
let sinceTally = 0;

const tokensOf = (messages: Message[]) =>
  messages.reduce((sum, m) => sum + countTokens(m.content) + 4, 3) + schemaTokens;

interface Batch {
  prompts: Message[][];
  reply: "tally" | "count" | "none";
  /** Sent when the prompts' schema changes; null for none. */
  schema?: unknown;
}

parentPort!.on("message", ({ prompts, reply, schema }: Batch) => {
  if (schema !== undefined) schemaTokens = schema === null ? 0 : countTokens(JSON.stringify(schema));
  if (reply === "count") return parentPort!.postMessage(tokensOf(prompts[0]!));
  for (const messages of prompts) sinceTally += tokensOf(messages);
  if (reply === "none") return parentPort!.postMessage(0);
  parentPort!.postMessage(sinceTally);
  sinceTally = 0;
});
