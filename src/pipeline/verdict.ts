// The verdict on one answer: what a line of an output or error file says about its sample. Pure.
import { parseAnswer, type Dataset } from "../dataset/spec.ts";
import { endpointFor, type Endpoint } from "../api/endpoints/index.ts";
import type { LineVerdict } from "../run/records.ts";
import { isTransientStatus } from "../api/client.ts";

/** The custom_id of a raw result line, without parsing all of it (it may be corrupt). */
export function customIdOf(line: string): string | undefined {
  return /"custom_id"\s*:\s*"([^"]+)"/.exec(line)?.[1];
}

/** A line of a Batch-API output or error file as JSON, or undefined if it is not JSON (a corrupt download). */
export function parseResultLine(line: string): any {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The text of a result line's answer, as its endpoint reads it. */
export function completionText(result: any, endpoint: Endpoint): string | undefined {
  return endpoint.read(result?.response?.body).text;
}

/**
 * A failed line's error as `{code, type, message}`: OpenAI's object, or a self-hosted runner's
 * (vLLM's run-batch writes its text as a string, or an error response `{error: {…}}` or
 * `{object: "error", message, code: 400}`).
 */
function errorOf(raw: unknown): { code?: unknown; type?: string; message?: string } {
  if (typeof raw === "string") return { message: raw };
  if (!raw || typeof raw !== "object") return {};
  const nested = (raw as { error?: unknown }).error;
  return (nested && typeof nested === "object" ? nested : raw) as { message?: string };
}

/** Reads one line of a Batch-API output or error file. Pure. */
export function verdictOf(
  line: string,
  dataset: Dataset,
  endpoint: Endpoint = endpointFor(),
): LineVerdict | { corrupt: string } {
  const data = parseResultLine(line);
  if (data === undefined) return { corrupt: `not JSON: ${line.slice(0, 80)}` };
  const custom_id = data?.custom_id;
  if (typeof custom_id !== "string") return { corrupt: `no custom_id: ${line.slice(0, 80)}` };
  const response = data.response;
  if (!response || response.status_code !== 200) {
    const error = errorOf(data.error ?? response?.body?.error);
    const status = response?.status_code as number | undefined;
    const code =
      (typeof error.code === "string" && error.code) || error.type || (status ? `http_${status}` : "error");
    const retryable = !status || isTransientStatus(status);
    return {
      custom_id,
      status: "failed",
      reason: `${code}: ${error.message ?? "no message"}`,
      prompt_tokens: 0,
      completion_tokens: 0,
      retryable,
      ...(retryable ? {} : { refusedWith: status }),
      ...(code === "batch_cancelled" ? { cancelled: true as const } : {}),
    };
  }
  const read = endpoint.read(response.body);
  const answer = read.text ?? "";
  const common = {
    custom_id,
    answer,
    model: read.model,
    prompt_tokens: read.promptTokens,
    completion_tokens: read.completionTokens,
    cached_tokens: read.cachedTokens,
    ...(read.cacheWriteTokens ? { cache_write_tokens: read.cacheWriteTokens } : {}),
    reasoning_tokens: read.reasoningTokens,
    ...(read.serviceTier ? { service_tier: read.serviceTier } : {}),
  };
  // Reasoning counts against the same limit: when it takes all of it, no answer is left, and
  // asking again unchanged would pay for the same thinking.
  if (read.finish === "length" && !answer.trim() && read.reasoningTokens > 0)
    return {
      ...common,
      status: "reasoning",
      reason: `reasoning used all ${read.completionTokens} tokens; raise --max-tokens or lower --reasoning-effort`,
      retryable: false,
    };
  if (read.finish === "length")
    return {
      ...common,
      status: "truncated",
      reason: "answer cut at max_tokens (raise --max-tokens)",
      retryable: false,
    };
  if (read.finish === "content_filter")
    return {
      ...common,
      status: "failed",
      reason: "content_filter: the answer was filtered",
      retryable: false,
    };
  const parsed = parseAnswer(dataset, answer);
  if (!parsed.ok) return { ...common, status: "malformed", reason: parsed.reason, retryable: true };
  return { ...common, status: "ok", fields: parsed.fields, retryable: false };
}

/**
 * Why a batch was refused whole, if the service refused every one of its `requests` for a cause
 * waiting will not fix (`first` the first such line): the rest of its stage would be refused alike.
 * A model or deployment not found, a key without access (401, 403, 404), or a parameter the
 * model does not take, is every request's; a few requests refused otherwise (400: too long, a
 * prompt flagged) may be their own texts' fault, a retry file of the longest prompts, so only a
 * file of at least `WHOLE_FILE` such refusals speaks for its stage.
 */
const WHOLE_FILE = 10;
/** Codes of a refusal of the request's settings (the model, a parameter), not of its text. */
const SETTINGS_REFUSED =
  /^(model_not_found|invalid_model|unsupported_value|unsupported_parameter|unknown_parameter):/;

export function refusedWhole(
  refused: number,
  requests: number,
  first: Pick<LineVerdict, "refusedWith" | "reason"> | undefined,
): string | undefined {
  if (!first?.refusedWith || refused < requests) return undefined;
  const everyRequests =
    [401, 403, 404].includes(first.refusedWith) || SETTINGS_REFUSED.test(first.reason ?? "");
  if (requests < WHOLE_FILE && !everyRequests) return undefined;
  return `${first.refusedWith} ${first.reason}`;
}
