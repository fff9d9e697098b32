// Anthropic's words in synthai's: a Message Batch as a RemoteBatch (counts only once it has
// ended), and a result line (succeeded, errored, canceled, expired) as a line of synthai's results
// envelope, an errored one filed under its error type's status. Pure.
import type {
  MessageBatch,
  MessageBatchIndividualResponse,
} from "@anthropic-ai/sdk/resources/messages/batches";
import type { RemoteBatch } from "../batch-service.ts";
import { anthropicErrorStatus } from "../../wire/anthropic-errors.ts";
import { fromClaudeId } from "./anthropic-ids.ts";

/** One result line in synthai's results envelope, and which file it goes to. */
export function envelopeOf(line: MessageBatchIndividualResponse): {
  kind: "output" | "errors";
  value: Record<string, unknown>;
} {
  const custom_id = fromClaudeId(line.custom_id)?.id ?? line.custom_id;
  const result = line.result;
  switch (result.type) {
    case "succeeded":
      return {
        kind: "output",
        value: { custom_id, response: { status_code: 200, body: result.message }, error: null },
      };
    case "errored": {
      // Filed under the status its type has, so a server's failure is asked again and a refusal is not.
      const said = errorOfBody(result.error);
      const status_code = anthropicErrorStatus(said.type);
      const body = { error: { type: said.type, code: said.type, message: said.message } };
      return { kind: "errors", value: { custom_id, response: { status_code, body }, error: null } };
    }
    case "canceled":
      return {
        kind: "errors",
        value: {
          custom_id,
          response: null,
          error: { code: "batch_cancelled", message: "the batch was cancelled before this request ran" },
        },
      };
    default:
      return {
        kind: "errors",
        value: {
          custom_id,
          response: null,
          error: { code: "batch_expired", message: "the batch expired (24 h) before this request ran" },
        },
      };
  }
}

/** `{type: "error", error: {type, message}}`, or what of it there is. */
export function errorOfBody(body: unknown): { type: string; message: string } {
  const inner = (body as { error?: { type?: string; message?: string } } | undefined)?.error;
  return { type: inner?.type ?? "api_error", message: inner?.message ?? "no message" };
}

/** A batch in synthai's words: counts only once it has ended, as the service gives none before. */
export function toRemote(batch: MessageBatch): RemoteBatch {
  const c = batch.request_counts;
  const ended = batch.processing_status === "ended";
  const status = !ended
    ? batch.processing_status === "canceling"
      ? "cancelling"
      : "in_progress"
    : batch.cancel_initiated_at
      ? "cancelled"
      : c.expired && c.expired === sizeOf(batch)
        ? "expired"
        : "completed";
  return {
    id: batch.id,
    status,
    said: batch.processing_status,
    ...(ended
      ? {
          counts: {
            total: sizeOf(batch),
            completed: c.succeeded,
            failed: c.errored + c.canceled + c.expired,
          },
        }
      : {}),
    createdAt: seconds(batch.created_at),
    expiresAt: seconds(batch.expires_at),
    ...(batch.ended_at ? { finishedAt: seconds(batch.ended_at) } : {}),
    ...(batch.results_url ? { outputRef: batch.results_url, errorRef: batch.results_url } : {}),
  };
}

export const sizeOf = (batch: MessageBatch) =>
  Object.values(batch.request_counts).reduce((sum, n) => sum + n, 0);

export const seconds = (time: string) => Math.floor(Date.parse(time) / 1000);
