// Anthropic's error types and the HTTP status each comes with, as its "Errors" page lists them
// (platform.claude.com, read 2026-12-07). A fact of the vendor's wire, not a choice of synthai:
// synthai's client (api/) files an errored result under it and the fake (fake/) answers with it,
// and neither may import the other.

/** Each error type's HTTP status. */
export const ANTHROPIC_ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** The status an error type comes with; an unknown type as the server's own failure (500). */
export function anthropicErrorStatus(type: string): number {
  return ANTHROPIC_ERROR_STATUS[type] ?? 500;
}
