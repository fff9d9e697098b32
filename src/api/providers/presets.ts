// One entry per batch service, as each documents it in late November 2026. "tested: profile"
// means the test suite runs crash, resume and fault tests against a fake with its quirks;
// "docs" means the entry follows the documentation only. A figure marked (?) came from a
// single source.
import type { Provider } from "./index.ts";

/** What most services share with OpenAI's Batch API; each entry says how it differs. */
const SHAPED_LIKE_OPENAI = {
  uploadPurpose: "batch",
  windowHours: [24, 24],
  batchShare: 0.5,
  maxRequestsPerFile: 50_000,
  maxBytesPerFile: 200 * 1000 * 1000,
  keepsMetadata: true,
  takesExpiry: false,
  reconcileBy: "metadata",
  endpoints: ["chat"],
  listsNewestFirst: true,
  tested: "docs",
} satisfies Partial<Provider>;

const WITHOUT_METADATA = {
  keepsMetadata: false,
  reconcileBy: "input_file_id",
  listsNewestFirst: false,
} as const;

export const PRESETS = {
  openai: {
    ...SHAPED_LIKE_OPENAI,
    title: "OpenAI",
    baseURL: "https://api.openai.com/v1",
    keyVariable: "OPENAI_API_KEY",
    takesExpiry: true,
    endpoints: ["chat", "responses"],
    tested: "profile",
    note: "the Batch API's reference: 24h window, half price",
  },
  azure: {
    ...SHAPED_LIKE_OPENAI,
    title: "Azure OpenAI",
    baseURLHint: "https://<resource>.openai.azure.com/openai/v1",
    keyVariable: "AZURE_OPENAI_API_KEY",
    takesExpiry: true,
    endpoints: ["chat", "responses"],
    note: "--model is the Global Batch deployment's name; jobs are not expired; quota per deployment",
  },
  groq: {
    ...SHAPED_LIKE_OPENAI,
    title: "Groq",
    baseURL: "https://api.groq.com/openai/v1",
    keyVariable: "GROQ_API_KEY",
    windowHours: [24, 7 * 24],
    batchShare: 0.75,
    tested: "profile",
    note: "windows 24h to 7d; chat only; 25% off in older docs (?)",
  },
  together: {
    ...SHAPED_LIKE_OPENAI,
    ...WITHOUT_METADATA,
    title: "Together AI",
    baseURL: "https://api.together.xyz/v1",
    keyVariable: "TOGETHER_API_KEY",
    uploadPurpose: "batch-api",
    maxBytesPerFile: 100 * 1000 * 1000,
    tested: "profile",
    note: "upload purpose batch-api; 100 MB a file; a batch keeps no metadata",
  },
  gemini: {
    ...SHAPED_LIKE_OPENAI,
    ...WITHOUT_METADATA,
    title: "Gemini API (OpenAI compatibility)",
    baseURL: "https://generativelanguage.googleapis.com/v1beta/openai",
    keyVariable: "GEMINI_API_KEY",
    note: "OpenAI-compatible batch mode since 2025-09; its batch share (50%) is not in synthai's sources (?)",
  },
  dashscope: {
    ...SHAPED_LIKE_OPENAI,
    title: "DashScope (Qwen)",
    baseURL: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    keyVariable: "DASHSCOPE_API_KEY",
    note: "a free batch-test-model (at most 100 lines, 1 MB) checks a run end to end; batch share 50% (?)",
  },
  kimi: {
    ...SHAPED_LIKE_OPENAI,
    title: "Kimi (Moonshot AI)",
    baseURL: "https://api.moonshot.ai/v1",
    keyVariable: "MOONSHOT_API_KEY",
    windowHours: [12, 7 * 24],
    batchShare: 0.6,
    note: "windows 12h to 7d; batches at 60% of list",
  },
  deepinfra: {
    ...SHAPED_LIKE_OPENAI,
    title: "DeepInfra",
    baseURL: "https://api.deepinfra.com/v1/openai",
    keyVariable: "DEEPINFRA_API_KEY",
    batchShare: 0.8,
    note: "batches at 20% off",
  },
  cerebras: {
    ...SHAPED_LIKE_OPENAI,
    title: "Cerebras",
    baseURL: "https://api.cerebras.ai/v1",
    keyVariable: "CEREBRAS_API_KEY",
    note: "private preview; chat only; its batch share is not published (?): check your bill",
  },
  novita: {
    ...SHAPED_LIKE_OPENAI,
    title: "Novita AI",
    baseURL: "https://api.novita.ai/openai/v1",
    keyVariable: "NOVITA_API_KEY",
    tested: "profile",
    note: "statuses in upper case; files kept 15 days; batch share 50% (?)",
  },
  digitalocean: {
    ...SHAPED_LIKE_OPENAI,
    title: "DigitalOcean Gradient",
    baseURL: "https://inference.do-ai.run/v1",
    keyVariable: "DIGITALOCEAN_API_KEY",
    note: "a client request_id makes create idempotent (synthai finds its batches by metadata instead); batch share 50% (?)",
  },
} satisfies Record<string, Provider>;
