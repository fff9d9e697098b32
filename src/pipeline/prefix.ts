// The service's prompt cache, seen from the prompts: how much of a stage's prompt every request
// shares from its start (what the cache can bill at the cached price), and where a placeholder
// near the start keeps a long static part out of it. Pure: the caller counts tokens.
import type { Message } from "../api/endpoints/index.ts";
import { CACHE_MIN_TOKENS, cacheableTokens, cacheSavedUsd, formatUsd, type Price } from "../api/pricing.ts";
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

/** What a stage's shared prefix saves: tokens billed as cached per request (all but the first), and in all. */
export function prefixSaving(
  price: Price,
  requests: number,
  sharedTokens: number,
): { cachedTokens: number; savedUsd: number } {
  const cachedTokens = cacheableTokens(sharedTokens);
  return { cachedTokens, savedUsd: cacheSavedUsd(price, cachedTokens * Math.max(requests - 1, 0)) };
}

export interface StagePrefix {
  stage: number;
  model: string;
  /** None where the model's price is not known (a preview of a model outside the catalogue). */
  price: Price | undefined;
  /** Requests the figure is over ("at most", for a later stage before any answer exists). */
  requests: number;
  sharedTokens: number;
  /** The first placeholder, where it is, and the static tokens after it. */
  placeholder?: { name: string; atToken: number; staticAfter: number };
}

/** The dry run's and preview's line for a stage: the prefix its requests share, and what it saves. */
export function prefixLine(p: StagePrefix): string {
  const cachedTokens = cacheableTokens(p.sharedTokens);
  const head = `stage ${p.stage} (${p.model}): ${p.sharedTokens} prompt tokens are a prefix shared by all requests`;
  if (!cachedTokens)
    return `${head}; the service caches from ${CACHE_MIN_TOKENS}, so none is billed as cached`;
  const cached = `${head}; ${cachedTokens} of them billed at the cached price after the first request`;
  if (!p.price) return `${cached} (no price known for ${p.model})`;
  const { savedUsd } = prefixSaving(p.price, p.requests, p.sharedTokens);
  return `${cached}: saves ${formatUsd(savedUsd)} over ${p.requests} requests`;
}

/** A warning where a placeholder near the start leaves a long static part after it, out of the cache. */
export function prefixWarning(p: StagePrefix): string | undefined {
  const at = p.placeholder;
  if (!at || at.staticAfter < CACHE_MIN_TOKENS) return undefined;
  return (
    `warning: stage ${p.stage}: {{${at.name}}} at token ${at.atToken} comes before ${at.staticAfter} tokens ` +
    "of static text, which the service's prefix cache cannot reuse there; put the static text (system, " +
    "rubric, instructions, examples) first and the placeholders after it"
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
  stage: Omit<StagePrefix, "sharedTokens" | "placeholder">,
  marked: Message[] | undefined,
  count: CountTokens,
  shared?: Message[],
): Promise<StagePrefix> {
  const split = marked && splitAtPlaceholder(marked);
  const prefix = shared ?? split?.before ?? [];
  const sharedTokens = prefix.length ? await count(prefix) : 0;
  if (!split?.placeholder) return { ...stage, sharedTokens };
  const textTokens = async (content: string) =>
    (await count([{ role: "user", content }])) - (await count([{ role: "user", content: "" }]));
  const placeholder = {
    name: split.placeholder,
    atToken: split.before.length ? await count(split.before) : 0,
    staticAfter: await textTokens(split.after),
  };
  return { ...stage, sharedTokens, placeholder };
}
