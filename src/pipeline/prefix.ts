// The service's prompt cache, seen from the prompts: how much of a stage's prompt every request
// shares from its start, what its vendor's cache bills of it at the cached price (api/vendors.ts
// prefixCache: OpenAI's any prefix, Claude's system prompt alone), and where a placeholder near
// the start keeps a long static part out of it. Pure: the caller counts tokens.
import type { Message } from "../api/endpoints/index.ts";
import { cacheableTokens, cacheSavedUsd, formatUsd, type Price } from "../api/pricing.ts";
import type { PrefixCacheRule } from "../api/vendors.ts";
import type { Draw } from "../dataset/spec.ts";

/** Counts a prompt's tokens as the service bills them (the token counter's `count`). */
export type CountTokens = (messages: Message[]) => Promise<number>;

/**
 * The messages every prompt so far begins with, given those of the prompts before (`shared`,
 * undefined for none yet) and the next one: whole messages, then the common start of the first
 * that differs. Folded over a stage's requests it is the prefix they all share, in the memory of one.
 */
export function sharedStart(shared: Message[] | undefined, next: Message[]): Message[] {
  if (!shared) return next;
  const out: Message[] = [];
  for (let i = 0; i < Math.min(shared.length, next.length); i++) {
    const [a, b] = [shared[i]!, next[i]!];
    if (a.role !== b.role) break;
    if (a.content === b.content) {
      out.push(a);
      continue;
    }
    let n = 0;
    while (n < a.content.length && a.content[n] === b.content[n]) n++;
    if (n) out.push({ role: a.role, content: a.content.slice(0, n) });
    break;
  }
  return out;
}

// A placeholder's value in a marked draw: its name between two characters no prompt holds.
const OPEN = "\u0000";
const CLOSE = "\u0001";
const MARK = /\u0000([^\u0001]*)\u0001/g;

/** The draw with every value (parameter, generated value, input column, earlier field) a mark naming it. */
export function markedDraw(draw: Draw): Draw {
  const mark = (values: Record<string, string> | undefined) =>
    values && Object.fromEntries(Object.keys(values).map((name) => [name, `${OPEN}${name}${CLOSE}`]));
  return {
    params: Object.fromEntries(Object.entries(draw.params).map(([group, chosen]) => [group, mark(chosen)!])),
    values: mark(draw.values)!,
    ...(draw.row ? { row: mark(draw.row)!, kept: mark(draw.kept ?? {})! } : {}),
    ...(draw.fields ? { fields: mark(draw.fields)! } : {}),
  };
}

/**
 * A prompt rendered from a marked draw, cut at its first placeholder: the messages before it
 * (the same in every request), the placeholder's name, and the static text after it.
 */
export function splitAtPlaceholder(messages: Message[]): {
  before: Message[];
  placeholder?: string;
  after: string;
} {
  const before: Message[] = [];
  for (const [i, m] of messages.entries()) {
    const at = m.content.indexOf(OPEN);
    if (at < 0) {
      before.push(m);
      continue;
    }
    if (at > 0) before.push({ role: m.role, content: m.content.slice(0, at) });
    const placeholder = m.content.slice(at + 1, m.content.indexOf(CLOSE, at));
    const rest = [m.content.slice(at), ...messages.slice(i + 1).map((n) => n.content)].join("\n");
    return { before, placeholder, after: rest.replace(MARK, "") };
  }
  return { before, after: "" };
}

/**
 * What a stage's shared prefix saves by its vendor's rule: the part cached (the shared prefix, or
 * the system prompt alone) read at the cached price by every request but the first, less what
 * writing it costs above the input price where the vendor bills a write (the first request's).
 */
export function prefixSaving(
  price: Price,
  rule: PrefixCacheRule,
  requests: number,
  tokens: { sharedTokens: number; systemTokens: number },
): { cachedTokens: number; savedUsd: number } {
  const cachedTokens = cachedPart(rule, tokens);
  const reads = cacheSavedUsd(price, cachedTokens * Math.max(requests - 1, 0));
  const write = rule.writes ? (cachedTokens * ((price.cacheWrite ?? price.input) - price.input)) / 1e6 : 0;
  return { cachedTokens, savedUsd: reads - write };
}

/** The tokens the vendor bills as cached: of the shared prefix, or of the system prompt alone. */
function cachedPart(rule: PrefixCacheRule, tokens: { sharedTokens: number; systemTokens: number }): number {
  return cacheableTokens(rule.part === "system" ? tokens.systemTokens : tokens.sharedTokens, rule);
}

export interface StagePrefix {
  stage: number;
  model: string;
  /** None where the model's price is not known (a preview of a model outside the catalogue). */
  price: Price | undefined;
  /** How its vendor caches (pricing.ts prefixCacheOf); none where nothing is documented (Gemini). */
  cache: PrefixCacheRule | undefined;
  /** The vendor's name, for the lines. */
  vendor: string;
  /** Requests the figure is over ("at most", for a later stage before any answer exists). */
  requests: number;
  sharedTokens: number;
  /** The system prompt's tokens where every request's is the same, else 0. */
  systemTokens: number;
  /** The first placeholder, where it is, and the static tokens after it. */
  placeholder?: { name: string; atToken: number; staticAfter: number };
}

/** The dry run's and preview's line for a stage: the prefix its requests share, and what it saves. */
export function prefixLine(p: StagePrefix): string {
  const head = `stage ${p.stage} (${p.model}): ${p.sharedTokens} prompt tokens are a prefix shared by all requests`;
  if (!p.cache) return `${head}; ${p.vendor}'s caching in batches is not documented, so no saving is shown`;
  const cachedTokens = cachedPart(p.cache, p);
  const system = p.cache.part === "system";
  const caches = system
    ? `${p.vendor} caches only the system prompt (${p.systemTokens} tokens here) from ${p.cache.minTokens}`
    : `the service caches from ${p.cache.minTokens}`;
  if (!cachedTokens) return `${head}; ${caches}, so none is billed as cached`;
  const cached = system
    ? `${head}; the system prompt's ${cachedTokens} billed at the cached price after the first request, which writes them at the cache-write price`
    : `${head}; ${cachedTokens} of them billed at the cached price after the first request`;
  if (!p.price) return `${cached} (no price known for ${p.model})`;
  const { savedUsd } = prefixSaving(p.price, p.cache, p.requests, p);
  return `${cached}: saves ${formatUsd(savedUsd)} over ${p.requests} requests`;
}

/** A warning where a placeholder near the start leaves a long static part after it, out of the cache. */
export function prefixWarning(p: StagePrefix): string | undefined {
  const at = p.placeholder;
  if (!at || !p.cache || at.staticAfter < p.cache.minTokens) return undefined;
  return (
    `warning: stage ${p.stage}: {{${at.name}}} at token ${at.atToken} comes before ${at.staticAfter} tokens ` +
    "of static text, which the service's prefix cache cannot reuse there; put the static text (system, " +
    "rubric, instructions, examples) first and the placeholders after it"
  );
}

/** A hint where the vendor caches the system prompt alone and a long shared part sits in the messages. */
export function prefixHint(p: StagePrefix): string | undefined {
  const inMessages = p.sharedTokens - p.systemTokens;
  if (p.cache?.part !== "system" || inMessages < p.cache.minTokens) return undefined;
  return (
    `hint: stage ${p.stage}: ${inMessages} shared prompt tokens are in the messages, which ${p.vendor} ` +
    "does not cache (synthai marks only the system prompt); move the static part (rubric, " +
    "instructions, examples) into `system:`"
  );
}

/** The prefix a stage's requests share, folded as they are built: one prompt's memory, whatever the run's size. */
export class SharedPrefix {
  messages: Message[] | undefined;
  requests = 0;
  /** The first request's draw, for the placeholder warning. */
  first: Draw | undefined;

  add(messages: Message[], draw: Draw): void {
    this.messages = sharedStart(this.messages, messages);
    this.first ??= draw;
    this.requests++;
  }
}

/**
 * A stage's figures: from the prefix its requests share where they are built, else (a later
 * stage before any answer, or a preview) from a prompt rendered from a marked draw, whose text
 * before the first placeholder is what every request shares.
 */
export async function stagePrefix(
  stage: Omit<StagePrefix, "sharedTokens" | "systemTokens" | "placeholder">,
  marked: Message[] | undefined,
  count: CountTokens,
  shared?: Message[],
): Promise<StagePrefix> {
  const split = marked && splitAtPlaceholder(marked);
  const prefix = shared ?? split?.before ?? [];
  const sharedTokens = prefix.length ? await count(prefix) : 0;
  const system = staticSystem(marked, shared);
  const figures = { ...stage, sharedTokens, systemTokens: system.length ? await count(system) : 0 };
  if (!split?.placeholder) return figures;
  const textTokens = async (content: string) =>
    (await count([{ role: "user", content }])) - (await count([{ role: "user", content: "" }]));
  const placeholder = {
    name: split.placeholder,
    atToken: split.before.length ? await count(split.before) : 0,
    staticAfter: await textTokens(split.after),
  };
  return { ...figures, placeholder };
}

/**
 * The prompt's system messages (all of them: the Messages API sends them as one system prompt)
 * where every request's are the same: none holds a placeholder, and each is whole in the prefix
 * the built requests share; else none.
 */
function staticSystem(marked: Message[] | undefined, shared: Message[] | undefined): Message[] {
  const system = (marked ?? []).filter((m) => m.role === "system" || m.role === "developer");
  const same = (m: Message) =>
    !m.content.includes(OPEN) &&
    (!shared || shared.some((s) => s.role === m.role && s.content === m.content));
  return system.every(same) ? system : [];
}
