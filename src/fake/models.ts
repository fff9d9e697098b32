/**
 * The fake service's models, as ../shared/openai/MODELS-2026-12.md describes the real ones:
 * which exist, when they shut down, which reasoning efforts they take, and what they refuse.
 * Kept apart from synthai's own catalogue on purpose: the fake models the service, not synthai.
 */
export interface FakeModel {
  id: string;
  /** YYYY-MM-DD, or null: no announced shutdown. */
  shutdown_date: string | null;
  /** Efforts taken, and the one used when a request names none; absent: it does not reason. */
  efforts?: string[];
  defaultEffort?: string;
  /** Tokens of prompt and answer together that it takes (absent: no limit); a longer request is refused. */
  contextTokens?: number;
}

const ALL = ["none", "minimal", "low", "medium", "high", "xhigh", "max"];
const reasons = (efforts: string[]) => ({ efforts, defaultEffort: "medium" });
// Context windows as the model pages give them (GPT-6: as GPT-5.4's, whose long-prompt pricing it shares).
const [LONG, GPT5, GPT4O] = [1_050_000, 400_000, 128_000];

export const FAKE_MODELS: FakeModel[] = [
  { id: "gpt-6-luna", shutdown_date: null, ...reasons(ALL), contextTokens: LONG },
  { id: "gpt-6.1-terra", shutdown_date: null, ...reasons(ALL), contextTokens: LONG },
  { id: "gpt-6.1-sol", shutdown_date: null, ...reasons(ALL.slice(1)), contextTokens: LONG },
  { id: "gpt-6.2-sol", shutdown_date: null, ...reasons(ALL.slice(2)), contextTokens: LONG },
  { id: "gpt-5.4-nano", shutdown_date: "2027-04-01", ...reasons(ALL), contextTokens: GPT5 },
  { id: "gpt-5-nano", shutdown_date: "2026-12-11", ...reasons(ALL.slice(1)), contextTokens: GPT5 },
  { id: "gpt-4o-mini", shutdown_date: "2027-01-14", contextTokens: GPT4O },
  { id: "gpt-4o", shutdown_date: "2027-01-14", contextTokens: GPT4O },
  { id: "gpt-4.1-nano", shutdown_date: "2026-10-23", contextTokens: 1_047_576 },
];

/** Hidden tokens a reasoning model spends per answer at each effort, before it writes a word. */
export const REASONING_TOKENS: Record<string, number> = {
  none: 0,
  minimal: 40,
  low: 150,
  medium: 500,
  high: 1500,
  xhigh: 3000,
  max: 6000,
};

export type Refusal = {
  status: number;
  error: { message: string; type: string; param: string | null; code: string | null };
};

/** What the service answers a chat request it will not run: 404 for a model it has not, 400 for a shape it refuses. */
export function refusal(models: FakeModel[], body: any, today: string): Refusal | undefined {
  const model = models.find((m) => m.id === body?.model || body?.model?.startsWith(`${m.id}-20`));
  if (!model || (model.shutdown_date && model.shutdown_date <= today))
    return {
      status: 404,
      error: {
        message: `The model \`${body?.model}\` does not exist or you do not have access to it.`,
        type: "invalid_request_error",
        param: "model",
        code: "model_not_found",
      },
    };
  const unsupported = (param: string, message: string) => invalid(param, message, "unsupported_value");
  const effort = body.reasoning_effort ?? (model.efforts ? model.defaultEffort : undefined);
  if (!model.efforts && body.reasoning_effort !== undefined)
    return unsupported(
      "reasoning_effort",
      `Unsupported parameter: 'reasoning_effort' is not supported with this model.`,
    );
  if (model.efforts && !model.efforts.includes(effort))
    return unsupported(
      "reasoning_effort",
      `Unsupported value: 'reasoning_effort' does not support '${effort}' with this ` +
        `model. Supported values are: ${model.efforts.map((e) => `'${e}'`).join(", ")}.`,
    );
  if (model.efforts && effort !== "none")
    for (const param of ["temperature", "top_p", "logprobs", "top_logprobs"])
      if (body[param] !== undefined)
        return unsupported(
          param,
          `Unsupported parameter: '${param}' is not supported with reasoning_effort '${effort}'.`,
        );
  if (model.efforts && body.max_tokens !== undefined)
    return invalid(
      "max_tokens",
      "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      "unsupported_parameter",
    );
  return contextRefusal(model, body) ?? strictSchemaRefusal(body);
}

/** A prompt and the answer it asks room for must fit the model's context window. */
function contextRefusal(model: FakeModel, body: any): Refusal | undefined {
  const prompt = promptTokens(body);
  const answer = body.max_completion_tokens ?? body.max_tokens ?? 0;
  if (!model.contextTokens || prompt + answer <= model.contextTokens) return undefined;
  return invalid(
    "messages",
    `This model's maximum context length is ${model.contextTokens} tokens. However, you requested ` +
      `${prompt + answer} tokens (${prompt} in the messages, ${answer} in the completion). ` +
      "Please reduce the length of the messages or completion.",
    "context_length_exceeded",
  );
}

/** The fake's token count of a chat or Responses prompt: a token is four characters, plus a few for the framing. */
export function promptTokens(body: any): number {
  const schema = body?.response_format?.json_schema?.schema ?? body?.text?.format?.schema;
  // Chat messages, or a Responses request's instructions and input.
  const input = typeof body?.input === "string" ? [{ content: body.input }] : (body?.input ?? []);
  const messages = body?.messages ?? [
    ...(body?.instructions ? [{ content: body.instructions }] : []),
    ...input,
  ];
  const chars =
    messages.reduce((s: number, m: any) => s + String(m.content).length, 0) +
    (schema ? JSON.stringify(schema).length : 0);
  return Math.ceil(chars / 4) + 7;
}

/** A 400 the service gives a request it will not run, naming the parameter at fault. */
function invalid(param: string, message: string, code: string): Refusal {
  return { status: 400, error: { message, type: "invalid_request_error", param, code } };
}

/**
 * Strict structured output takes only a subset of JSON Schema (the Structured Outputs guide): the
 * root an object, and every object closed (`additionalProperties: false`) with every property
 * in `required`. The service refuses any other schema before the model sees the request.
 */
function strictSchemaRefusal(body: any): Refusal | undefined {
  const format = body?.response_format?.json_schema ?? body?.text?.format;
  if (format?.type !== undefined && format.type !== "json_schema") return undefined;
  if (!format?.strict || !format.schema) return undefined;
  const refuse = (context: string[], rule: string): Refusal =>
    invalid(
      body.response_format ? "response_format" : "text.format.schema",
      `Invalid schema for response_format '${format.name}': ` +
        `In context=(${context.map((c) => `'${c}'`).join(", ")}), ${rule}.`,
      "invalid_json_schema",
    );
  if (format.schema.type !== "object")
    return refuse([], "schema must be a JSON Schema of 'type: \"object\"'");
  const check = (schema: any, context: string[]): Refusal | undefined => {
    if (!schema || typeof schema !== "object") return undefined;
    if (schema.type === "object" || schema.properties) {
      if (schema.additionalProperties !== false)
        return refuse(context, "'additionalProperties' is required to be supplied and to be false");
      const keys = Object.keys(schema.properties ?? {});
      const missing = keys.find((key) => !(schema.required ?? []).includes(key));
      if (missing !== undefined)
        return refuse(
          context,
          `'required' is required to be supplied and to be an array ` +
            `including every key in properties. Missing '${missing}'`,
        );
      for (const key of keys) {
        const refused = check(schema.properties[key], [...context, "properties", key]);
        if (refused) return refused;
      }
    }
    for (const [keyword, sub] of [
      ["items", schema.items],
      ...(schema.anyOf ?? []).map((s: any) => ["anyOf", s]),
    ])
      if (sub) {
        const refused = check(sub, [...context, keyword]);
        if (refused) return refused;
      }
    return undefined;
  };
  return check(format.schema, []);
}

/** The effort a request runs at, for a model that reasons. */
export function effortOf(models: FakeModel[], body: any): string | undefined {
  const model = models.find((m) => m.id === body?.model || body?.model?.startsWith(`${m.id}-20`));
  return model?.efforts ? (body.reasoning_effort ?? model.defaultEffort) : undefined;
}

/** The embeddings models: how long their vectors are, and whether they take `dimensions`. */
const FAKE_EMBEDDING_MODELS: Record<string, { dimensions: number; shortens: boolean }> = {
  "text-embedding-3-small": { dimensions: 1536, shortens: true },
  "text-embedding-3-large": { dimensions: 3072, shortens: true },
  "text-embedding-ada-002": { dimensions: 1536, shortens: false },
};

/**
 * An embeddings request answered as the service answers it (or refused as it refuses one). The
 * vector is a seeded random projection of the text's word counts, normalised: texts sharing
 * most of their words point nearly the same way, unrelated ones nearly at right angles.
 */
export function embed(body: any): { status: number; body: any } {
  const model = FAKE_EMBEDDING_MODELS[body?.model];
  if (!model)
    return {
      status: 404,
      body: {
        error: {
          message: `The model \`${body?.model}\` does not exist or you do not have access to it.`,
          type: "invalid_request_error",
          param: "model",
          code: "model_not_found",
        },
      },
    };
  const inputs: unknown[] = typeof body.input === "string" ? [body.input] : body.input;
  if (!Array.isArray(inputs) || !inputs.length || inputs.some((x) => typeof x !== "string" || x === ""))
    return answered(
      invalid("input", "'$.input' is invalid: give a non-empty string or array of them.", "invalid_value"),
    );
  if (
    body.dimensions !== undefined &&
    (!model.shortens || !(body.dimensions >= 1 && body.dimensions <= model.dimensions))
  )
    return answered(
      invalid(
        "dimensions",
        model.shortens
          ? `Invalid 'dimensions': must be between 1 and ${model.dimensions}.`
          : "This model does not support specifying dimensions.",
        "invalid_value",
      ),
    );
  const tooLong = tokenRefusal(inputs as string[]);
  if (tooLong) return answered(tooLong);
  const size = body.dimensions ?? model.dimensions;
  const tokens = (inputs as string[]).reduce((sum, text) => sum + embeddingTokens(text), 0);
  const data = (inputs as string[]).map((text, index) => {
    const vector = embedding(text, size);
    // base64: the floats' little-endian float32 bytes, as the service packs them.
    const packed = body.encoding_format === "base64";
    return {
      object: "embedding",
      index,
      embedding: packed ? Buffer.from(Float32Array.from(vector).buffer).toString("base64") : vector,
    };
  });
  return {
    status: 200,
    body: { object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

/** A text's direction: the sum of its words', normalised, rounded as the service's floats print. */
function embedding(text: string, size: number): number[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const vector = new Float64Array(size);
  for (const word of words) {
    const direction = wordDirection(word, size);
    for (let i = 0; i < size; i++) vector[i]! += direction[i]!;
  }
  const norm = Math.hypot(...vector) || 1;
  return Array.from(vector, (x) => Math.round((x / norm) * 1e6) / 1e6);
}

const embeddingTokens = (text: string) => Math.ceil(text.length / 4);

/** The document's limits in prose: 8,192 tokens an input, 300,000 across a request's inputs. */
function tokenRefusal(inputs: string[]): Refusal | undefined {
  const longest = Math.max(...inputs.map(embeddingTokens));
  if (longest > 8192)
    return invalid(
      "input",
      `This model's maximum context length is 8192 tokens, however you requested ${longest} tokens ` +
        `(${longest} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`,
      "context_length_exceeded",
    );
  const total = inputs.reduce((sum, text) => sum + embeddingTokens(text), 0);
  if (total > 300_000)
    return invalid(
      "input",
      `Requested ${total} tokens, max 300000 tokens per request.`,
      "max_tokens_per_request",
    );
  return undefined;
}

const answered = (refused: Refusal) => ({ status: refused.status, body: { error: refused.error } });

const directions = new Map<string, Float64Array>();

/** A word's own direction: the same word, the same direction, in every request. */
function wordDirection(word: string, size: number): Float64Array {
  const key = `${size}:${word}`;
  let direction = directions.get(key);
  if (!direction) {
    let seed = 2166136261;
    for (let i = 0; i < word.length; i++) seed = Math.imul(seed ^ word.charCodeAt(i), 16777619);
    const random = mulberry32(seed);
    direction = Float64Array.from({ length: size }, () => 2 * random() - 1);
    directions.set(key, direction);
  }
  return direction;
}

/** A small seeded generator (mulberry32): the fake's answers and vectors repeat for the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
