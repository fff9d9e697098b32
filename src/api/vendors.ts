// The vendors whose batch services synthai speaks, one entry each: where its key and address
// come from (the variables its own SDK reads), how a model is marked as its, and what its
// batches are like for a person waiting on them. Services shaped like OpenAI's (Groq, Together,
// Azure, …) are presets of vendor "openai" (providers/presets.ts).
import type { Vendor } from "./batch-service.ts";
import { UserError } from "../errors.ts";

export interface VendorInfo {
  title: string;
  /** The variables that hold its key, as its SDK reads them, first found wins. */
  keyVariables: string[];
  /** The variable its SDK reads for another address (a proxy, a fake). */
  baseURLVariable: string;
  /** `anthropic/claude-haiku-5-5`: the prefix that names a model as this vendor's. */
  prefix: string;
  /** The share of the list price its batches are billed at. */
  batchShare: number;
  /** Whether a batch's request counts move while it runs (else unknown until it ends). */
  liveCounts: boolean;
  /** How long its batches typically take, in hours: an ETA before counts move is an estimate from it. */
  typicalHours: number;
  /** How its prompt cache bills a prefix every request shares; absent: nothing documented, no saving shown. */
  prefixCache?: PrefixCacheRule;
  /** The document (and when it was read) the entry follows. */
  source: string;
}

/** What the dry run and preview price a stage's shared prompt prefix by (pricing.ts prefixCacheOf). */
export interface PrefixCacheRule {
  /** What it caches: any prompt start seen before, or only the system prompt synthai marks. */
  part: "prefix" | "system";
  /** The shortest part cached, in tokens, where the model's catalogue entry gives none (cacheMinTokens). */
  minTokens: number;
  /** It bills the cached part in steps of so many tokens. */
  stepTokens: number;
  /** The first request writes the part to the cache, billed at the cache-write price. */
  writes: boolean;
}

export const VENDORS: Record<Vendor, VendorInfo> = {
  openai: {
    title: "OpenAI",
    keyVariables: ["OPENAI_API_KEY"],
    baseURLVariable: "OPENAI_BASE_URL",
    prefix: "openai/",
    batchShare: 0.5,
    liveCounts: true,
    typicalHours: 24,
    // Prompt caching: a prefix seen before, from 1,024 tokens in steps of 128, at the cached price, in batches too.
    prefixCache: { part: "prefix", minTokens: 1024, stepTokens: 128, writes: false },
    source: "OpenAI API reference, Batch; ../shared/openai (checked 2026-11)",
  },
  anthropic: {
    title: "Anthropic",
    keyVariables: ["ANTHROPIC_API_KEY"],
    baseURLVariable: "ANTHROPIC_BASE_URL",
    prefix: "anthropic/",
    // "Batch is 50% of list on input and output" (platform.claude.com pricing).
    batchShare: 0.5,
    liveCounts: false,
    // "Most batches finish in less than 1 hour" (docs.claude.com, Batch processing).
    typicalHours: 1,
    // Only the system prompt is marked (endpoints/messages.ts): read at the cached price, written once at CACHE_TTL's.
    prefixCache: { part: "system", minTokens: 1024, stepTokens: 1, writes: true },
    source: "docs.claude.com Batch processing; anthropic-sdk-typescript (read 2026-12-07)",
  },
  gemini: {
    title: "Gemini",
    keyVariables: ["GOOGLE_API_KEY", "GEMINI_API_KEY"],
    baseURLVariable: "GOOGLE_GEMINI_BASE_URL",
    prefix: "gemini/",
    // "Price: 50% of standard" (ai.google.dev Batch API).
    batchShare: 0.5,
    liveCounts: false,
    // "The target turnaround time is 24 hours, but in majority of cases, it is much quicker."
    typicalHours: 24,
    // No prefixCache: ../shared/vendors says nothing of Gemini's (implicit) caching in batches.
    source: "ai.google.dev/gemini-api/docs/batch-api; googleapis/js-genai (read 2026-12-07)",
  },
};

export const VENDOR_NAMES = Object.keys(VENDORS) as Vendor[];

/** A vendor's key from its own variables, as its SDK reads them: the first one set wins. */
export function keyInEnv(
  vendor: Vendor,
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  return VENDORS[vendor].keyVariables.map((name) => env[name]).find(Boolean);
}

/**
 * The one line for a vendor's key missing, whoever finds it (the run before anything is built, or
 * the service as it is made): the variables that give it, never a key. `forWhat`: the stage.
 */
export function missingKey(vendor: Vendor, forWhat?: string, why?: string): UserError {
  const { title, keyVariables } = VENDORS[vendor];
  const first = keyVariables.length > 1 ? " (the first wins when both are set)" : "";
  return new UserError(
    `no ${title} API key${forWhat ? ` for ${forWhat}` : ""}`,
    `set ${keyVariables.join(" or ")}${first}${why ? `: ${why}` : ""}`,
  );
}

/**
 * An API address, checked before any SDK is given it: http(s), a host, a port that can be one (an
 * SDK fails on anything else with a TypeError, and no line a person can act on). `given` names
 * where it came from (`--base-url "…"`, `$ANTHROPIC_BASE_URL "…"`).
 */
export function checkedAddress(value: string, given: string, hint: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`${given} is not a URL`, hint);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UserError(`${given} does not start with http:// or https://`, hint);
  if (!url.hostname) throw new UserError(`${given} names no host`, hint);
  if (url.port === "0") throw new UserError(`${given} has port 0`, "give a port from 1 to 65535");
  return value;
}

/** A vendor's address from its own variable (a proxy, a fake), checked; undefined when unset. */
export function addressInEnv(vendor: Vendor, env: Record<string, string | undefined> = process.env) {
  const variable = VENDORS[vendor].baseURLVariable;
  const value = env[variable];
  if (!value) return undefined;
  return checkedAddress(
    value,
    `$${variable} "${value}"`,
    `set it to the server's address with its scheme (e.g. http://localhost:8000), or unset it`,
  );
}
