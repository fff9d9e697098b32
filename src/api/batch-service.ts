// The seam between synthai and a vendor's batch service. The pipeline speaks only this
// interface; each vendor (OpenAI and the services shaped like it, Anthropic, Gemini) is one file
// under src/api/services/ that implements it with the vendor's own SDK. Nothing outside src/api/
// imports an SDK.
//
// What crosses the seam is synthai's own, whatever the vendor:
// - a request file on disk is JSONL of `{custom_id, method: "POST", url, body}`, where `body` is
//   the vendor's request as its endpoint (src/api/endpoints/) encodes it;
// - a results file on disk is JSONL of `{custom_id, response: {status_code, body} | null,
//   error: {code, message} | null}`, where `body` is the vendor's answer as it came; a service
//   that answers in its own shape writes it in this one as it downloads.

/** The vendors synthai has an implementation for; an OpenAI-shaped preset is vendor "openai". */
export type Vendor = "openai" | "anthropic" | "gemini";

/** What a service can do, as its documentation states it. */
export interface ServiceTraits {
  /** "file": requests are uploaded first, then a batch made from the file; "inline": they go in the create call. */
  carries: "file" | "inline";
  /** Limits on one batch. */
  maxRequests: number;
  maxBytes: number;
  /** What a custom id may be. */
  customId: { maxLength: number; pattern: RegExp };
  /** Whether one batch may mix models (else a file holds one model's requests, as synthai writes them anyway). */
  mixesModels: boolean;
  /** How a batch made just before a crash is found again: its metadata, its uploaded file, or its size and ids. */
  findsBy: "metadata" | "input_file" | "size_and_ids";
  /** Whether request counts move while the batch runs, or stay unknown until it ends. */
  liveCounts: boolean;
  /** How long a batch typically takes, in hours, for an ETA said to be an estimate. */
  typicalHours: number;
}

/** A batch's status in synthai's words; the service's own word is kept beside it. */
export type BatchStatus =
  | "validating"
  | "in_progress"
  | "finalizing"
  | "cancelling"
  | "completed"
  | "failed"
  | "expired"
  | "cancelled";

/** What a service says of one batch, normalised. */
export interface RemoteBatch {
  id: string;
  status: BatchStatus;
  /** The service's own word for it (`ended`, `JOB_STATE_RUNNING`, …). */
  said: string;
  /** Undefined while the service does not say (Anthropic until the batch ends). */
  counts?: { total: number; completed: number; failed: number };
  createdAt: number;
  inProgressAt?: number;
  finalizingAt?: number;
  finishedAt?: number;
  expiresAt?: number;
  /** Tokens billed for the whole batch, where the service reports them on the batch. */
  usage?: { input_tokens: number; output_tokens: number; cached_tokens?: number; reasoning_tokens?: number };
  /** The service's handles to what it answered; opaque to the pipeline. */
  outputRef?: string;
  errorRef?: string;
  /** Why a batch failed as a whole (validation), one line each. */
  errors?: string[];
}

/** A batch to make: one request file of the run. */
export interface BatchAsk {
  /** The request file on disk (synthai's request lines). */
  path: string;
  /** The name it is uploaded under, unique to the run and attempt. */
  name: string;
  /** The endpoint its lines name (`/v1/chat/completions`, `/v1/messages`, …). */
  url: string;
  /** The one model of its lines. */
  model: string;
  requests: number;
  /** synthai's tags, where the service keeps them. */
  metadata: Record<string, string>;
  /** The file's id once uploaded (file carriers). */
  fileId?: string;
}

export interface BatchService {
  readonly vendor: Vendor;
  readonly traits: ServiceTraits;
  /** Checks, before anything is built, that the service answers and takes the key. */
  preflight(mode: "batch" | "sync"): Promise<void>;
  /** Uploads a request file (file carriers); finds one an earlier process uploaded by its name first. */
  upload(ask: BatchAsk, since: number | undefined): Promise<string>;
  /** Makes the batch, exactly once: a create cut short is settled by `find`, never by asking twice. */
  create(ask: BatchAsk, since: number | undefined): Promise<RemoteBatch>;
  /** The batch a create cut short made, if the service can tell it is this ask's. */
  find(ask: BatchAsk, since: number): Promise<RemoteBatch | undefined>;
  /** Where batches stand (one listing for many where the service has one). */
  look(ids: string[], oldest: number): Promise<Map<string, RemoteBatch>>;
  /**
   * Writes a finished batch's answers, as synthai's results lines, to `output` (answered) and
   * `errors` (refused, failed, cancelled, expired); returns each file's SHA-256 and lines.
   */
  results(
    batch: RemoteBatch,
    to: { output: string; errors: string },
  ): Promise<{ output?: { sha256: string; lines: number }; errors?: { sha256: string; lines: number } }>;
  cancel(id: string): Promise<RemoteBatch>;
  /** Deletes what a collected batch left on the service (files, the batch where it can be deleted). */
  remove(refs: string[]): Promise<void>;
  /** Sends one request directly (sync mode, the canary, the pilot): its answer's body. */
  send(url: string, body: unknown): Promise<{ body: unknown; requestId: string }>;
}
