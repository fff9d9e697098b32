// The Responses API (/v1/responses): system messages become `instructions`, the rest `input`;
// the answer is the text of its `message` output items; `incomplete_details` says why it stopped.
import type { Endpoint, Message } from "./index.ts";

export interface ResponsesBody {
  model: string;
  input: Message[];
  instructions?: string;
  max_output_tokens: number;
  temperature?: number;
  reasoning?: { effort: string };
  service_tier?: string;
  text?: { format: { type: "json_schema"; name: string; strict: true; schema: Record<string, unknown> } };
}

interface ResponsesAnswer {
  model?: string;
  service_tier?: string;
  status?: string;
  incomplete_details?: { reason?: string } | null;
  output?: { type?: string; content?: { type?: string; text?: string }[] }[];
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    input_tokens_details?: { cached_tokens?: number };
    output_tokens_details?: { reasoning_tokens?: number };
  };
}

/** incomplete_details.reason, in the words the other endpoints use. */
const FINISH: Record<string, string> = { max_output_tokens: "length", content_filter: "content_filter" };

export const responses: Endpoint<ResponsesBody> = {
  url: "/v1/responses",
  limits: { maxTokens: { name: "max_output_tokens", min: 16 }, temperature: { min: 0, max: 2 } },

  body(messages, { model, maxTokens, temperature, effort, serviceTier, schema }) {
    const system = messages.filter((m) => m.role === "system" || m.role === "developer");
    const body: ResponsesBody = {
      model,
      input: messages.filter((m) => !system.includes(m)),
      max_output_tokens: maxTokens,
    };
    if (system.length) body.instructions = system.map((m) => m.content).join("\n\n");
    if (temperature !== undefined) body.temperature = temperature;
    if (effort) body.reasoning = { effort };
    if (serviceTier) body.service_tier = serviceTier;
    if (schema) body.text = { format: { type: "json_schema", name: "sample", strict: true, schema } };
    return body;
  },

  prompt(body) {
    const instructions: Message[] = body.instructions ? [{ role: "system", content: body.instructions }] : [];
    return { messages: [...instructions, ...body.input], schema: body.text?.format.schema };
  },

  read(responseBody) {
    const body = (responseBody ?? {}) as ResponsesAnswer;
    const texts = (body.output ?? [])
      .filter((item) => item.type === "message")
      .flatMap((item) => item.content ?? []);
    const text = texts
      .filter((c) => c.type === "output_text")
      .map((c) => c.text ?? "")
      .join("");
    const reason = body.incomplete_details?.reason;
    return {
      text: texts.length ? text : undefined,
      finish: body.status === "incomplete" ? (FINISH[reason ?? ""] ?? reason ?? "length") : "stop",
      model: body.model,
      promptTokens: body.usage?.input_tokens ?? 0,
      completionTokens: body.usage?.output_tokens ?? 0,
      cachedTokens: body.usage?.input_tokens_details?.cached_tokens ?? 0,
      reasoningTokens: body.usage?.output_tokens_details?.reasoning_tokens ?? 0,
      serviceTier: body.service_tier,
    };
  },
};
