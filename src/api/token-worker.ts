// The token counter's thread (tokens.ts): counts batches of prompts, answering a tally with
// the sum since the last one, or a single count with its own.
import { parentPort } from "node:worker_threads";
import { countTokens, setMergeCacheSize } from "gpt-tokenizer";
import type { Message } from "./endpoints/index.ts";

// Prompts share their template, so a small cache of merges keeps the speed; the default
// (100,000 entries) grows with every new name and number, and memory with it; 5,000 entries
// took less memory than 20,000 in a 1,000,000-sample build, and no more time (BENCHMARKS.md).
setMergeCacheSize(5_000);

// A prompt's text is text: the service encodes "<|endoftext|>" in a message as ordinary
// characters, never as the special token, and the tokenizer's default refuses it instead.
const asText = { disallowedSpecial: new Set<string>() };
const countText = (text: string) => countTokens(text, asText);

let schemaTokens = 0;
let sinceTally = 0;

const tokensOf = (messages: Message[]) =>
  messages.reduce((sum, m) => sum + count(m.content) + 4, 3) + schemaTokens;

/**
 * BPE takes time quadratic in a run of text without spaces (a base64 blob, a 10 MB field of one
 * letter: hours): a long text is counted in pieces of at most PIECE characters, cut before a
 * word where there is one (exact: the same count as whole), else inside the run (a token or so more).
 */
function count(text: string): number {
  if (text.length <= LONG) return countText(text);
  let tokens = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + PIECE);
    if (end < text.length) {
      let gap = end;
      while (gap > start && !isWordStart(text, gap)) gap--;
      if (gap > start) end = gap;
    }
    tokens += countText(text.slice(start, end));
    start = end;
  }
  return tokens;
}

/** A single space before a word: the tokenizer's pieces start there, so a cut there changes no count. */
function isWordStart(text: string, at: number): boolean {
  return text[at] === " " && text[at - 1] !== " " && /\w/.test(text[at + 1] ?? "");
}

const LONG = 20_000;
const PIECE = 500;

interface Batch {
  prompts: Message[][];
  reply: "tally" | "count" | "none";
  /** Sent when the prompts' schema changes; null for none. */
  schema?: unknown;
  /** The first message of a new counter: nothing counted before it belongs to its tally. */
  fresh?: boolean;
}

parentPort!.on("message", ({ prompts, reply, schema, fresh }: Batch) => {
  if (fresh) sinceTally = 0;
  if (schema !== undefined) schemaTokens = schema === null ? 0 : countText(JSON.stringify(schema));
  if (reply === "count") return parentPort!.postMessage(tokensOf(prompts[0]!));
  for (const messages of prompts) sinceTally += tokensOf(messages);
  if (reply === "none") return parentPort!.postMessage(0);
  parentPort!.postMessage(sinceTally);
  sinceTally = 0;
});
