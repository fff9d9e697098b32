/**
 * The quirks of batch services shaped like OpenAI's, as ../shared/openai/MODELS-2026-12.md
 * documents them, for the fake to take on. A profile models a service, not synthai's presets:
 * a test runs synthai's preset for a service against the fake with that service's profile.
 */
import type { FakeModel } from "./models.ts";
import { FAKE_MODELS } from "./models.ts";

export interface ProviderProfile {
  /** The upload `purpose` it takes. */
  purpose: string;
  /** The completion windows it takes. */
  windows: string[];
  /** What it does with a batch's metadata: keeps it, drops it without a word, or refuses the request. */
  metadata: "keep" | "drop" | "refuse";
  /** Whether it takes expires_after on files and output_expires_after on batches, or refuses them. */
  expiry: "take" | "refuse";
  /** Statuses in upper case (COMPLETED). */
  upperCaseStatuses: boolean;
  /** Its limit on one request file. */
  maxBytesPerFile: number;
  /** Open-weight models it serves besides the fake's own. */
  models: FakeModel[];
  /** Its own words for some statuses (Cerebras: queued while validating; Novita: PROGRESS). */
  statusWords?: Record<string, string>;
  /** Create answers `{job: batch, warning}` instead of the batch (Together). */
  wrapsCreate?: boolean;
  /** It refuses to create a batch from a file of fewer requests (Cerebras: 10). */
  minRequestsPerFile?: number;
}

const OPEN_MODELS: FakeModel[] = [
  { id: "meta-llama/Llama-3.3-70B-Instruct-Turbo", shutdown_date: null, contextTokens: 131_072 },
  { id: "openai/gpt-oss-20b", shutdown_date: null, contextTokens: 131_072 },
];

const hours = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).flatMap((h) => [
    `${h}h`,
    ...(h % 24 ? [] : [`${h / 24}d`]),
  ]);

export const PROFILES = {
  openai: {
    purpose: "batch",
    windows: ["24h"],
    metadata: "keep",
    expiry: "take",
    upperCaseStatuses: false,
    maxBytesPerFile: 200 * 1000 * 1000,
    models: FAKE_MODELS,
  },
  // Upload purpose batch-api, 100 MB a file, a batch created from file and endpoint: no metadata
  // kept; create answers {job, warning}; statuses in upper case.
  together: {
    purpose: "batch-api",
    windows: ["24h"],
    metadata: "drop",
    expiry: "refuse",
    upperCaseStatuses: true,
    wrapsCreate: true,
    maxBytesPerFile: 100 * 1000 * 1000,
    models: [...FAKE_MODELS, ...OPEN_MODELS],
  },
  // Windows from 24h to 7 days.
  groq: {
    purpose: "batch",
    windows: hours(24, 168),
    metadata: "keep",
    expiry: "refuse",
    upperCaseStatuses: false,
    maxBytesPerFile: 200 * 1000 * 1000,
    models: [...FAKE_MODELS, ...OPEN_MODELS],
  },
  // Statuses in upper case; in flight is PROGRESS.
  novita: {
    purpose: "batch",
    windows: ["24h"],
    metadata: "keep",
    expiry: "refuse",
    upperCaseStatuses: true,
    statusWords: { in_progress: "progress" },
    maxBytesPerFile: 200 * 1000 * 1000,
    models: [...FAKE_MODELS, ...OPEN_MODELS],
  },
  // At least 10 requests a file; queued while it validates.
  cerebras: {
    purpose: "batch",
    windows: ["24h"],
    metadata: "keep",
    expiry: "refuse",
    upperCaseStatuses: false,
    maxBytesPerFile: 200 * 1000 * 1000,
    models: [...FAKE_MODELS, ...OPEN_MODELS],
    statusWords: { validating: "queued" },
    minRequestsPerFile: 10,
  },
  // An OpenAI-compatible server that refuses the optional fields outright (for --base-url with the openai preset).
  strict: {
    purpose: "batch",
    windows: ["24h"],
    metadata: "refuse",
    expiry: "refuse",
    upperCaseStatuses: false,
    maxBytesPerFile: 200 * 1000 * 1000,
    models: FAKE_MODELS,
  },
} satisfies Record<string, ProviderProfile>;

export type ProfileName = keyof typeof PROFILES;
