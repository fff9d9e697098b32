/**
 * A loopback fake of Anthropic's Messages and Message Batches API, strict as its documentation
 * (../shared/vendors/VENDORS-2026-12.md; anthropic-sdk-typescript 1.17 `resources/messages/`):
 * requests go inline in the create call (100,000 or 256 MB a batch, custom ids of
 * `[a-zA-Z0-9_-]{1,64}`, unique); a batch keeps no metadata; every count but `processing` stays
 * 0 until the batch ends; `params` are checked only when it ends (a bad one is an `errored`
 * result); results are JSONL in no particular order. Answers are made by the OpenAI fake's
 * writer (server.ts), so `[Section]` prompts get answers that parse. Time is driven by looks.
 */
import { close, listen } from "./listen.ts";
import { createHash } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  CLAUDE_FAKE_MODELS,
  claudeError,
  findModel,
  paramsRefusal,
  textOf,
  versionRefusal,
  type ClaudeError,
  type ClaudeFakeModel,
} from "./anthropic-models.ts";
import { REASONING_TOKENS, mulberry32 } from "./models.ts";
import { FakeOpenAI, readBody, type Fault } from "./server.ts";

export interface FakeAnthropicOptions {
  apiKey?: string;
  seed?: number;
  /** Share of answers missing a `[Section]`, and of answers cut at max_tokens. */
  malformedRate?: number;
  truncatedRate?: number;
  /** Share of batch requests that end `errored` with a server error (half api_error 500, half overloaded 529). */
  failedRate?: number;
  /** Looks a batch stays in_progress (default 1); `fast`: it ends at its first look. */
  pollsPerPhase?: number;
  fast?: boolean;
  /** The first N batches created end with half their requests `expired`. */
  expireFirst?: number;
  /** The first N results downloads stop halfway (the connection closed under its Content-Length). */
  cutDownloads?: number;
  /** HTTP faults (a 529 answers overloaded_error, a 5xx api_error, a 429 rate_limit_error). */
  faults?: Fault[];
  /** Limits on one batch (default: the documented 100,000 requests and 256 MB); tests lower them. */
  maxRequests?: number;
  maxBytes?: number;
  models?: ClaudeFakeModel[];
  port?: number;
  latencyMs?: number;
  /** A test's own answer to a request, where it gives one; else one is made up. */
  answer?: (request: { messages?: { role: string; content: string }[] }) => string | undefined;
}

interface StoredBatch {
  batch: Record<string, any>;
  polls: number;
  requests: { custom_id: string; params: any }[];
  version: string;
  deleted?: boolean;
  expire: boolean;
  results?: string;
}

const DAY = 24 * 3600 * 1000;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

export class FakeAnthropic {
  readonly options: FakeAnthropicOptions;
  readonly batches: StoredBatch[] = [];
  readonly requests: { method: string; path: string }[] = [];
  /** The usage of every message answered directly, as billed. */
  readonly directUsage: Record<string, number>[] = [];
  private readonly models: ClaudeFakeModel[];
  private writer: FakeOpenAI;
  private random: () => number;
  private readonly prefixes = new Set<string>();
  private readonly faults: Fault[];
  private cutDownloadsLeft: number;
  private server: Server | undefined;
  private baseURL = "";
  private nextId = 1;

  constructor(options: FakeAnthropicOptions = {}) {
    this.options = options;
    this.models = options.models ?? CLAUDE_FAKE_MODELS;
    this.random = mulberry32((options.seed ?? 42) + 1);
    this.faults = (options.faults ?? []).map((f) => ({ ...f }));
    this.cutDownloadsLeft = options.cutDownloads ?? 0;
    // The OpenAI fake's writer makes the words; this fake checks and bills them as Anthropic does.
    this.writer = this.writerOf(options.seed ?? 42);
  }

  /** Its address, as ANTHROPIC_BASE_URL takes it (the SDK adds /v1). */
  async start(): Promise<string> {
    const { server, address } = await listen((req, res) => {
      this.handle(req, res).catch((error) => send(res, 500, claudeError("api_error", String(error)).body));
    }, this.options.port);
    this.server = server;
    this.baseURL = address;
    return this.baseURL;
  }

  async stop(): Promise<void> {
    await close(this.server);
  }

  get batchesCreated(): number {
    return this.batches.length;
  }

  /** Every custom_id sent in any batch, with repeats. */
  requestedIds(): string[] {
    return this.batches.flatMap((b) => b.requests.map((r) => r.custom_id));
  }

  private id(prefix: string): string {
    const n = String(this.nextId++).padStart(6, "0");
    // From the count, not the answers' random draws: a batch's answers do not depend on how many ids were given out.
    return `${prefix}${n}${createHash("sha256").update(n).digest("hex").slice(0, 8)}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname });
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    const body = await readBody(req);
    const refused = this.headerRefusal(req);
    if (refused) return sendError(res, refused);
    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(url.pathname));
    if (fault) fault.times--;
    if (fault && !fault.afterHandling) return sendFault(res, fault);
    const version = String(req.headers["anthropic-version"]);
    const [status, payload, raw] = this.route(method, url, body, version);
    if (fault) return sendFault(res, fault);
    if (raw !== undefined) return this.sendResults(res, raw);
    send(res, status, payload);
  }

  /**
   * A key and anthropic-version are required on every call. The key comes as x-api-key, or as
   * `Authorization: Bearer` (how SDK 1.17 sends an API key: client.js apiKeyAuth).
   */
  private headerRefusal(req: IncomingMessage): ClaudeError | undefined {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const key = req.headers["x-api-key"] ?? bearer;
    if (!key) return claudeError("authentication_error", "x-api-key header is required");
    if (key !== (this.options.apiKey ?? "test-key"))
      return claudeError("authentication_error", "invalid x-api-key");
    return versionRefusal(req.headers["anthropic-version"] as string | undefined);
  }

  private route(method: string, url: URL, body: Buffer, version: string): [number, unknown, string?] {
    const path = url.pathname;
    let m: RegExpMatchArray | null;
    if (method === "POST" && path === "/v1/messages") return this.direct(body, version);
    if (method === "POST" && path === "/v1/messages/batches") return this.createBatch(body, version);
    if (method === "GET" && path === "/v1/messages/batches") return this.listBatches(url.searchParams);
    if (method === "GET" && path === "/v1/models") {
      const data = this.models.map(modelInfo);
      return [
        200,
        { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
      ];
    }
    if (method === "GET" && (m = path.match(/^\/v1\/models\/([^/]+)$/))) {
      const model = findModel(this.models, decodeURIComponent(m[1]!));
      return model ? [200, modelInfo(model)] : answer(claudeError("not_found_error", `model: ${m[1]}`));
    }
    if ((m = path.match(/^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/))) {
      const stored = this.batches.find((b) => b.batch.id === m![1] && !b.deleted);
      if (!stored) return answer(claudeError("not_found_error", `message_batch: ${m[1]} not found`));
      if (method === "GET" && !m[2]) return [200, this.advance(stored)];
      if (method === "POST" && m[2] === "/cancel") return [200, this.cancel(stored)];
      if (method === "DELETE" && !m[2]) return this.remove(stored);
      if (method === "GET" && m[2] === "/results") {
        if (stored.results === undefined)
          return answer(claudeError("invalid_request_error", `message_batch: ${m[1]} has not ended yet`));
        return [200, undefined, stored.results];
      }
    }
    return answer(claudeError("not_found_error", `Not found: ${method} ${path}`));
  }

  private direct(body: Buffer, version: string): [number, unknown] {
    const params = parseJson(body);
    if (params === undefined) return answer(claudeError("invalid_request_error", "body: invalid JSON"));
    const result = this.message(params, version, "standard");
    if (!("message" in result)) return answer(result);
    this.directUsage.push(result.message.usage);
    return [200, result.message];
  }

  private createBatch(body: Buffer, version: string): [number, unknown] {
    const maxBytes = this.options.maxBytes ?? 256 * 1024 * 1024;
    if (body.length > maxBytes)
      return answer(
        claudeError("request_too_large", `Request exceeds the maximum size of ${maxBytes} bytes for a batch`),
      );
    const json = parseJson(body);
    const refused = requestsRefusal(json, this.options.maxRequests ?? 100_000);
    if (refused) return answer(refused);
    const now = Date.now();
    const n = json.requests.length;
    const batch = {
      id: this.id("msgbatch_"),
      type: "message_batch",
      processing_status: "in_progress",
      request_counts: { processing: n, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: null,
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + DAY).toISOString(),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: null,
    };
    const expire = this.batches.length < (this.options.expireFirst ?? 0);
    this.batches.push({ batch, polls: 0, requests: json.requests, version, expire });
    return [200, { ...batch }];
  }

  /** Newest first; `before_id` pages toward newer ones, `after_id` toward older. Listing is looking too. */
  private listBatches(query: URLSearchParams): [number, unknown] {
    const all = this.batches.filter((b) => !b.deleted).reverse();
    const limit = Math.min(Math.max(Number(query.get("limit") ?? 20), 1), 1000);
    const before = query.get("before_id");
    const after = query.get("after_id");
    let start = 0;
    let end = all.length;
    if (after) start = all.findIndex((b) => b.batch.id === after) + 1;
    if (before)
      end = Math.max(
        all.findIndex((b) => b.batch.id === before),
        0,
      );
    const window = all.slice(start, end);
    const page = before ? window.slice(-limit) : window.slice(0, limit);
    const data = page.map((b) => this.advance(b));
    const has_more = window.length > page.length;
    return [200, { data, has_more, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }];
  }

  /** One look: an in-progress batch ends after `pollsPerPhase` looks; a cancelling one at the next. */
  private advance(stored: StoredBatch): Record<string, any> {
    stored.polls++;
    const { batch } = stored;
    const due =
      this.options.fast ||
      batch.processing_status === "canceling" ||
      stored.polls >= (this.options.pollsPerPhase ?? 1);
    if (batch.processing_status !== "ended" && due) this.end(stored);
    return { ...batch, request_counts: { ...batch.request_counts } };
  }

  private cancel(stored: StoredBatch) {
    const { batch } = stored;
    if (batch.processing_status === "in_progress")
      Object.assign(batch, { processing_status: "canceling", cancel_initiated_at: new Date().toISOString() });
    return { ...batch };
  }

  private remove(stored: StoredBatch): [number, unknown] {
    if (stored.batch.processing_status !== "ended")
      return answer(
        claudeError(
          "invalid_request_error",
          `message_batch: ${stored.batch.id} cannot be deleted while processing; cancel it first`,
        ),
      );
    stored.deleted = true;
    return [200, { id: stored.batch.id, type: "message_batch_deleted" }];
  }

  /** The writer of answers: the OpenAI fake's model, seeded. */
  private writerOf(seed: number): FakeOpenAI {
    return new FakeOpenAI({
      seed,
      malformedRate: this.options.malformedRate ?? 0,
      truncatedRate: this.options.truncatedRate ?? 0,
      models: this.models.map((m) => ({ id: m.id, shutdown_date: null, contextTokens: m.contextTokens })),
      ...(this.options.answer ? { answer: this.options.answer } : {}),
    });
  }

  /**
   * A batch's answers are drawn from the seed and the batch's place among those made, not from
   * draws before: what a batch answers does not depend on when, or in which order, batches end.
   */
  private drawFor(ordinal: number): void {
    const seed = (this.options.seed ?? 42) + 1000 * (ordinal + 1);
    this.random = mulberry32(seed + 1);
    this.writer = this.writerOf(seed);
  }

  /** The batch ends: every request is run (its params checked only now), the results shuffled. */
  private end(stored: StoredBatch): void {
    this.drawFor(this.batches.indexOf(stored));
    const { batch } = stored;
    const cancelled = batch.processing_status === "canceling";
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    const lines = stored.requests.map((request, i) => {
      const result = this.resultOf(stored, request, i, cancelled);
      counts[result.type as keyof typeof counts]++;
      return JSON.stringify({ custom_id: request.custom_id, result });
    });
    // The service gives results in no particular order.
    for (let i = lines.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
    stored.results = lines.length ? `${lines.join("\n")}\n` : "";
    Object.assign(batch, {
      processing_status: "ended",
      request_counts: counts,
      ended_at: new Date().toISOString(),
      results_url: `${this.baseURL}/v1/messages/batches/${batch.id}/results`,
    });
  }

  private resultOf(stored: StoredBatch, request: { params: any }, i: number, cancelled: boolean) {
    if (cancelled && i % 2 === 1) return { type: "canceled" };
    if (stored.expire && i % 2 === 1) return { type: "expired" };
    const roll = this.random();
    if (roll < (this.options.failedRate ?? 0)) {
      const type = roll < (this.options.failedRate ?? 0) / 2 ? "api_error" : "overloaded_error";
      return {
        type: "errored",
        error: claudeError(type, type === "api_error" ? "Internal server error" : "Overloaded").body,
      };
    }
    const result = this.message(request.params, stored.version, "batch");
    if ("message" in result) return { type: "succeeded", message: result.message };
    return { type: "errored", error: result.body };
  }

  /** One Messages request as the service answers it: checked, then written and billed. */
  message(params: any, version: string, tier: string): ClaudeError | { message: any } {
    const refused = paramsRefusal(this.models, params, version);
    if (refused) return refused;
    // A batch answers whole messages; the fake streams nothing either.
    if (params.stream === true)
      return claudeError(
        "invalid_request_error",
        tier === "batch"
          ? "stream: streaming is not supported in Message Batches"
          : "stream: the fake does not stream",
      );
    const model = findModel(this.models, params.model)!;
    const system = textOf(params.system);
    const thinking = thinkingTokens(params);
    const room = Math.max(params.max_tokens - thinking, 0);
    const schema = params.output_config?.format?.schema;
    const written = this.writer.complete({
      model: model.id,
      messages: [
        ...(system ? [{ role: "system", content: system }] : []),
        ...params.messages.map((m: any) => ({ role: m.role, content: textOf(m.content) })),
      ],
      max_completion_tokens: room || 1,
      ...(schema ? { response_format: { type: "json_schema", json_schema: { name: "out", schema } } } : {}),
    });
    if (written.status !== 200)
      return claudeError("invalid_request_error", String(written.body?.error?.message ?? "invalid request"));
    const choice = written.body.choices[0];
    const text: string = room ? choice.message.content : "";
    const cut = !room || choice.finish_reason === "length";
    const outputTokens = thinking + Math.ceil(text.length / 4);
    const content = [
      ...(thinking ? [{ type: "thinking", thinking: "", signature: this.id("sig_") }] : []),
      ...(text ? [{ type: "text", text, citations: null }] : []),
    ];
    return {
      message: {
        id: this.id("msg_"),
        type: "message",
        role: "assistant",
        model: model.id,
        content,
        stop_reason: cut ? "max_tokens" : "end_turn",
        stop_sequence: null,
        stop_details: null,
        container: null,
        diagnostics: null,
        usage: {
          ...this.inputUsage(model, params),
          output_tokens: outputTokens,
          ...usageExtras(thinking, tier),
        },
      },
    };
  }

  /**
   * Input tokens, split as the service bills them: a prefix marked with cache_control (at least
   * the model's floor) is written to the cache the first time and read from it after; a write is
   * billed at the lifetime the mark asks for (`ttl`, 5 minutes unless "1h").
   */
  private inputUsage(model: ClaudeFakeModel, params: any) {
    const pieces = promptPieces(params);
    const total = Math.ceil(pieces.map((p) => p.text).join("").length / 4) + 7;
    const marked = params.cache_control ? pieces.length : pieces.findLastIndex((p) => p.ttl) + 1;
    const ttl = params.cache_control?.ttl ?? pieces[marked - 1]?.ttl;
    const prefix = pieces
      .slice(0, marked)
      .map((p) => p.text)
      .join("");
    const cacheable = marked ? Math.min(Math.ceil(prefix.length / 4), total) : 0;
    let [write, read] = [0, 0];
    if (cacheable >= model.cacheMinTokens) {
      const key = createHash("sha256").update(`${params.model}\n${prefix}`).digest("hex");
      if (this.prefixes.has(key)) read = cacheable;
      else {
        write = cacheable;
        this.prefixes.add(key);
      }
    }
    const hour = ttl === "1h";
    return {
      input_tokens: total - write - read,
      cache_creation_input_tokens: write,
      cache_read_input_tokens: read,
      cache_creation: {
        ephemeral_5m_input_tokens: hour ? 0 : write,
        ephemeral_1h_input_tokens: hour ? write : 0,
      },
    };
  }

  /** The results JSONL, unless a fault says to cut it halfway. */
  private sendResults(res: ServerResponse, text: string): void {
    const raw = Buffer.from(text);
    res.writeHead(200, { "content-type": "application/binary", "content-length": raw.length });
    if (this.cutDownloadsLeft > 0 && raw.length > 1) {
      this.cutDownloadsLeft--;
      res.write(raw.subarray(0, Math.floor(raw.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(raw);
  }
}

/** Checks the create call's own shape: the requests' params wait until the batch ends. */
function requestsRefusal(json: any, maxRequests: number): ClaudeError | undefined {
  const invalid = (message: string) => claudeError("invalid_request_error", message);
  if (!json || !Array.isArray(json.requests)) return invalid("requests: Field required");
  const extra = Object.keys(json).find((key) => key !== "requests");
  if (extra !== undefined) return invalid(`${extra}: Extra inputs are not permitted`);
  if (!json.requests.length) return invalid("requests: List should have at least 1 item");
  if (json.requests.length > maxRequests)
    return invalid(`requests: List should have at most ${maxRequests} items, not ${json.requests.length}`);
  const seen = new Set<string>();
  for (const [i, request] of json.requests.entries()) {
    const id = request?.custom_id;
    if (typeof id !== "string" || !CUSTOM_ID.test(id))
      return invalid(`requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
    if (seen.has(id))
      return invalid(`requests: custom_id values must be unique; '${id}' appears more than once`);
    seen.add(id);
    if (!request.params || typeof request.params !== "object")
      return invalid(`requests.${i}.params: Input should be a valid dictionary`);
  }
  return undefined;
}

/** The prompt in order (system, then messages), each piece with its cache_control's ttl when it carries one. */
function promptPieces(params: any): { text: string; ttl?: string }[] {
  const blocks = (content: unknown) =>
    typeof content === "string"
      ? [{ text: content }]
      : Array.isArray(content)
        ? content.map((b: any) => ({
            text: textOf([b]),
            ...(b?.cache_control ? { ttl: b.cache_control.ttl ?? "5m" } : {}),
          }))
        : [];
  return [...blocks(params.system), ...params.messages.flatMap((m: any) => blocks(m.content))];
}

/** Thinking spends tokens before the answer, out of max_tokens: adaptive at its effort (high by default). */
function thinkingTokens(params: any): number {
  const thinking = params.thinking;
  if (thinking?.type === "adaptive")
    return Math.min(REASONING_TOKENS[params.output_config?.effort ?? "high"] ?? 0, params.max_tokens);
  if (thinking?.type === "enabled") return Math.min(thinking.budget_tokens, params.max_tokens);
  return 0;
}

function usageExtras(thinking: number, tier: string) {
  return {
    output_tokens_details: { thinking_tokens: thinking },
    server_tool_use: null,
    service_tier: tier,
    inference_geo: "global",
    speed: "standard",
  };
}

function modelInfo(model: ClaudeFakeModel) {
  return { id: model.id, type: "model", display_name: model.id, created_at: "2026-11-01T00:00:00Z" };
}

function parseJson(body: Buffer): any {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

const answer = (error: ClaudeError): [number, unknown] => [error.status, error.body];

function send(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "request-id": `req_fake${Date.now()}` });
  res.end(JSON.stringify(payload));
}

function sendError(res: ServerResponse, error: ClaudeError): void {
  send(res, error.status, error.body);
}

function sendFault(res: ServerResponse, fault: Fault): void {
  const type =
    fault.status === 529 ? "overloaded_error" : fault.status === 429 ? "rate_limit_error" : "api_error";
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  res.writeHead(fault.status, headers);
  res.end(
    JSON.stringify(
      claudeError(type, type === "overloaded_error" ? "Overloaded" : `Injected fault ${fault.status}`).body,
    ),
  );
}

/** Starts a fake for a test: its address (for ANTHROPIC_BASE_URL) and the fake, to look into. */
export async function startFakeAnthropic(
  options: FakeAnthropicOptions = {},
): Promise<{ fake: FakeAnthropic; baseURL: string }> {
  const fake = new FakeAnthropic(options);
  return { fake, baseURL: await fake.start() };
}
