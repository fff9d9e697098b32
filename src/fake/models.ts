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
}

const ALL = ["none", "minimal", "low", "medium", "high", "xhigh", "max"];

export const FAKE_MODELS: FakeModel[] = [
  { id: "gpt-6-luna", shutdown_date: null, efforts: ALL, defaultEffort: "medium" },
  { id: "gpt-6.1-terra", shutdown_date: null, efforts: ALL, defaultEffort: "medium" },
  { id: "gpt-6.1-sol", shutdown_date: null, efforts: ALL.slice(1), defaultEffort: "medium" },
  { id: "gpt-6.2-sol", shutdown_date: null, efforts: ALL.slice(2), defaultEffort: "medium" },
  { id: "gpt-5.4-nano", shutdown_date: "2027-04-01", efforts: ALL, defaultEffort: "medium" },
  { id: "gpt-5-nano", shutdown_date: "2026-12-11", efforts: ALL.slice(1), defaultEffort: "medium" },
  { id: "gpt-4o-mini", shutdown_date: "2027-01-14" },
  { id: "gpt-4o", shutdown_date: "2027-01-14" },
  { id: "gpt-4.1-nano", shutdown_date: "2026-10-23" },
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

type Refusal = {
  status: number;
  error: { message: string; type: string; param: string | null; code: string };
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
  return strictSchemaRefusal(body);
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
  const size = body.dimensions ?? model.dimensions;
  let tokens = 0;
  const data = (inputs as string[]).map((text, index) => {
    const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    tokens += Math.ceil(text.length / 4);
    const vector = new Float64Array(size);
    for (const word of words) {
      const direction = wordDirection(word, size);
      for (let i = 0; i < size; i++) vector[i]! += direction[i]!;
    }
    const norm = Math.hypot(...vector) || 1;
    return {
      object: "embedding",
      index,
      embedding: Array.from(vector, (x) => Math.round((x / norm) * 1e6) / 1e6),
    };
  });
  return {
    status: 200,
    body: { object: "list", data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
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
