// One entry per batch service, as each documents it; `source` names the document and the month
// it was checked. "tested: profile" means the test suite runs crash, resume and fault tests
// against a fake with its quirks; "docs" means the entry follows the documentation only. A
// figure marked (?) came from a single source. A service whose flow is not OpenAI's (uploads
// elsewhere, presigned links) is `unsupported`: refused with what is missing, not half-run.
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
  batchesEmbeddings: false,
  listsNewestFirst: true,
  tested: "docs",
} satisfies Partial<Provider>;

const WITHOUT_METADATA = {
  keepsMetadata: false,
  reconcileBy: "input_file_id",
  listsNewestFirst: false,
} as const;

/** A server of your own: it runs the models it serves, by their served names, at no price per token. */
const SELF_HOSTED = {
  ...SHAPED_LIKE_OPENAI,
  ...WITHOUT_METADATA,
  batchShare: 1,
  servesOwnModels: true,
} as const;

export const PRESETS = {
  openai: {
    ...SHAPED_LIKE_OPENAI,
    title: "OpenAI",
    baseURL: "https://api.openai.com/v1",
    keyVariable: "OPENAI_API_KEY",
    takesExpiry: true,
    endpoints: ["chat", "responses"],
    batchesEmbeddings: true,
    tested: "profile",
    note: "the Batch API's reference: 24h window, half price",
    source: "OpenAI API reference, Batch; ../shared/openai (checked 2026-11)",
  },
  azure: {
    ...SHAPED_LIKE_OPENAI,
    title: "Azure OpenAI",
    baseURLHint: "https://<resource>.openai.azure.com/openai/v1",
    keyVariable: "AZURE_OPENAI_API_KEY",
    takesExpiry: true,
    endpoints: ["chat", "responses"],
    batchesEmbeddings: true,
    note: "--model is the Global Batch deployment's name; jobs are not expired; quota per deployment",
    source: "Azure OpenAI docs, Global Batch (checked 2026-11)",
  },
  groq: {
    ...SHAPED_LIKE_OPENAI,
    title: "Groq",
    baseURL: "https://api.groq.com/openai/v1",
    keyVariable: "GROQ_API_KEY",
    windowHours: [24, 7 * 24],
    maxBytesPerFile: 100 * 1000 * 1000,
    tested: "profile",
    note: "windows 24h to 7d; chat only; 100 MB a file",
    source: "Groq API reference, Batches, and its Batch guide (checked 2026-12)",
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
    unwrapsCreate: "job",
    note:
      "upload purpose batch-api; 100 MB a file; a batch keeps no metadata; create answers " +
      "{job}; 50% only on its listed batch models (else give --input-price/--output-price)",
    source: "Together AI docs, Batch inference guide and API reference (checked 2026-12)",
  },
  anthropic: {
    ...SHAPED_LIKE_OPENAI,
    ...WITHOUT_METADATA,
    vendor: "anthropic",
    title: "Anthropic",
    baseURL: "https://api.anthropic.com",
    keyVariable: "ANTHROPIC_API_KEY",
    maxRequestsPerFile: 100_000,
    maxBytesPerFile: 256 * 1000 * 1000,
    reconcileBy: "size_and_ids",
    tested: "profile",
    refusesTemperature: true,
    note: "Message Batches: requests inline, no metadata, counts unknown until a batch ends; half price",
    source: "docs.claude.com Batch processing; anthropic-sdk-typescript (read 2026-12-07)",
  },
  gemini: {
    ...SHAPED_LIKE_OPENAI,
    ...WITHOUT_METADATA,
    vendor: "gemini",
    title: "Gemini API",
    baseURL: "https://generativelanguage.googleapis.com",
    keyVariable: "GEMINI_API_KEY",
    // A file of up to 2 GB; no line limit is documented.
    maxBytesPerFile: 2 * 1000 * 1000 * 1000,
    reconcileBy: "display_name",
    tested: "profile",
    note: "Gemini Batch API: a JSONL file through its Files API, one model per job; half price",
    source: "ai.google.dev/gemini-api/docs/batch-api; googleapis/js-genai (read 2026-12-07)",
  },
  dashscope: {
    ...SHAPED_LIKE_OPENAI,
    title: "DashScope (Qwen)",
    baseURL: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    keyVariable: "DASHSCOPE_API_KEY",
    ...WITHOUT_METADATA,
    windowHours: [24, 336],
    maxBytesPerFile: 500 * 1000 * 1000,
    note: "windows 24h to 336h; 500 MB a file; metadata only ds_name/ds_description; batch share 50% (?)",
    source: "Alibaba Cloud Model Studio, Batch (OpenAI compatible) (checked 2026-12)",
  },
  kimi: {
    ...SHAPED_LIKE_OPENAI,
    title: "Kimi (Moonshot AI)",
    baseURL: "https://api.moonshot.ai/v1",
    keyVariable: "MOONSHOT_API_KEY",
    windowHours: [12, 7 * 24],
    batchShare: 0.6,
    maxBytesPerFile: 100 * 1000 * 1000,
    batchModels: ["kimi-k2.6", "kimi-k2.5"],
    refusesTemperature: true,
    note: "windows 12h to 7d; 60% of list; 100 MB a file; kimi-k2.6 and kimi-k2.5 only; no temperature",
    source: "Moonshot AI platform docs, Batch API (checked 2026-12)",
  },
  deepinfra: {
    ...SHAPED_LIKE_OPENAI,
    title: "DeepInfra",
    baseURL: "https://api.deepinfra.com/v1/openai",
    keyVariable: "DEEPINFRA_API_KEY",
    batchShare: 0.8,
    takesExpiry: true,
    note: "batches at 20% off; file and output expiry taken",
    source: "DeepInfra docs, OpenAI Batch API (checked 2026-12)",
  },
  cerebras: {
    ...SHAPED_LIKE_OPENAI,
    title: "Cerebras",
    baseURL: "https://api.cerebras.ai/v1",
    keyVariable: "CEREBRAS_API_KEY",
    minRequestsPerFile: 10,
    tested: "profile",
    note:
      "private preview; chat only; at least 10 requests a file (fewer " +
      "are sent directly); shows `queued`; share not published (?)",
    source: "Cerebras inference docs, Batch (checked 2026-12)",
  },
  novita: {
    ...SHAPED_LIKE_OPENAI,
    title: "Novita AI",
    baseURL: "https://api.novita.ai/openai/v1",
    keyVariable: "NOVITA_API_KEY",
    tested: "profile",
    note:
      "statuses in upper case (in flight: PROGRESS); a fixed 24h window " +
      "(its docs also say 48h); files kept 15 days; batch share 50% (?)",
    source: "Novita AI docs, Batch API (checked 2026-12)",
  },
  digitalocean: {
    ...SHAPED_LIKE_OPENAI,
    title: "DigitalOcean Gradient",
    baseURL: "https://inference.do-ai.run/v1",
    keyVariable: "DIGITALOCEAN_API_KEY",
    unsupported:
      "it has no /v1/files: uploads go to presigned URLs (POST /v1/batches/files), and results come as presigned links",
    note: "not yet: presigned uploads and results, batch_id and a required request_id",
    source: "DigitalOcean Gradient AI docs, Batch inference (checked 2026-12)",
  },
  vllm: {
    ...SELF_HOSTED,
    title: "vLLM (self-hosted)",
    baseURL: "http://localhost:8000/v1",
    keyVariable: "VLLM_API_KEY",
    runsOffline:
      "vLLM has no Batch API over HTTP: its run-batch reads request files on your machine — run " +
      "each with `vllm run-batch`, then `synthai import`",
    note:
      "no Batch API over HTTP: build with --dry-run, run each request file with `vllm run-batch`, then " +
      "`synthai import`; chat only; --model is the served name; or --mode sync against `vllm serve`",
    source: "vllm-project/vllm vllm/entrypoints/openai/run_batch.py (checked 2026-12)",
  },
  litellm: {
    ...SELF_HOSTED,
    title: "LiteLLM proxy",
    baseURL: "http://localhost:4000/v1",
    keyVariable: "LITELLM_API_KEY",
    note:
      "the proxy keeps the files and runs each line against its deployment (a vLLM server has no " +
      "/v1/files); --model is the proxy's model_name; no batch discount",
    source: "LiteLLM docs, /batches and vLLM - Batch + Files API (checked 2026-12)",
  },
  gateway: {
    ...SELF_HOSTED,
    title: "OpenAI-compatible batch gateway",
    baseURLHint: "http://<gateway>/v1",
    keyVariable: "BATCH_GATEWAY_API_KEY",
    note:
      "llm-d Batch Gateway, AIBrix and other /v1/files + /v1/batches servers: --base-url is the " +
      "gateway's; --model the served name; no metadata relied on; 50,000 requests a job (llm-d)",
    source: "../shared/vendors/VENDORS-2026-12.md, self-hosted runners and gateways (checked 2026-12)",
  },
} satisfies Record<string, Provider>;
