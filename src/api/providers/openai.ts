// OpenAI's Batch API, as documented (../shared/openai/BATCH-CONTRACT.md).
import type { Provider } from "./index.ts";

export const openai: Provider = {
  baseURL: "https://api.openai.com/v1",
  keyVariable: "OPENAI_API_KEY",
  uploadPurpose: "batch",
  completionWindows: ["24h"],
  batchShare: 0.5,
  maxRequestsPerFile: 50_000,
  maxBytesPerFile: 200 * 1000 * 1000,
  keepsMetadata: true,
  takesExpiry: true,
};
