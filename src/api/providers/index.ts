// Batch services shaped like OpenAI's: where each one is, how its key is found, and the small
// ways its Batch API differs. One file per service; a run names one of them.
import { openai } from "./openai.ts";

export interface Provider {
  /** Its API's base URL (--base-url overrides it). */
  baseURL: string;
  /** The environment variable that holds its key. */
  keyVariable: string;
  /** The `purpose` of an uploaded request file. */
  uploadPurpose: string;
  /** Completion windows its batches accept; the first is the default. */
  completionWindows: string[];
  /** The share of the list price a batch is billed at. */
  batchShare: number;
  /** Limits on one request file. */
  maxRequestsPerFile: number;
  maxBytesPerFile: number;
  /** Whether it keeps a batch's `metadata` (synthai finds a batch created before a crash by it). */
  keepsMetadata: boolean;
  /** Whether it takes `expires_after` on files and `output_expires_after` on batches. */
  takesExpiry: boolean;
}

export const PROVIDERS = { openai } satisfies Record<string, Provider>;

export type ProviderName = keyof typeof PROVIDERS;

export function providerFor(name: ProviderName = "openai"): Provider {
  return PROVIDERS[name];
}
