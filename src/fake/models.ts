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
