// The run folder's records, as its files hold them: a request of requests/*.jsonl, the verdict
// on one answer line, and a sample's result in samples/*.jsonl. Steps write them, views read them.

/** One line of a Batch-API input file. */
export interface BatchRequest {
  custom_id: string;
  method: "POST";
  url: string;
  body: Record<string, any>;
}

/**
 * The verdicts on an answer, a closed list that status, inspect and the report read alike:
 * valid; malformed (asked again); cut off at the token limit; reasoning used the whole token
 * limit, leaving no answer; failed (refused, filtered, or a server error); missing.
 */
export type SampleStatus = "ok" | "malformed" | "truncated" | "reasoning" | "failed" | "missing";

/** One answer (or its absence) for one sample at one attempt: a line of samples/*.jsonl. */
export interface SampleResult {
  custom_id: string;
  sample: number;
  chunk: number;
  attempt: number;
  batch_id: string;
  status: SampleStatus;
  reason?: string;
  fields?: Record<string, string>;
  labels: Record<string, string>;
  /** The answer as written, when it is not valid; a valid one's is in its fields, and in results/. */
  answer?: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  /** With --input: the row of the input (1-based) the sample came from. */
  input_row?: number;
  cost_usd: number;
  model: string;
  time: number;
  retry: boolean;
}

/** What one line of an output or error file says about its sample. */
export interface LineVerdict {
  custom_id: string;
  status: Exclude<SampleStatus, "missing">;
  reason?: string;
  fields?: Record<string, string>;
  answer?: string;
  model?: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  /** Of the prompt, what was written to the service's cache (Anthropic bills it apart). */
  cache_write_tokens?: number;
  reasoning_tokens?: number;
  /** The tier that served it, when the response says. */
  service_tier?: string;
  /** Worth asking again: a malformed answer or a transient failure, not a cut-off answer. */
  retryable: boolean;
  /** The service refused the request (this HTTP status): waiting will not change its answer. */
  refusedWith?: number;
  /** Never run: its batch was cancelled before it (the service's `batch_cancelled`). */
  cancelled?: true;
}
