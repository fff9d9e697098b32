// The service's prompt cache, as OpenAI documents it: a prompt's prefix seen before (by the same
// organisation, recently) is billed at the cached input price, from 1,024 tokens on and in steps
// of 128 tokens. The fake's token is four characters (models.ts), so a step is 512 characters.
import { createHash } from "node:crypto";

// The service's own numbers: the fake models the service apart from synthai (api/pricing.ts has synthai's).
const CACHE_MIN_TOKENS = 1024;
const CACHE_STEP_TOKENS = 128;
const CHARS_PER_TOKEN = 4;

/**
 * Prefixes kept by their hash, the least recently used forgotten first ("recently"): a
 * million-request run keeps the fake's memory flat, and a prefix every request shares is never
 * forgotten, since each request uses it again.
 */
export class PrefixCache {
  private readonly seen = new Map<string, true>();
  private readonly capacity: number;

  constructor(capacity = 200_000) {
    this.capacity = capacity;
  }

  /**
   * Of a prompt of `tokens` tokens whose text is `text`, the tokens billed as cached: its longest
   * prefix seen before, in steps of 128 from 1,024. Every prefix of it is remembered after.
   */
  cachedTokens(text: string, tokens: number): number {
    const longest = Math.min(tokens, Math.floor(text.length / CHARS_PER_TOKEN));
    if (longest < CACHE_MIN_TOKENS) return 0;
    const hash = createHash("sha1");
    let hashed = 0;
    let cached = 0;
    for (let k = CACHE_MIN_TOKENS; k <= longest; k += CACHE_STEP_TOKENS) {
      hash.update(text.slice(hashed, k * CHARS_PER_TOKEN));
      hashed = k * CHARS_PER_TOKEN;
      const key = hash.copy().digest("base64");
      if (this.seen.delete(key)) cached = k;
      this.seen.set(key, true);
    }
    while (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return cached;
  }
}
