// A Gemini batch's lines to and from synthai's envelope (batch-service.ts), one line at a time.
// In: `{key, request}`, the request a GenerateContentRequest (ai.google.dev/gemini-api/docs/batch-api).
// Out: `{key, response}` or `{key, error|status}`, the latter a google.rpc.Status. Pure.

/** google.rpc.Code's numbers as HTTP statuses (googleapis/google/rpc/code.proto). */
const HTTP_OF_RPC: Record<number, [number, string]> = {
  1: [499, "CANCELLED"],
  2: [500, "UNKNOWN"],
  3: [400, "INVALID_ARGUMENT"],
  4: [504, "DEADLINE_EXCEEDED"],
  5: [404, "NOT_FOUND"],
  6: [409, "ALREADY_EXISTS"],
  7: [403, "PERMISSION_DENIED"],
  8: [429, "RESOURCE_EXHAUSTED"],
  9: [400, "FAILED_PRECONDITION"],
  10: [409, "ABORTED"],
  11: [400, "OUT_OF_RANGE"],
  12: [501, "UNIMPLEMENTED"],
  13: [500, "INTERNAL"],
  14: [503, "UNAVAILABLE"],
  15: [500, "DATA_LOSS"],
  16: [401, "UNAUTHENTICATED"],
};

/** A model's name as Gemini's: `gemini/` is synthai's prefix, `models/` the resource's. */
export function bareModel(model: string): string {
  return model.replace(/^gemini\//, "").replace(/^models\//, "");
}

/**
 * One request line of synthai's as Gemini's: the key is the custom id; the model is the job's,
 * not the line's, and a line of another model is an error (one model per job). Throws on a line
 * that is not one of synthai's, saying why.
 */
export function toGeminiLine(line: string, model: string): string {
  const { custom_id, body } = JSON.parse(line) as { custom_id?: unknown; body?: Record<string, unknown> };
  if (typeof custom_id !== "string" || !body || typeof body !== "object")
    throw new Error("not a request line");
  const { model: own, ...request } = body;
  if (typeof own === "string" && bareModel(own) !== bareModel(model))
    throw new Error(`a request for ${own} in a job for ${model}`);
  return JSON.stringify({ key: custom_id, request });
}

export type ResultLine = { to: "output" | "errors"; line: string };

/**
 * One line of a job's result file as synthai's results line: a response is an answer (status
 * 200); a status is an error whose HTTP equivalent says whether asking again may help.
 * Undefined for a line that is not JSON (a damaged download).
 */
export function fromGeminiLine(raw: string): ResultLine | undefined {
  let data: { key?: unknown; response?: unknown; error?: unknown; status?: unknown };
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!data || typeof data !== "object") return undefined;
  const custom_id = typeof data.key === "string" ? data.key : undefined;
  if (data.response && typeof data.response === "object" && !data.error)
    return {
      to: "output",
      line: JSON.stringify({ custom_id, response: { status_code: 200, body: data.response }, error: null }),
    };
  const status = (data.error ?? data.status ?? {}) as { code?: unknown; message?: unknown; status?: unknown };
  const [http, name] = httpOf(status);
  const message = typeof status.message === "string" ? status.message.trim() : "the line has no response";
  return {
    to: "errors",
    line: JSON.stringify({
      custom_id,
      response: { status_code: http, body: { error: { code: http, message, status: name } } },
      error: { code: name, message },
    }),
  };
}

/** A status's HTTP code and canonical name: a google.rpc.Status holds the gRPC code, Google's HTTP error body the HTTP one. */
function httpOf(status: { code?: unknown; status?: unknown }): [number, string] {
  const code = typeof status.code === "number" ? status.code : 2;
  const named = typeof status.status === "string" ? status.status : undefined;
  if (code >= 100) return [code, named ?? `HTTP_${code}`];
  const [http, name] = HTTP_OF_RPC[code] ?? [500, "UNKNOWN"];
  return [http, named ?? name];
}
