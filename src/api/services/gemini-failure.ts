// Gemini's failures, classified once at the boundary: what the SDK threw becomes one UserError a
// person can act on (the key never in it), marked transient when asking again later may help.
// The SDK's ApiError carries the HTTP status and, as its message, Google's error body
// `{error: {code, message, status, details}}` (ai.google.dev/gemini-api/docs/troubleshooting).
import { EXIT, UserError, redact } from "../../errors.ts";
import { isTransientStatus } from "../client.ts";

/** Google's error as the SDK's ApiError carries it. */
export interface GoogleFailure {
  /** The HTTP status. */
  status: number;
  /** The canonical name (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, …), where the body says. */
  name: string;
  message: string;
  /** ErrorInfo's reason (API_KEY_INVALID, …), where the body says. */
  reason?: string;
}

/** Reads an SDK ApiError; undefined for anything else. Pure. */
export function googleFailure(error: unknown): GoogleFailure | undefined {
  const e = error as { name?: unknown; status?: unknown; message?: unknown } | undefined;
  if (!e || e.name !== "ApiError" || typeof e.status !== "number") return undefined;
  let body: any;
  try {
    body = JSON.parse(String(e.message)).error;
  } catch {
    body = undefined;
  }
  const reason = (body?.details ?? []).find((d: any) => typeof d?.reason === "string")?.reason;
  return {
    status: e.status,
    name: typeof body?.status === "string" ? body.status : `HTTP ${e.status}`,
    message: typeof body?.message === "string" ? body.message.trim() : String(e.message),
    ...(reason ? { reason } : {}),
  };
}

/** A failed HTTP answer that did not come through the SDK, shaped as the SDK's ApiError (status, Google's body as message). */
export function httpFailure(status: number, body: string): Error {
  return Object.assign(new Error(body || `HTTP ${status}`), { name: "ApiError", status });
}

/** Whether the key itself was refused: Google answers a wrong key with a 400 whose reason says so. */
export function keyRefused(failure: GoogleFailure): boolean {
  return (
    failure.status === 401 ||
    failure.reason === "API_KEY_INVALID" ||
    (failure.status === 403 && /API key|unregistered callers/i.test(failure.message))
  );
}

/** No answer at all: the address is wrong or nothing listens there, or the network failed. */
function connectionCode(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") return "timed out";
  if (!(error instanceof TypeError) || !/fetch failed|terminated|socket/i.test(error.message))
    return undefined;
  for (
    let at = error.cause as { code?: unknown; cause?: unknown } | undefined;
    at;
    at = at.cause as typeof at
  )
    if (typeof at.code === "string") return at.code;
  return "ECONNRESET";
}

/**
 * Turns what the SDK threw while `doing` into a UserError (transient when waiting helps), the
 * key redacted; anything that is not the service's answer or the network's failure is returned as is.
 */
export function geminiFailure(
  error: unknown,
  doing: string,
  where: { key: string; baseUrl: string },
): unknown {
  const clean = (text: string) => redactKey(text, where.key);
  const code = connectionCode(error);
  if (code) {
    const failure = new UserError(
      code === "ECONNREFUSED"
        ? `nothing answers at ${where.baseUrl} while ${doing} (connection refused)`
        : `cannot reach Gemini at ${where.baseUrl} while ${doing} (${code})`,
      "check $GOOGLE_GEMINI_BASE_URL and the network",
      EXIT.SERVICE,
    );
    failure.transient = true;
    return failure;
  }
  const google = googleFailure(error);
  if (!google) return error;
  const failure = describe(google, doing, `${google.status} ${google.name}: ${clean(google.message)}`);
  failure.transient = isTransientStatus(google.status);
  return failure;
}

function describe(google: GoogleFailure, doing: string, said: string): UserError {
  if (keyRefused(google))
    return new UserError(
      `Gemini refused the key while ${doing} (${google.status} ${google.name})`,
      "check the key: -k/--api-key, or $GEMINI_API_KEY (or $GOOGLE_API_KEY, which wins when both are set)",
      EXIT.SERVICE,
    );
  if (google.status === 404)
    return new UserError(
      `not found on Gemini while ${doing} (${said})`,
      "check the model's name and the key's project",
      EXIT.SERVICE,
    );
  if (google.status === 429)
    return new UserError(
      `Gemini's quota is used up for now while ${doing} (${said})`,
      "wait, then resume",
      EXIT.SERVICE,
    );
  if (isTransientStatus(google.status))
    return new UserError(
      `Gemini failed while ${doing} (${said})`,
      "the service is having trouble; try again later",
      EXIT.SERVICE,
    );
  return new UserError(`Gemini refused ${doing} (${said})`, "fix what it says", EXIT.SERVICE);
}

/** Text with the key taken out, and anything shaped like a Google API key. */
export function redactKey(text: string, key: string): string {
  return redact(text, [key]).replace(/\bAIza[0-9A-Za-z_-]{20,}/g, "AIza***");
}
