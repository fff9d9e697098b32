// An in-process batch service for tests of the drive logic: the BatchService seam of
// src/api/batch-service.ts in memory (no HTTP, no SDK), each request answered by a small function
// the test gives. It keeps what it was asked, so a test can say what went to which stage and that
// nothing went twice; and it can "crash" at a step, as `kill -9` would stop a run there.
import { createHash } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import type {
  BatchAsk,
  BatchService,
  RemoteBatch,
  RemoteModel,
  Sent,
  ServiceTraits,
} from "../src/api/batch-service.ts";
import type { Services } from "../src/pipeline/context.ts";
import type { BatchRequest } from "../src/run/records.ts";

/** One request as the service ran it: which batch, which stage (by the batch's tags), its body. */
export interface Asked {
  custom_id: string;
  batch: string;
  /** The run's stage, from the batch's `synthai_stage` tag (1 when absent, as synthai writes stage 1). */
  stage: number;
  model: string;
  /** The chat request's messages, and its last message's text (what the stage asked of this sample). */
  messages: { role: string; content: string }[];
  last: string;
  /** The JSON Schema the request asks its answer to fit, if any. */
  schema?: Record<string, unknown>;
}

/** How the service answers one request: its text, a text cut at the token limit, or a refusal. */
export type Reply = string | { cut: string } | { refused: string; status?: number };

/** The steps at which the double can be told to stop the run, as `kill -9` there would. */
export type CrashPoint = "after-upload" | "after-create" | "look" | "after-results";

/** What a test reads of the double: every request run, every batch and upload made. */
export interface ServiceDouble extends BatchService {
  /** Every request line of every batch created, in order. */
  readonly asked: Asked[];
  /** Every request sent directly (the canary, sync mode). */
  readonly direct: unknown[];
  /** The batches created, in order. */
  readonly created: RemoteBatch[];
  /** The names of the files uploaded, in order. */
  readonly uploads: string[];
  /**
   * The next call at `point` (for a batch of `stage`, when given) stops the run: the step is done
   * on the service, then the caller is thrown out — a look, before the service answers it.
   */
  crashAt(point: CrashPoint, stage?: number): void;
  /** As a run's `Services`: this double for every vendor. */
  readonly services: Services;
}

/** Thrown where the test asked the double to crash; never a UserError, so nothing catches it on the way up. */
export class Crash extends Error {}

interface Held {
  remote: RemoteBatch;
  metadata: Record<string, string>;
  fileId: string | undefined;
  output: string[];
  errors: string[];
}

const TRAITS: ServiceTraits = {
  carries: "file",
  maxRequests: 50_000,
  maxBytes: 200 * 1024 * 1024,
  customId: { maxLength: Number.POSITIVE_INFINITY, pattern: /^[\s\S]+$/ },
  mixesModels: false,
  findsBy: "metadata",
  liveCounts: true,
  typicalHours: 24,
};

const now = () => Math.floor(Date.now() / 1000);
const tokensOf = (text: string) => Math.ceil(text.length / 4);

/** A chat completion as the service would answer it, with usage counted from the text (4 characters a token). */
export function completion(request: { model: string; messages: unknown }, reply: Reply) {
  if (typeof reply === "object" && "refused" in reply)
    return {
      status: reply.status ?? 400,
      body: { error: { message: reply.refused, type: "invalid_request_error", code: null, param: null } },
    };
  const content = typeof reply === "string" ? reply : reply.cut;
  const prompt = tokensOf(JSON.stringify(request.messages));
  const completed = tokensOf(content);
  return {
    status: 200,
    body: {
      id: `chatcmpl-${createHash("sha256").update(content).digest("hex").slice(0, 12)}`,
      object: "chat.completion",
      model: request.model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content },
          finish_reason: typeof reply === "string" ? "stop" : "length",
        },
      ],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completed,
        total_tokens: prompt + completed,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    },
  };
}

/** A service whose every request is answered by `answer` (given what was asked: stage, messages, schema). */
export function serviceDouble(answer: (asked: Asked) => Reply): ServiceDouble {
  const batches = new Map<string, Held>();
  const files = new Map<string, { name: string; lines: BatchRequest[] }>();
  const asked: Asked[] = [];
  const direct: unknown[] = [];
  const created: RemoteBatch[] = [];
  const uploads: string[] = [];
  const crashes = new Map<CrashPoint, number | undefined>();
  const crash = (point: CrashPoint, metadata: Record<string, string>) => {
    if (!crashes.has(point)) return;
    const stage = crashes.get(point);
    if (stage !== undefined && Number(metadata.synthai_stage ?? 1) !== stage) return;
    crashes.delete(point);
    throw new Crash(`the service double stopped the run at ${point}`);
  };

  /** Runs a batch's requests at once: it is answered when first looked at. */
  const run = (id: string, lines: BatchRequest[], metadata: Record<string, string>): Held => {
    const held: Held = {
      remote: { id, status: "validating", said: "validating", createdAt: now() },
      metadata,
      fileId: undefined,
      output: [],
      errors: [],
    };
    for (const line of lines) {
      const body = line.body as { model: string; messages: Asked["messages"]; response_format?: any };
      const one: Asked = {
        custom_id: line.custom_id,
        batch: id,
        stage: Number(metadata.synthai_stage ?? 1),
        model: body.model,
        messages: body.messages,
        last: String(body.messages.at(-1)?.content ?? ""),
        ...(body.response_format?.json_schema ? { schema: body.response_format.json_schema.schema } : {}),
      };
      asked.push(one);
      const { status, body: answered } = completion(body, answer(one));
      const result = JSON.stringify({
        custom_id: line.custom_id,
        response: { status_code: status, body: answered },
        error: null,
      });
      (status === 200 ? held.output : held.errors).push(result);
    }
    return held;
  };

  const double: ServiceDouble = {
    vendor: "openai",
    traits: TRAITS,
    address: "double://in-process",
    asked,
    direct,
    created,
    uploads,
    crashAt: (point, stage) => void crashes.set(point, stage),
    get services(): Services {
      return () => double;
    },
    async preflight() {},
    async upload(ask: BatchAsk) {
      const text = await readFile(ask.path, "utf8");
      const id = `file-${files.size + 1}`;
      files.set(id, {
        name: ask.name,
        lines: text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      });
      uploads.push(ask.name);
      crash("after-upload", ask.metadata);
      return id;
    },
    async findUpload(ask: BatchAsk) {
      return [...files].find(([, file]) => file.name === ask.name)?.[0];
    },
    async create(ask: BatchAsk) {
      const file = files.get(ask.fileId!);
      if (!file) throw new Error(`the double has no file ${ask.fileId}`);
      const held = run(`batch_${batches.size + 1}`, file.lines, ask.metadata);
      held.fileId = ask.fileId;
      batches.set(held.remote.id, held);
      created.push(held.remote);
      crash("after-create", ask.metadata);
      return { ...held.remote };
    },
    async find(ask: BatchAsk, since: number) {
      const same = (m: Record<string, string>) =>
        Object.keys({ ...m, ...ask.metadata }).every((key) => m[key] === ask.metadata[key]);
      const held = [...batches.values()].find((b) => b.remote.createdAt >= since - 300 && same(b.metadata));
      return held && { ...held.remote };
    },
    async look(ids: string[]) {
      for (const id of ids) crash("look", batches.get(id)?.metadata ?? {});
      const seen = new Map<string, RemoteBatch>();
      for (const id of ids) {
        const held = batches.get(id);
        if (!held) continue;
        if (held.remote.status === "validating") finish(held);
        seen.set(id, { ...held.remote });
      }
      return seen;
    },
    async results(batch: RemoteBatch, to: { output: string; errors: string }) {
      const held = batches.get(batch.id)!;
      const written = {
        ...(await writeWhole(to.output, held.output, "output")),
        ...(await writeWhole(to.errors, held.errors, "errors")),
      };
      crash("after-results", held.metadata);
      return written;
    },
    async cancel(id: string) {
      const held = batches.get(id);
      if (!held) return undefined;
      if (held.remote.status === "validating") finish(held, "cancelled");
      return { ...held.remote };
    },
    async remove() {
      return [];
    },
    async gc() {
      return [];
    },
    async send(url: string, body: unknown): Promise<Sent> {
      direct.push(body);
      const request = body as { model: string; messages: Asked["messages"] };
      const last = String(request.messages.at(-1)?.content ?? "");
      const reply = answer({
        custom_id: "direct",
        batch: "direct",
        stage: 0,
        model: request.model,
        messages: request.messages,
        last,
      });
      const sent = completion(request, reply);
      if (sent.status === 200) return { ok: true, body: sent.body, requestId: "req_direct" };
      return {
        ok: false,
        status: sent.status,
        transient: false,
        body: sent.body as any,
        requestId: "req_direct",
        failure: new Error(url),
      };
    },
    async models(): Promise<RemoteModel[]> {
      return [];
    },
    async model(name: string) {
      return { id: name };
    },
    redact: (text: string) => text,
  };
  return double;
}

/** A batch ends: every request answered (or, cancelled, none), its counts and files said. */
function finish(held: Held, status: "completed" | "cancelled" = "completed"): void {
  if (status === "cancelled") [held.output, held.errors] = [[], []];
  const at = now();
  held.remote = {
    ...held.remote,
    status,
    said: status,
    counts: {
      total: held.output.length + held.errors.length,
      completed: held.output.length,
      failed: held.errors.length,
    },
    inProgressAt: at,
    finishedAt: at,
    ...(held.output.length ? { outputRef: `${held.remote.id}-output` } : {}),
    ...(held.errors.length ? { errorRef: `${held.remote.id}-errors` } : {}),
  };
}

/** One results file, whole, or removed when the service has none; its SHA-256 and lines. */
async function writeWhole(path: string, lines: string[], kind: "output" | "errors") {
  if (!lines.length) {
    await rm(path, { force: true });
    return {};
  }
  const text = `${lines.join("\n")}\n`;
  await writeFile(path, text);
  return { [kind]: { sha256: createHash("sha256").update(text).digest("hex"), lines: lines.length } };
}
