// The cache's key: what makes two requests the same request. Pure: the canonical request as the
// service receives it (its address, endpoint, body with sorted keys) less the token limit, which
// is matched apart (an answer that finished under a limit is an answer under any limit it fits),
// plus the run's seed, the sample's identity (so N identical prompts stay N samples) and the attempt.
import { hash } from "node:crypto";

/** Bumped when what goes into a key changes: old entries are then simply never found. */
const KEY_VERSION = 1;

/**
 * A value as JSON with every object's keys sorted: the same body, whatever order it was built in.
 * Written out by hand, not mapped and joined: every request of a rerun is keyed.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let json = "[";
    for (let i = 0; i < value.length; i++) json += (i ? "," : "") + canonicalJson(value[i]);
    return `${json}]`;
  }
  if (value && typeof value === "object") {
    let json = "";
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined) json += `${json ? "," : ""}${JSON.stringify(key)}:${canonicalJson(field)}`;
    }
    return `{${json}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** One call, not a Hash object fed and digested: a few times cheaper for a short text. */
function sha256(text: string): string {
  return hash("sha256", text);
}

/**
 * Where an endpoint's token limit sits in a request body: its field, or the path to it where it is
 * nested (Gemini's `generationConfig.maxOutputTokens`).
 */
export type LimitAt = string | readonly string[];

/** A request body's hash, less its token limit (`at`: where the endpoint puts it). */
export function bodyHash(body: Record<string, unknown>, at: LimitAt): string {
  return sha256(canonicalJson(withoutLimit(body, pathOf(at))));
}

/** The token limit a request body asks (NaN where it has none). */
export function limitIn(body: Record<string, unknown>, at: LimitAt): number {
  let value: unknown = body;
  for (const field of pathOf(at)) value = (value as Record<string, unknown>)?.[field];
  return Number(value);
}

const pathOf = (at: LimitAt): readonly string[] => (typeof at === "string" ? [at] : at);

/** The body without its limit: copied along the path to it, the body itself unchanged. */
function withoutLimit(
  body: Record<string, unknown>,
  [field, ...below]: readonly string[],
): Record<string, unknown> {
  if (field === undefined || !(field in body)) return body;
  const { [field]: inner, ...rest } = body;
  if (!below.length) return rest;
  return inner && typeof inner === "object"
    ? { ...rest, [field]: withoutLimit(inner as Record<string, unknown>, below) }
    : body;
}

/**
 * A sample's identity: its first request's body and how many identical first requests came before
 * it in the run (the replicate number). Later stages and attempts of the sample carry it, so two
 * samples whose judge prompts happen to match still get two answers.
 */
export function identityOf(firstBodyHash: string, replicate: number): string {
  return sha256(`${firstBodyHash}:${replicate}`).slice(0, 32);
}

/** Where the requests go: the vendor, its address and API version (the endpoint's path carries it). */
export interface Service {
  vendor: string;
  address: string;
  url: string;
}

/** The key of one request of one sample, at one attempt, in a run of `seed`. */
export function cacheKey(
  service: Service,
  seed: number,
  hashOfBody: string,
  identity: string,
  attempt: number,
): string {
  return sha256(
    JSON.stringify([
      KEY_VERSION,
      service.vendor,
      service.address,
      service.url,
      hashOfBody,
      seed,
      identity,
      attempt,
    ]),
  );
}

/** What a kept answer says about itself: enough to tell whether it answers a request under a new limit. */
export interface Kept {
  /** The token limit it was asked with. */
  limit: number;
  completionTokens: number;
}

/**
 * Whether a kept answer (it finished, never cut off) answers a request asking `limit`: asked with the
 * same limit, or it took fewer tokens than the new limit allows, so it would have finished under it too.
 */
export function answersUnder(kept: Kept, limit: number): boolean {
  return kept.limit === limit || kept.completionTokens < limit;
}

/**
 * Whether an answer may be kept: it finished on its own (not cut at its limit or filtered) and says
 * something, and the model did not refuse. Errors never get here (only 200 answers are offered).
 */
export function keepable(
  answer: { finish: string | undefined; text: string | undefined },
  body: unknown,
): boolean {
  return answer.finish === "stop" && Boolean(answer.text?.trim()) && !refusedIn(body);
}

/** A refusal in an answer's body: chat's `message.refusal`, or a Responses `refusal` content part. */
function refusedIn(body: unknown): boolean {
  const b = body as {
    choices?: { message?: { refusal?: unknown } }[];
    output?: { content?: { type?: string }[] }[];
  };
  if (b?.choices?.some((c) => c.message?.refusal)) return true;
  return Boolean(b?.output?.some((item) => item.content?.some((part) => part.type === "refusal")));
}
