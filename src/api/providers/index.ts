// Batch services shaped like OpenAI's: where each one is, how its key is found, and the small
// ways its Batch API differs, as each documents it (../shared/openai/MODELS-2026-12.md, late
// November 2026). One entry per service in presets.ts; a run names one (--provider).
import { UserError } from "../../errors.ts";
import type { EndpointName } from "../endpoints/index.ts";
import type { Vendor } from "../batch-service.ts";
import { modelInfo, prefixedVendor } from "../models.ts";
import { PRESETS } from "./presets.ts";

/** Optional fields a service may refuse; a run that meets a refusal sends them no more. */
export type OptionalField = "metadata" | "expiry";

export interface Provider {
  /** How people call it. */
  title: string;
  /** Whose batch service it is; absent: OpenAI's, or one shaped like it. */
  vendor?: Vendor;
  /** Its API's base URL (--base-url overrides it); none where each account has its own (Azure). */
  baseURL?: string;
  /** What --base-url looks like for it, where it has no single one. */
  baseURLHint?: string;
  /** The environment variable that holds its key. */
  keyVariable: string;
  /** The `purpose` of an uploaded request file. */
  uploadPurpose: string;
  /** The completion windows its batches accept, shortest and longest in hours; the default is 24h where accepted. */
  windowHours: [number, number];
  /** The share of the list price a batch is billed at. */
  batchShare: number;
  /** Limits on one request file. */
  maxRequestsPerFile: number;
  maxBytesPerFile: number;
  /** Whether it keeps a batch's `metadata`. */
  keepsMetadata: boolean;
  /** Whether it takes `expires_after` on files and `output_expires_after` on batches. */
  takesExpiry: boolean;
  /**
   * How a batch created just before a crash is found again: by the metadata synthai gave it,
   * or, where metadata is not kept, by the uploaded request file it was created from.
   */
  reconcileBy: "metadata" | "input_file_id" | "size_and_ids" | "display_name";
  /** The endpoints its batches run. */
  endpoints: EndpointName[];
  /** Whether its batches also run /v1/embeddings (--dedup semantic). */
  batchesEmbeddings: boolean;
  /** Whether its list of files comes newest first (a search for an upload may stop at older ones). */
  listsNewestFirst: boolean;
  /** What synthai's tests try against a fake with its quirks; else "docs": it follows the documentation only. */
  tested: "profile" | "docs";
  /** What to know, in a line. */
  note: string;
  /** The document (and the month it was checked) the entry follows. */
  source?: string;
  /** Why synthai cannot run batches there yet; the preset is refused with it. */
  unsupported?: string;
  /** Create answers the batch inside this field (Together: `{job: {…}, warning}`). */
  unwrapsCreate?: string;
  /** The only models its batches take, where it says so. */
  batchModels?: string[];
  /** Its batches refuse `temperature` (and the other sampling fields synthai does not send). */
  refusesTemperature?: boolean;
  /** The fewest requests a file may hold; a smaller file's requests are sent directly. */
  minRequestsPerFile?: number;
  /** It runs the models it serves, by their served names: never one of OpenAI's catalogue. */
  servesOwnModels?: boolean;
  /** Why its batches run on your machine, not over HTTP: a run builds their files, `import` takes the answers. */
  runsOffline?: string;
}

export const PROVIDERS: Record<keyof typeof PRESETS, Provider> = PRESETS;

/** What a batch looks like in a listing, as far as finding one again goes. */
interface ListedBatch {
  input_file_id: string;
  metadata?: Record<string, string> | null;
}

/**
 * Whether a listed batch is the one a create cut short made: the batch of the request file this
 * attempt alone uploaded, or, where the service keeps metadata, the one with synthai's metadata
 * (run, chunk, attempt, stage; a batch of stage 1 carries no stage).
 */
export function isBatchOf(
  provider: Provider,
  batch: ListedBatch,
  asked: { fileId: string | undefined; metadata: Record<string, string> },
): boolean {
  if (batch.input_file_id === asked.fileId) return true;
  if (provider.reconcileBy !== "metadata") return false;
  const kept = batch.metadata ?? {};
  // A key absent on one side is its default: stage 1, the dataset's answers.
  const kind = (m: Record<string, string>) => `${m.synthai_stage ?? "1"}/${m.synthai_purpose ?? "answers"}`;
  return (
    kind(kept) === kind(asked.metadata) && Object.entries(asked.metadata).every(([k, v]) => kept[k] === v)
  );
}

/** The batch in what a create answered: the body itself, or the field a service wraps it in. */
export function createdBatch<T>(provider: Provider, answer: T): T {
  const field = provider.unwrapsCreate;
  return field ? ((answer as Record<string, T>)[field] ?? answer) : answer;
}

export type ProviderName = keyof typeof PROVIDERS;

/** A server of your own answers only to the names it serves: an OpenAI model named there is refused here first. */
export function checkServedModel(provider: Provider, model: string, where: string): void {
  if (provider.servesOwnModels && modelInfo(model))
    throw new UserError(
      `${where} names ${model}, one of OpenAI's models, but ${provider.title} runs the models it serves`,
      "give the served model's name (what the server was started with)",
    );
}

export function providerFor(name: ProviderName = "openai"): Provider {
  return PROVIDERS[name];
}

/** The vendor whose service a run of `--provider` runs by default: "openai" for every OpenAI-shaped preset. */
export function mainVendor(provider: ProviderName = "openai"): Vendor {
  return providerFor(provider).vendor ?? "openai";
}

/**
 * Whose service runs a model in a run of `provider`: the vendor its prefix names
 * (`anthropic/…`, `gemini/…`), else the catalogue's for a Claude or Gemini model, else the run's.
 */
export function vendorOfModel(model: string, provider: ProviderName = "openai"): Vendor {
  const catalogued = modelInfo(model)?.vendor;
  return prefixedVendor(model) ?? (catalogued && catalogued !== "openai" ? catalogued : mainVendor(provider));
}

/** "24h", "48h", "7d" → hours; undefined when it is not such a window. */
export function windowHours(window: string): number | undefined {
  const match = /^(\d+)(h|d)$/.exec(window.trim());
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === "d" ? 24 : 1);
}

/** The window a run asks for: the one given (checked against the preset), else 24h, else the shortest. */
export function completionWindow(provider: Provider, given: string | undefined): string {
  const [shortest, longest] = provider.windowHours;
  if (given === undefined) return shortest <= 24 && 24 <= longest ? "24h" : `${shortest}h`;
  return given;
}

/**
 * A batch's status as the run reads it, whatever the service calls it: each service's words
 * (upper case on some, `queued` on Cerebras, `PROGRESS` on Novita, `canceled` in American) in one
 * table. Only a word known to be final ends a batch; any other is in flight, so nothing (gc, a
 * collect) ever takes a running batch for a finished one.
 */
const FINAL_STATUSES: Record<string, FinalStatus> = {
  completed: "completed",
  succeeded: "completed",
  failed: "failed",
  expired: "expired",
  cancelled: "cancelled",
  canceled: "cancelled",
};

export type FinalStatus = "completed" | "failed" | "expired" | "cancelled";

/** The run's own word for a service's status: a final one, or the service's word (lower case) while in flight. */
export function readStatus(status: unknown): string {
  const word = String(status).toLowerCase();
  return FINAL_STATUSES[word] ?? word;
}

export function isFinished(status: string | undefined): boolean {
  return status !== undefined && readStatus(status) in FINAL_STATUSES;
}
