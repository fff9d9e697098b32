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
  /** The same file as the run names it (`requests/c0000-a1.jsonl`), for messages. */
  file: string;
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
  /** The completion window asked for, where the service takes one ("24h"). */
  window?: string;
  /** Optional fields the service refused earlier in this run: not sent again. */
  refused?: readonly string[];
  /** Told when the service refuses an optional field, so the run records it and sends it no more. */
  onRefused?: (field: string) => void;
}

/** What one request sent directly came back as: an answer, or the service's refusal of it. */
export type Sent =
  | { ok: true; body: unknown; requestId: string }
  | {
      ok: false;
      /** The HTTP status it was refused with, after the service's own retries. */
      status: number;
      /** Whether asking again later may help (408, 409, 429, 5xx). */
      transient: boolean;
      /** What the service said, as an OpenAI-shaped error body (what an error line of a batch holds). */
      body: { error: { message: string; type: string; code: string | null; param: null } };
      requestId: string;
      /** The refusal as one line for a person, the key redacted. */
      failure: Error;
    };

/** A model as the service lists it. */
export interface RemoteModel {
  id: string;
  /** When it shuts down (YYYY-MM-DD), where the service says. */
  shutdown_date?: string | null;
}

/** How a service is made: the key and address for its vendor (vendors.ts names the variables). */
export interface ServiceOptions {
  /** -k (the run's main vendor only): else the vendor's (or preset's) key variable. */
  apiKey?: string | undefined;
  /** --base-url or the run's (main vendor only): else the vendor's (or preset's) address. */
  baseURL?: string | undefined;
  /** An OpenAI-shaped preset (api/providers), for vendor "openai"; "openai" when absent. */
  provider?: string | undefined;
  /** A look that may give up (`status`): fewer tries and a shorter wait than a run's calls. */
  quick?: boolean;
  /** Where warnings go (a download fetched again, a file that could not be deleted). */
  log?: (line: string) => void;
}

/**
 * One vendor's batch service. Every failure it throws is a UserError a person can act on (the
 * key never in it), marked `transient` when waiting helps; anything else is a bug.
 * The pipeline records each step's intent before calling (uploadedAt before `upload`, createdAt
 * before `create`), so that after a crash `findUpload`/`find` settle what a call cut short did.
 */
export interface BatchService {
  readonly vendor: Vendor;
  readonly traits: ServiceTraits;
  /** Where its calls go (its base URL): part of what an answer is keyed by in the cache of answers. */
  readonly address: string;
  /** Checks, before anything is built, that the service answers and takes the key. */
  preflight(mode: "batch" | "sync"): Promise<void>;
  /**
   * Uploads a request file, retrying; a try cut short is settled by `findUpload` since `since`.
   * Called for file carriers only: an inline carrier's record goes from pending to uploaded with no
   * file, and its `create` reads `ask.path` itself (so does `find`, to tell its batch after a crash).
   */
  upload(ask: BatchAsk, since: number): Promise<string>;
  /** The file an earlier process uploaded for this ask (by its name), if any, since `since`. */
  findUpload(ask: BatchAsk, since: number): Promise<string | undefined>;
  /** Makes the batch, exactly once: a create cut short is settled by `find` since `since`, never by asking twice. */
  create(ask: BatchAsk, since: number): Promise<RemoteBatch>;
  /** The batch a create cut short made, if the service can tell it is this ask's. */
  find(ask: BatchAsk, since: number): Promise<RemoteBatch | undefined>;
  /** Where batches stand (one listing for many where the service has one); `oldest` is the earliest createdAt. */
  look(ids: string[], oldest: number): Promise<Map<string, RemoteBatch>>;
  /**
   * Writes a finished batch's answers, as synthai's results lines, to `output` (answered) and
   * `errors` (refused, failed, cancelled, expired), each whole or not at all (a file absent on the
   * service is removed on disk); returns each file's SHA-256 and lines.
   */
  results(
    batch: RemoteBatch,
    to: { output: string; errors: string },
  ): Promise<{ output?: { sha256: string; lines: number }; errors?: { sha256: string; lines: number } }>;
  /** Stops a batch; one that ended meanwhile is looked at instead; undefined when it is gone. */
  cancel(id: string): Promise<RemoteBatch | undefined>;
  /**
   * Deletes what a collected batch left on the service (its files by `refs`, the batch `id` where
   * batches can be deleted); what could not be deleted is returned as warning lines, never thrown.
   */
  remove(refs: string[], id?: string): Promise<string[]>;
  /**
   * `synthai gc`: deletes (or with dryRun only lists) synthai's leftovers no running batch uses,
   * nor an ended one in `keep` (batches a run has not collected yet); their ids.
   */
  gc(dryRun: boolean, log: (line: string) => void, keep?: ReadonlySet<string>): Promise<string[]>;
  /** Sends one request directly (sync mode, the canary, the pilot). Throws only when nothing answered. */
  send(url: string, body: unknown, doing?: string): Promise<Sent>;
  /** The models the service offers to this key. */
  models(): Promise<RemoteModel[]>;
  /** What the service says of one model; undefined when it does not offer it. */
  model(name: string): Promise<RemoteModel | undefined>;
  /** Text the service said, with this service's key taken out (for manifests and messages). */
  redact(text: string): string;
}
