import type OpenAI from "openai";
import type { APIError } from "openai";
import { EXIT, UserError, redact } from "../errors.ts";
import { providerFor, type ProviderName } from "./providers/index.ts";

export interface ClientOptions {
  /** -k: else the provider's key variable. */
  apiKey?: string | undefined;
  /** --base-url (or the run's): else $OPENAI_BASE_URL for OpenAI, else the provider's. */
  baseURL?: string | undefined;
  provider?: ProviderName | undefined;
  /** A look that may give up (`status`): fewer tries and a shorter wait than a run's calls. */
  quick?: boolean;
}

// The SDK is loaded with the first client, so commands that never call the API (export,
// status, inspect, report) start without its ~35 MB.
let sdk: typeof import("openai") | undefined;

/** Where the client goes and with which key, checked before anything is loaded or sent. */
export interface ClientSettings {
  apiKey: string;
  baseURL: string;
  quick: boolean;
}

/** The key and address for a preset: the ones given, else its own variables; one line when either is missing. */
export function clientSettings(options: ClientOptions): ClientSettings {
  const name = options.provider ?? "openai";
  const provider = providerFor(name);
  const baseURL =
    options.baseURL || (name === "openai" ? process.env.OPENAI_BASE_URL : undefined) || provider.baseURL;
  if (!baseURL)
    throw new UserError(
      `--provider ${name} has no single address`,
      `give yours with --base-url ${provider.baseURLHint ?? "URL"}`,
    );
  // Only the provider's own variable: another service's key is never sent to it.
  const apiKey = options.apiKey || process.env[provider.keyVariable];
  if (!apiKey)
    throw new UserError(`no ${provider.title} API key`, `set ${provider.keyVariable} or pass -k/--api-key`);
  return { apiKey, baseURL, quick: Boolean(options.quick) };
}

/** The SDK client; its own retries (backoff, `retry-after`) cover idempotent calls. */
export async function clientFor(settings: ClientSettings): Promise<OpenAI> {
  sdk ??= await import("openai");
  const patience = settings.quick ? { maxRetries: 2, timeout: 20_000 } : { maxRetries: 6, timeout: 120_000 };
  return new sdk.OpenAI({ apiKey: settings.apiKey, baseURL: settings.baseURL, ...patience });
}

/** An error the API (or the way to it) answered with; anything else is ours. */
export function isApiError(error: unknown): error is APIError {
  return sdk !== undefined && error instanceof sdk.APIError;
}

function isConnectionError(error: unknown): boolean {
  return sdk !== undefined && error instanceof sdk.APIConnectionError;
}

/**
 * Fails fast, before anything is built or paid for, when the API cannot be reached or refuses
 * the key. Transient faults are retried with the SDK's backoff, as every other call is; what
 * is said when it still fails names no run, since none exists yet.
 */
export async function preflight(client: OpenAI, mode: "batch" | "sync" = "batch"): Promise<void> {
  const options = { maxRetries: 3, timeout: 20_000 };
  try {
    // A server without a Batch API (vLLM, Ollama…) still lists its models.
    if (mode === "sync") await client.models.list(options);
    else await client.batches.list({ limit: 1 }, options);
  } catch (error) {
    const failure = apiFailure(error, "checking the connection", client);
    if (!(failure instanceof UserError) || !isApiError(error)) throw failure;
    // No answer at all is an address or a server that is not up, not a service having trouble.
    if (isConnectionError(error))
      throw new UserError(
        causeCode(error) === "ECONNREFUSED"
          ? `nothing answers at ${client.baseURL} (connection refused)`
          : `${failure.message} (${rootCause(error)})`,
        "check --base-url and that the server is running, and the network",
        EXIT.SERVICE,
      );
    if (error.status === 404) {
      const hint = /\/v1\/?$/.test(new URL(client.baseURL).pathname)
        ? `the server at ${client.baseURL} has no Batch API: use --mode sync for servers without one`
        : "an OpenAI-compatible base URL usually ends in /v1, e.g. --base-url http://localhost:8000/v1";
      throw new UserError(failure.message, hint, EXIT.SERVICE);
    }
    if (failure.transient)
      throw new UserError(
        failure.message,
        "the service is having trouble (it was asked again, with backoff); try again in a few minutes",
        EXIT.SERVICE,
      );
    throw failure;
  }
}

/** The system error code under an error's causes (ECONNREFUSED, ENOTFOUND…), if any. */
function causeCode(error: unknown): string | undefined {
  for (let at = error as { code?: unknown; cause?: unknown } | undefined; at; at = at.cause as typeof at)
    if (typeof at.code === "string" && /^E[A-Z]+$/.test(at.code)) return at.code;
  return undefined;
}

function rootCause(error: unknown): string {
  let at = error as { message?: unknown; cause?: unknown };
  while (at.cause && typeof at.cause === "object") at = at.cause as typeof at;
  return String(at.message);
}

/** True for faults worth another try: no answer, timeouts, 408, 409, 429, 5xx. */
export function isTransient(error: unknown): boolean {
  if (isConnectionError(error)) return true;
  return isApiError(error) && isTransientStatus(error.status ?? 0);
}

/** An HTTP status worth asking again: a 4xx other than 408, 409 or 429 is the request's own fault. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Turns what the service said into a UserError a person can act on; the key never shows. */
export function apiFailure(error: unknown, doing: string, client: OpenAI): UserError | unknown {
  if (!isApiError(error)) return error;
  const failure = describeFailure(error, doing, client);
  failure.transient = isTransient(error);
  return failure;
}

function describeFailure(error: APIError, doing: string, client: OpenAI): UserError {
  const secrets = [client.apiKey];
  if (isConnectionError(error))
    return new UserError(
      `cannot reach the API at ${client.baseURL} while ${doing}`,
      "check --base-url and the network",
      EXIT.SERVICE,
    );
  const message = redact(error.message, secrets);
  switch (error.status) {
    case 401:
      return new UserError(
        `the API refused the key while ${doing} (401)`,
        "check the key: -k/--api-key, or the provider's variable ($OPENAI_API_KEY for OpenAI)",
        EXIT.SERVICE,
      );
    case 403:
      return new UserError(
        `the key may not do this while ${doing} (403): ${message}`,
        "check the key's project and permissions",
        EXIT.SERVICE,
      );
    case 404:
      return new UserError(
        `not found while ${doing} (404): ${message}`,
        "the key must belong to the project that made this run",
        EXIT.SERVICE,
      );
    default:
      return new UserError(`the API failed while ${doing}: ${message}`, "fix what it says", EXIT.SERVICE);
  }
}

/** Calls the API, turning a final failure into a readable UserError. */
export async function call<T>(client: OpenAI, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw apiFailure(error, doing, client);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
