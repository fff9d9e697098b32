// The model catalogue: what each model costs, how it reasons, what it takes and when it shuts
// down. Data, dated and sourced; prices move monthly, so check `synthai models --check`
// against the service and update this table (flags override it for a run).
import { UserError } from "../errors.ts";
import type { Vendor } from "./batch-service.ts";
import { VENDORS, VENDOR_NAMES } from "./vendors.ts";

export const CATALOGUE_AS_OF = "2026-11-30";
export const CATALOGUE_SOURCES = [
  "OpenAI's model, pricing and deprecation pages (late November 2026)",
  "the openai SDK 7.57 typings",
  "Anthropic's model pages on platform.claude.com (2026-12-07)",
];

export const EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type Effort = (typeof EFFORTS)[number];

export interface Model {
  /** Standard (synchronous) prices, USD per 1M tokens; cached input as billed when a prompt's prefix is cached. */
  input: number;
  cachedInput?: number;
  output: number;
  /** Reasoning efforts it accepts, and the one it uses when none is asked; absent: it does not reason. */
  efforts?: readonly Effort[];
  defaultEffort?: Effort;
  /** The date it shuts down (YYYY-MM-DD), and what OpenAI names to use instead. */
  shutdown?: string;
  replacement?: string;
  /** A figure from one secondary source only. */
  unsure?: boolean;
  /** Whose model it is; absent: OpenAI's. */
  vendor?: Vendor;
  /** Writing a prompt's prefix to the cache, USD per 1M tokens, for 5 minutes and for an hour (Anthropic). */
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  /** Whether it answers to a JSON schema; absent: it does (every OpenAI model here). */
  structuredOutput?: boolean;
  /** It takes a temperature while it reasons (Gemini); OpenAI's reasoning models refuse one. */
  temperatureWhileReasoning?: boolean;
  /** Its reasoning is the vendor's thinking setting (Claude), asked for with the same efforts. */
  thinking?: boolean;
  /** Its thinking takes a token budget (budget_tokens), not an effort (Claude before 5.5). */
  thinkingBudget?: boolean;
  /** The most tokens an answer may take, where the vendor checks it only when a batch ends (Claude). */
  maxOutput?: number;
  /** The shortest prompt prefix its vendor caches, in tokens, where a prefix is cached only when marked (Claude). */
  cacheMinTokens?: number;
  /** Where its figures come from and when they were read, where not OpenAI's pages of CATALOGUE_SOURCES. */
  source?: string;
}

/**
 * How long synthai asks Anthropic to keep a cached prefix: the hour Anthropic advises for batches
 * (a batch may take that long); its writes are priced at that lifetime's rate (cacheWritePrice).
 */
export const CACHE_TTL: "5m" | "1h" = "1h";

/** What writing a prefix to the cache costs at CACHE_TTL, list USD per 1M tokens; absent: unpublished. */
export function cacheWritePrice(model: Model): number | undefined {
  return CACHE_TTL === "1h" ? model.cacheWrite1h : model.cacheWrite5m;
}

const ALL: readonly Effort[] = EFFORTS;
const NOT_NONE = EFFORTS.slice(1);
const NOT_NONE_OR_MINIMAL = EFFORTS.slice(2);
const reasoning = (efforts: readonly Effort[] = ALL) => ({ efforts, defaultEffort: "medium" as const });

const CLAUDE_SOURCE =
  "platform.claude.com model pages, read 2026-12-07 (../shared/vendors/VENDORS-2026-12.md)";
const claude = (model: Partial<Model> & Pick<Model, "input" | "output">): Model => ({
  vendor: "anthropic",
  // Thinking is off unless asked: "none" is both the cheapest and the model's own default.
  efforts: ALL,
  defaultEffort: "none",
  thinking: true,
  // Structured outputs are generally available on the Messages API (`output_config.format`).
  structuredOutput: true,
  // No floor is published for the 5.5 models: Sonnet's and Opus 4.1's, until one is.
  cacheMinTokens: 1024,
  source: CLAUDE_SOURCE,
  ...model,
});

/** The older Claude models: thinking within a budget, prices and limits from Anthropic's pages as last read. */
const OLDER_CLAUDE_SOURCE = "platform.claude.com pricing and models overview (?), not in ../shared/vendors";
const olderClaude = (model: Partial<Model> & Pick<Model, "input" | "output">): Model =>
  claude({ thinkingBudget: true, unsure: true, source: OLDER_CLAUDE_SOURCE, ...model });

/**
 * Anthropic's models, by the ids its API takes, with the longest answer each takes. Haiku 5.5's
 * prices are "from" figures seen in one source, and no cache prices are published for it: its
 * cache writes and reads are priced at its input price until they are.
 */
const CLAUDE: Record<string, Model> = {
  "claude-haiku-5-5": claude({ input: 0.1, output: 0.5, unsure: true, maxOutput: 64_000 }),
  "claude-sonnet-5-5": claude({
    input: 2,
    output: 10,
    cacheWrite5m: 2.5,
    cacheWrite1h: 4,
    cachedInput: 0.2,
    maxOutput: 128_000,
  }),
  "claude-opus-5-5": claude({
    input: 4,
    output: 20,
    cacheWrite5m: 5,
    cacheWrite1h: 8,
    cachedInput: 0.2,
    maxOutput: 128_000,
  }),
  "claude-haiku-4-5": olderClaude({
    input: 1,
    output: 5,
    cacheWrite5m: 1.25,
    cacheWrite1h: 2,
    cachedInput: 0.1,
    maxOutput: 64_000,
    cacheMinTokens: 4096,
  }),
  // Structured outputs came with the 4.5 models.
  "claude-opus-4-1": olderClaude({
    input: 15,
    output: 75,
    cacheWrite5m: 18.75,
    cacheWrite1h: 30,
    cachedInput: 1.5,
    maxOutput: 32_000,
    structuredOutput: false,
  }),
};

// Gemini: ../shared/vendors/VENDORS-2026-12.md gives only "batch is 50% of standard"; the list
// prices are Google's pricing page (standard paid tier, prompts up to 200k tokens) as last read,
// from one source: each is `unsure`, and --list-input-price/--list-output-price override them.
const GEMINI_SOURCE =
  "ai.google.dev/gemini-api/docs/pricing (?), batch share from ../shared/vendors, read 2026-12-07";
const LEVELS: readonly Effort[] = ["minimal", "low", "medium", "high"];
const gemini = (model: Pick<Model, "input" | "output" | "cachedInput" | "efforts">): Model => ({
  vendor: "gemini",
  defaultEffort: model.efforts![0]!,
  thinking: true,
  // Gemini takes a temperature whatever it thinks (generationConfig).
  temperatureWhileReasoning: true,
  structuredOutput: true,
  unsure: true,
  source: GEMINI_SOURCE,
  ...model,
});

/** Google's Gemini models, by the ids its API takes: Gemini 3 thinks at a level, 2.5 within a budget (0: off, Flash only). */
const GEMINI: Record<string, Model> = {
  "gemini-3-pro": gemini({ input: 2, output: 12, cachedInput: 0.2, efforts: ["low", "high"] }),
  "gemini-3-flash": gemini({ input: 0.5, output: 3, cachedInput: 0.05, efforts: LEVELS }),
  "gemini-2.5-pro": gemini({ input: 1.25, output: 10, cachedInput: 0.125, efforts: LEVELS }),
  "gemini-2.5-flash": gemini({ input: 0.3, output: 2.5, cachedInput: 0.03, efforts: ["none", ...LEVELS] }),
  "gemini-2.5-flash-lite": gemini({
    input: 0.1,
    output: 0.4,
    cachedInput: 0.01,
    efforts: ["none", ...LEVELS],
  }),
};

export const MODELS: Record<string, Model> = {
  "gpt-6-luna": { input: 0.1, cachedInput: 0.01, output: 0.5, ...reasoning() },
  "gpt-6.1-terra": { input: 1, cachedInput: 0.05, output: 5, ...reasoning() },
  "gpt-6.1-sol": { input: 2, cachedInput: 0.1, output: 10, ...reasoning(NOT_NONE) },
  "gpt-6.2-sol": { input: 2, cachedInput: 0.1, output: 10, ...reasoning(NOT_NONE_OR_MINIMAL) },
  "gpt-6-sol": { input: 2, cachedInput: 0.2, output: 10, ...reasoning() },
  "gpt-6.2-astra": {
    input: 8,
    cachedInput: 0.4,
    output: 40,
    ...reasoning(NOT_NONE_OR_MINIMAL),
    unsure: true,
  },
  "gpt-6-astra": { input: 10, cachedInput: 1, output: 50, ...reasoning(NOT_NONE) },
  "gpt-5.6-sol": { input: 4, cachedInput: 0.4, output: 20, ...reasoning() },
  "gpt-5.6-terra": { input: 2, cachedInput: 0.2, output: 12, ...reasoning() },
  "gpt-5.6-luna": { input: 0.2, cachedInput: 0.02, output: 1.2, ...reasoning() },
  "gpt-5.5": { input: 5, output: 30, ...reasoning() },
  "gpt-5.4": { input: 2.5, cachedInput: 0.25, output: 15, ...reasoning() },
  "gpt-5.4-mini": { input: 0.75, cachedInput: 0.075, output: 4.5, ...reasoning() },
  "gpt-5.4-nano": { input: 0.2, cachedInput: 0.02, output: 1.25, ...reasoning(), shutdown: "2027-04-01" },
  "gpt-5.2": { input: 1.75, cachedInput: 0.175, output: 14, ...reasoning() },
  "gpt-5.1": {
    input: 1.25,
    cachedInput: 0.125,
    output: 10,
    ...reasoning(EFFORTS.filter((e) => e !== "minimal")),
    shutdown: "2027-04-01",
  },
  "gpt-5": {
    input: 1.25,
    output: 10,
    ...reasoning(NOT_NONE),
    shutdown: "2026-12-11",
    replacement: "gpt-6.1-sol",
  },
  "gpt-5-mini": {
    input: 0.25,
    output: 2,
    ...reasoning(NOT_NONE),
    shutdown: "2026-12-11",
    replacement: "gpt-6.1-terra",
  },
  "gpt-5-nano": {
    input: 0.05,
    output: 0.4,
    ...reasoning(NOT_NONE),
    shutdown: "2026-12-11",
    replacement: "gpt-6-luna",
  },
  "gpt-4o-mini": {
    input: 0.15,
    cachedInput: 0.075,
    output: 0.6,
    shutdown: "2027-01-14",
    replacement: "gpt-6-luna",
  },
  "gpt-4o": { input: 2.5, output: 10, shutdown: "2027-01-14", replacement: "gpt-6-luna" },
  "gpt-4.1": { input: 2, output: 8, shutdown: "2027-01-14", replacement: "gpt-6-luna" },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, shutdown: "2027-01-14", replacement: "gpt-6-luna" },
  ...CLAUDE,
  ...GEMINI,
};

/** Shut down already: refused with what to use instead. */
const GONE: Record<string, { shutdown: string; replacement: string }> = Object.fromEntries([
  ...[
    "gpt-3.5-turbo",
    "gpt-4",
    "gpt-4-turbo",
    "gpt-4o-2024-05-13",
    "gpt-4.1-nano",
    "o1",
    "o1-pro",
    "o3-mini",
    "o4-mini",
  ].map((id) => [id, { shutdown: "2026-10-23", replacement: "gpt-5.6-sol, gpt-5.6-terra or gpt-5.6-luna" }]),
  ...["gpt-5-pro", "o3", "o3-pro"].map((id) => [id, { shutdown: "2026-12-11", replacement: "gpt-6.1-sol" }]),
]);

/** Hidden tokens an answer typically spends on reasoning at each effort (OpenAI's guidance, rounded). */
export const EXPECTED_REASONING: Record<Effort, number> = {
  none: 0,
  minimal: 50,
  low: 200,
  medium: 800,
  high: 2000,
  xhigh: 4000,
  max: 8000,
};

/** The default: current, cheap, with no announced shutdown. */
export const DEFAULT_MODEL = "gpt-6-luna";

/** A model's entry; a dated snapshot (gpt-4o-mini-2024-07-18) is its family's; `anthropic/…` is the bare id's. */
export function modelInfo(model: string): Model | undefined {
  const bare = bareModel(model);
  const info = MODELS[bare] ?? MODELS[familyOf(bare)];
  // `gemini/gpt-6-luna` is some other service's model of that name, not OpenAI's.
  const prefixed = prefixedVendor(model);
  return prefixed && prefixed !== (info?.vendor ?? "openai") ? undefined : info;
}

/**
 * The vendor a prefix (`anthropic/`, `gemini/`) names, if the model has one. `openai/` is not
 * read as one: services shaped like OpenAI's serve models by such names (Groq's `openai/gpt-oss-20b`).
 */
export function prefixedVendor(model: string): Vendor | undefined {
  return VENDOR_NAMES.find((vendor) => vendor !== "openai" && model.startsWith(VENDORS[vendor].prefix));
}

/** What the service is sent: the model's id without a vendor's prefix. */
export function bareModel(model: string): string {
  const vendor = prefixedVendor(model);
  return vendor ? model.slice(VENDORS[vendor].prefix.length) : model;
}

function familyOf(model: string): string {
  return model.replace(/-\d{4}-\d{2}-\d{2}$/, "");
}

/** The effort synthai asks for when none is given: the cheapest the model accepts ("none" where it can). */
export function cheapestEffort(model: Model): Effort | undefined {
  return model.efforts?.[0];
}

/**
 * Refuses, before anything is built, a request the model would refuse on every line: a model
 * that is shut down (or will be before a batch could finish), an effort it does not take, a
 * temperature while it reasons.
 */
export function checkRequestShape(
  model: string,
  shape: { effort?: Effort; temperature?: number },
  today = new Date(),
): void {
  model = bareModel(model);
  const gone = GONE[model] ?? GONE[familyOf(model)];
  const info = modelInfo(model);
  const shutdown = gone?.shutdown ?? info?.shutdown;
  // A batch may take 24 hours: a model shutting down before then cannot finish it.
  if (shutdown && Date.parse(`${shutdown}T00:00:00Z`) <= today.getTime() + 24 * 3600 * 1000) {
    const instead = gone?.replacement ?? info?.replacement;
    throw new UserError(
      `model ${model} shuts down on ${shutdown}`,
      instead
        ? `use ${instead} (--model ${instead.split(/[ ,]/)[0]})`
        : "choose a current model; `synthai models` lists them",
    );
  }
  if (!info) return;
  if (!info.efforts) {
    if (shape.effort && shape.effort !== "none")
      throw new UserError(
        `model ${model} does not reason; --reasoning-effort ${shape.effort} would be refused`,
        "leave --reasoning-effort out",
      );
    return;
  }
  const effort = shape.effort ?? cheapestEffort(info);
  if (effort && !info.efforts.includes(effort))
    throw new UserError(
      `model ${model} does not take --reasoning-effort ${effort}`,
      `use one of ${info.efforts.join(", ")}`,
    );
  if (shape.temperature !== undefined && effort !== "none" && !info.temperatureWhileReasoning)
    throw new UserError(
      `model ${model} refuses a temperature while it reasons (effort ${effort})`,
      info.efforts.includes("none")
        ? "add --reasoning-effort none, or leave --temperature out"
        : "leave --temperature out: this model always reasons",
    );
}

/** Days until a model shuts down, if it is to (for the warning before a run). */
export function daysLeft(shutdown: string | null | undefined, today = new Date()): number | undefined {
  if (!shutdown) return undefined;
  return Math.floor((Date.parse(`${shutdown}T00:00:00Z`) - today.getTime()) / (24 * 3600 * 1000));
}
