/**
 * A loopback fake of the OpenAI Files, Batches and Chat Completions API, faithful to
 * ../shared/openai/BATCH-CONTRACT.md and openapi.yaml, with knobs for every fault synthai meets.
 * Every request body, direct or a batch line, is checked against the document's schema first.
 * Time is driven by polls: each `GET /batches/{id}` moves a batch along its lifecycle.
 */
import { close, listen } from "./listen.ts";
import { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  REASONING_TOKENS,
  effortOf,
  embed,
  mulberry32,
  promptTokens,
  refusal,
  type FakeModel,
} from "./models.ts";
import { PROFILES, type ProfileName, type ProviderProfile } from "./profiles.ts";
import { KIND_OF_URL, NOT_JSON, checkBody } from "./checks.ts";
import { PrefixCache } from "./prefix-cache.ts";

export interface Fault {
  method: string;
  /** Matched against the path without the query, e.g. /^\/v1\/batches$/. */
  path: RegExp;
  status: number;
  /** How many matching requests fail. */
  times: number;
  /** Handle the request, then answer with the error anyway (a lost response). */
  afterHandling?: boolean;
  retryAfter?: number;
  /** Echo the request's Authorization header in the error message, as some proxies do. */
  echoAuthorization?: boolean;
}

export interface FakeOptions {
  apiKey?: string;
  seed?: number;
  /** Share of answers missing a section. */
  malformedRate?: number;
  /** Share of request lines that fail with a 500 in the error file. */
  failedRate?: number;
  /** Share of answers cut at max_tokens (finish_reason "length"). */
  truncatedRate?: number;
  /** Retrieves a batch stays in each phase. */
  pollsPerPhase?: number;
  /** A batch goes through every phase at its first look: done (or failed) in one poll, for offline work. */
  fast?: boolean;
  unevenPhases?: boolean;
  /** The first N batches created expire after doing half their requests. */
  expireFirst?: number;
  /** Enqueued prompt-token limit; a batch over it fails with token_limit_exceeded. */
  enqueuedTokenLimit?: number;
  /** The first N output lines the fake writes are cut in half (a corrupt download). */
  corruptOutputLines?: number;
  /** The first N file downloads stop halfway: the connection is closed under a Content-Length it did not meet. */
  cutDownloads?: number;
  /** The first N downloads of a file of several lines answer a well-formed file without its last line. */
  shortDownloads?: number;
  faults?: Fault[];
  /** The first N flex-tier requests get 429 resource_unavailable (capacity is short). */
  flexBusy?: number;
  /** The models it serves (default: FAKE_MODELS), and the day it is for them (default: today, UTC). */
  models?: FakeModel[];
  today?: string;
  /** The batch service it plays (profiles.ts): its purpose, windows, optional fields, statuses. */
  profile?: ProfileName;
  /** The loopback port to listen on; any free one by default. */
  port?: number;
  /** Milliseconds each answer waits, as a distant service's would. */
  latencyMs?: number;
  /** A test's own answer to a chat request, where it gives one (in process only); else one is made up. */
  answer?: (request: { messages?: { role: string; content: string }[] }) => string | undefined;
}

interface StoredFile {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  expires_at?: number;
  filename: string;
  purpose: string;
  status: "processed";
  content: Buffer;
}

interface StoredBatch {
  batch: Record<string, any>;
  polls: number;
  pollsPerPhase: number;
  lines: any[];
  promptTokens: number;
  expire: boolean;
}

/** An error of a batch's input, as the service lists it. */
interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** The token counts a batch adds up over its answers. */
interface BatchUsage {
  input_tokens: number;
  output_tokens: number;
  cached: number;
  reasoning: number;
}

const MAX_LINES = 50_000;
const ENDED = ["completed", "failed", "expired", "cancelled"];

/** The paths whose POST body is JSON: anything else sent there is refused as the service does. */
const JSON_PATHS = new Set(["/v1/batches", ...Object.keys(KIND_OF_URL)]);

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return NOT_JSON;
  }
}

export class FakeOpenAI {
  readonly options: FakeOptions;
  readonly files = new Map<string, StoredFile>();
  readonly batches: StoredBatch[] = [];
  readonly requests: { method: string; path: string }[] = [];
  /** Names of every file uploaded for a batch, deleted since or not. */
  readonly uploads: string[] = [];
  chatCompletions = 0;
  /** The usage of every chat completion answered directly (canary, pilot, sync), as billed. */
  readonly directUsage: { prompt_tokens: number; completion_tokens: number }[] = [];
  private readonly models: FakeModel[];
  private flexBusyLeft: number;
  private readonly today: string;
  /** Prompt prefixes seen, for prompt caching. */
  private readonly prefixes = new PrefixCache();
  /** The most batches that were running at once, counted as each was created. */
  maxRunning = 0;
  private server: Server | undefined;
  private random: () => number;
  private nextId = 1;
  private faults: Fault[];
  private corruptLinesLeft: number;
  private cutDownloadsLeft: number;
  private shortDownloadsLeft: number;
  readonly profile: ProviderProfile;

  constructor(options: FakeOptions = {}) {
    this.options = options;
    this.profile = PROFILES[options.profile ?? "openai"];
    this.random = mulberry32(options.seed ?? 42);
    this.faults = (options.faults ?? []).map((f) => ({ ...f }));
    this.corruptLinesLeft = options.corruptOutputLines ?? 0;
    this.cutDownloadsLeft = options.cutDownloads ?? 0;
    this.shortDownloadsLeft = options.shortDownloads ?? 0;
    this.models = options.models ?? this.profile.models;
    this.flexBusyLeft = options.flexBusy ?? 0;
    this.today = options.today ?? new Date().toISOString().slice(0, 10);
  }

  async start(): Promise<string> {
    // Lenient framing: Prism's proxy forwards a chunked upload with a Content-Length too.
    const { server, address } = await listen(
      (req, res) => {
        this.handle(req, res).catch((error) => send(res, 500, apiError(String(error), "server_error")));
      },
      this.options.port,
      { insecureHTTPParser: true },
    );
    this.server = server;
    return `${address}/v1`;
  }

  async stop(): Promise<void> {
    await close(this.server);
  }

  /** Batches created, whatever became of them. */
  get batchesCreated(): number {
    return this.batches.length;
  }

  /** Every custom_id sent to the service in any batch, with repeats. */
  requestedIds(): string[] {
    return this.batches.flatMap((b) => b.lines.map((l) => l.custom_id));
  }

  private id(prefix: string): string {
    return `${prefix}${String(this.nextId++).padStart(6, "0")}${Math.floor(this.random() * 1e9).toString(36)}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    const path = url.pathname;
    this.requests.push({ method, path });
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
    const body = await readBody(req);
    if (req.headers.authorization !== `Bearer ${this.options.apiKey ?? "test-key"}`)
      return send(
        res,
        401,
        apiError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
      );
    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(path));
    if (fault) fault.times--;
    if (fault && !fault.afterHandling) return sendFault(res, fault, req.headers.authorization);
    const [status, payload, raw] = await this.route(method, path, url.searchParams, body, req);
    if (fault) return sendFault(res, fault, req.headers.authorization);
    if (raw) return this.sendFile(res, status, raw);
    send(res, status, payload);
  }

  /** A file's content, unless a download fault says to cut it or leave its last line out. */
  private sendFile(res: ServerResponse, status: number, raw: Buffer): void {
    const lines = raw.toString("utf8").split("\n").filter(Boolean);
    if (this.shortDownloadsLeft > 0 && lines.length > 1) {
      this.shortDownloadsLeft--;
      raw = Buffer.from(`${lines.slice(0, -1).join("\n")}\n`);
    }
    res.writeHead(status, { "content-type": "application/octet-stream", "content-length": raw.length });
    if (this.cutDownloadsLeft > 0 && raw.length > 1) {
      this.cutDownloadsLeft--;
      res.write(raw.subarray(0, Math.floor(raw.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(raw);
  }

  private async route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Buffer,
    req: IncomingMessage,
  ): Promise<[number, unknown, Buffer?]> {
    let m: RegExpMatchArray | null;
    if (method === "POST" && path === "/v1/files") return this.createFile(body, req);
    if (method === "GET" && path === "/v1/files") return [200, this.listFiles(query)];
    if ((m = path.match(/^\/v1\/files\/([^/]+)$/))) {
      const file = this.files.get(m[1]!);
      if (!file) return [404, apiError(`No such File object: ${m[1]}`, "invalid_request_error")];
      if (method === "DELETE") {
        this.files.delete(file.id);
        return [200, { id: file.id, object: "file", deleted: true }];
      }
      return [200, publicFile(file)];
    }
    if (method === "GET" && (m = path.match(/^\/v1\/files\/([^/]+)\/content$/))) {
      const file = this.files.get(m[1]!);
      if (!file) return [404, apiError(`No such File object: ${m[1]}`, "invalid_request_error")];
      return [200, undefined, file.content];
    }
    const json = method === "POST" && JSON_PATHS.has(path) ? parseJson(body) : undefined;
    if (json === NOT_JSON) return [400, { error: NOT_JSON.error }];
    if (method === "POST" && path === "/v1/batches") return this.createBatch(json);
    if (method === "GET" && path === "/v1/batches") return [200, this.listBatches(query)];
    if ((m = path.match(/^\/v1\/batches\/([^/]+)(\/cancel)?$/))) {
      const stored = this.batches.find((b) => b.batch.id === m![1]);
      if (!stored) return [404, apiError(`No batch found with id '${m[1]}'.`, "invalid_request_error")];
      if (method === "POST" && m[2]) return [200, this.cancel(stored)];
      if (method === "GET" && !m[2]) return [200, this.advance(stored)];
    }
    if (method === "GET" && path === "/v1/models")
      return [200, { object: "list", data: this.liveModels().map(modelObject) }];
    if (method === "GET" && (m = path.match(/^\/v1\/models\/(.+)$/))) {
      const model = this.liveModels().find((x) => x.id === decodeURIComponent(m![1]!));
      if (!model)
        return [
          404,
          apiError(`The model '${m[1]}' does not exist`, "invalid_request_error", "model_not_found", "model"),
        ];
      return [200, modelObject(model)];
    }
    if (method === "POST" && KIND_OF_URL[path]) {
      if (path !== "/v1/embeddings") this.chatCompletions++;
      const answer = this.answer(path, json);
      if (answer.status === 200 && path === "/v1/chat/completions") this.directUsage.push(answer.body.usage);
      return [answer.status, answer.body];
    }
    return [404, apiError(`Invalid URL (${method} ${path})`, "invalid_request_error")];
  }

  private async createFile(body: Buffer, req: IncomingMessage): Promise<[number, unknown]> {
    const form = await new Request("http://fake/", {
      method: "POST",
      headers: req.headers as HeadersInit,
      body: new Uint8Array(body),
    }).formData();
    const file = form.get("file");
    const purpose = form.get("purpose");
    if (!(file instanceof File))
      return [400, apiError("Missing file", "invalid_request_error", null, "file")];
    if (purpose !== this.profile.purpose)
      return [400, apiError(`Invalid purpose ${purpose}`, "invalid_request_error", null, "purpose")];
    if (this.profile.expiry === "refuse" && form.has("expires_after[anchor]"))
      return [400, unknownParameter("expires_after")];
    if (!file.name.endsWith(".jsonl"))
      return [
        400,
        apiError(
          "Invalid file format for Batch API. Must be .jsonl",
          "invalid_request_error",
          "invalid_file_format",
          "file",
        ),
      ];
    const content = Buffer.from(await file.arrayBuffer());
    const now = nowSeconds();
    const seconds = Number(form.get("expires_after[seconds]") ?? 0);
    const stored: StoredFile = {
      id: this.id("file-"),
      object: "file",
      bytes: content.length,
      created_at: now,
      filename: file.name,
      purpose,
      status: "processed",
      content,
    };
    if (seconds) stored.expires_at = now + seconds;
    this.files.set(stored.id, stored);
    this.uploads.push(stored.filename);
    return [200, publicFile(stored)];
  }

  private listFiles(query: URLSearchParams) {
    let files = [...this.files.values()].filter(
      (f) => !query.get("purpose") || f.purpose === query.get("purpose"),
    );
    files.sort(
      (a, b) =>
        (query.get("order") === "asc" ? 1 : -1) * (a.created_at - b.created_at || a.id.localeCompare(b.id)),
    );
    return page(files.map(publicFile), query, 10_000, true);
  }

  /** Listing is looking too: each batch on the page moves along, as time passes for all. */
  private listBatches(query: URLSearchParams) {
    const newestFirst = [...this.batches].reverse();
    const listed = page(
      newestFirst.map((b) => ({ id: b.batch.id as string, stored: b })),
      query,
      20,
    );
    return { ...listed, data: listed.data.map(({ stored }) => this.advance(stored)) };
  }

  private createBatch(body: any): [number, unknown] {
    const refused = checkBody("batch", body);
    if (refused) return [refused.status, { error: refused.error }];
    const file = this.files.get(body.input_file_id);
    if (!file)
      return [
        400,
        apiError(
          `Invalid 'input_file_id': '${body.input_file_id}'.`,
          "invalid_request_error",
          null,
          "input_file_id",
        ),
      ];
    // An output file is not a request file: the service runs only what was uploaded for batches.
    if (file.purpose !== this.profile.purpose)
      return [
        400,
        apiError(
          `Invalid 'input_file_id': '${file.id}' has purpose '${file.purpose}'; a batch runs a file ` +
            `uploaded with purpose '${this.profile.purpose}'.`,
          "invalid_request_error",
          "invalid_value",
          "input_file_id",
        ),
      ];
    const least = (this.profile as ProviderProfile).minRequestsPerFile ?? 0;
    if (least && file.content.toString("utf8").split("\n").filter(Boolean).length < least)
      return [
        400,
        apiError(
          `The input file must contain at least ${least} requests.`,
          "invalid_request_error",
          null,
          "input_file_id",
        ),
      ];
    if (!this.profile.windows.includes(body.completion_window))
      return [400, apiError("Invalid completion_window", "invalid_request_error", null, "completion_window")];
    if (this.profile.expiry === "refuse" && body.output_expires_after !== undefined)
      return [400, unknownParameter("output_expires_after")];
    if (this.profile.metadata === "refuse" && body.metadata !== undefined)
      return [400, unknownParameter("metadata")];
    const metadata = this.profile.metadata === "drop" ? null : (body.metadata ?? null);
    if (
      metadata &&
      (Object.keys(metadata).length > 16 ||
        Object.entries(metadata).some(([k, v]) => k.length > 64 || String(v).length > 512))
    )
      return [400, apiError("Invalid metadata", "invalid_request_error", null, "metadata")];
    const now = nowSeconds();
    const batch: Record<string, any> = {
      id: this.id("batch_"),
      object: "batch",
      endpoint: body.endpoint,
      errors: null,
      input_file_id: file.id,
      completion_window: body.completion_window,
      status: "validating",
      output_file_id: null,
      error_file_id: null,
      created_at: now,
      expires_at: now + windowSeconds(body.completion_window),
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata,
    };
    const expire = this.batches.length < (this.options.expireFirst ?? 0);
    // With unevenPhases, batches take 1 to 4 looks a phase, so they finish in any order.
    const pollsPerPhase = this.options.unevenPhases
      ? 1 + Math.floor(this.random() * 4)
      : (this.options.pollsPerPhase ?? 1);
    this.batches.push({ batch, polls: 0, pollsPerPhase, lines: [], promptTokens: 0, expire });
    const running = this.batches.filter((b) => !ENDED.includes(b.batch.status)).length;
    this.maxRunning = Math.max(this.maxRunning, running);
    const profile: ProviderProfile = this.profile;
    const shown = this.clean(batch);
    return [200, profile.wrapsCreate ? { job: shown, warning: "" } : shown];
  }

  /**
   * A batch as the service shows it: optional timestamps left out rather than null, as the schema wants; the
   * status as the profile writes it.
   */
  private clean(batch: Record<string, any>) {
    const shown = Object.fromEntries(Object.entries(batch).filter(([, v]) => v !== null));
    const profile: ProviderProfile = this.profile;
    shown.status = profile.statusWords?.[shown.status] ?? shown.status;
    if (profile.upperCaseStatuses) shown.status = String(shown.status).toUpperCase();
    return shown;
  }

  /**
   * One poll: validating → in_progress → finalizing → completed (or failed / expired); with the
   * `fast` knob, all of them at once.
   */
  private advance(stored: StoredBatch) {
    const { batch } = stored;
    stored.polls++;
    if (this.options.fast) while (!ENDED.includes(batch.status)) this.nextPhase(stored);
    else if (stored.polls % stored.pollsPerPhase === 0 || batch.status === "cancelling")
      this.nextPhase(stored);
    return this.clean(batch);
  }

  private nextPhase(stored: StoredBatch): void {
    const { batch } = stored;
    if (ENDED.includes(batch.status)) return;
    const now = nowSeconds();
    switch (batch.status) {
      case "validating": {
        const errors = this.validate(stored);
        if (errors.length) {
          Object.assign(batch, {
            status: "failed",
            failed_at: now,
            errors: { object: "list", data: errors },
          });
          break;
        }
        batch.request_counts = { total: stored.lines.length, completed: 0, failed: 0 };
        batch.model = stored.lines[0]?.body?.model;
        Object.assign(batch, { status: "in_progress", in_progress_at: now });
        break;
      }
      case "in_progress":
        Object.assign(batch, { status: "finalizing", finalizing_at: now });
        this.run(stored);
        break;
      case "finalizing":
        Object.assign(
          batch,
          stored.expire ? { status: "expired", expired_at: now } : { status: "completed", completed_at: now },
        );
        break;
      case "cancelling":
        Object.assign(batch, { status: "cancelled", cancelled_at: now });
        this.run(stored, true);
        break;
    }
  }

  private cancel(stored: StoredBatch) {
    const { batch } = stored;
    if (["validating", "in_progress", "finalizing"].includes(batch.status))
      Object.assign(batch, { status: "cancelling", cancelling_at: nowSeconds() });
    return this.clean(batch);
  }

  /** Checks the input file as the service does; returns BatchError objects. */
  private validate(stored: StoredBatch) {
    const file = this.files.get(stored.batch.input_file_id)!;
    if (file.bytes > this.profile.maxBytesPerFile)
      return [
        {
          code: "file_too_large",
          message: `The input file exceeds ${this.profile.maxBytesPerFile / 1e6} MB.`,
          param: null,
          line: null,
        },
      ];
    const text = file.content.toString("utf8");
    const lines = text.split("\n").filter((l) => l.trim());
    const count = lineCountError(lines.length);
    if (count) return [count];
    const errors: BatchError[] = [];
    const ids = new Set<string>();
    let model: string | undefined;
    lines.forEach((raw, i) => {
      const line = i + 1;
      let request: any;
      try {
        request = JSON.parse(raw);
      } catch {
        errors.push({
          code: "invalid_json_line",
          message: "This line is not parseable as valid JSON.",
          param: null,
          line,
        });
        return;
      }
      errors.push(...requestErrors(request, line, stored.batch.endpoint, ids));
      // The first request that parses sets the model every other one must use.
      model ??= request.body?.model;
      if (request.body?.model !== model)
        errors.push({
          code: "mismatched_model",
          message: "All requests in a batch must use the same model.",
          param: "body.model",
          line,
        });
      stored.lines.push(request);
    });
    stored.promptTokens = stored.lines.reduce((s, r) => s + promptTokens(r.body), 0);
    const overLimit = errors.length ? undefined : this.tokenLimitError(stored, model);
    if (overLimit) errors.push(overLimit);
    if (errors.length) stored.lines = [];
    return errors.slice(0, 10);
  }

  /** With an enqueued-token limit: the error if this batch's prompts and those running exceed it. */
  private tokenLimitError(stored: StoredBatch, model: string | undefined): BatchError | undefined {
    const limit = this.options.enqueuedTokenLimit;
    if (limit === undefined) return undefined;
    const enqueued = this.batches
      .filter((b) => b !== stored && ["in_progress", "finalizing"].includes(b.batch.status))
      .reduce((s, b) => s + b.promptTokens, 0);
    if (enqueued + stored.promptTokens > limit)
      return {
        code: "token_limit_exceeded",
        message: `Enqueued token limit reached for ${model}. Limit: ${limit} enqueued tokens.`,
        param: null,
        line: null,
      };
    return undefined;
  }

  /** Answers the batch's requests (half of them if it expires or was cancelled), shuffled. */
  private run(stored: StoredBatch, cancelled = false) {
    const { batch } = stored;
    const partial = stored.expire || cancelled;
    const outputs: string[] = [];
    const errors: string[] = [];
    const usage = { input_tokens: 0, output_tokens: 0, cached: 0, reasoning: 0 };
    stored.lines.forEach((request, i) => {
      if (partial && i % 2 === 1) {
        errors.push(this.notRunLine(request, cancelled));
        return;
      }
      const { ok, line } = this.resultLine(request, usage);
      (ok ? outputs : errors).push(line);
    });
    // The real service writes results in no particular order.
    shuffle(outputs, this.random);
    shuffle(errors, this.random);
    batch.request_counts = { total: stored.lines.length, completed: outputs.length, failed: errors.length };
    batch.usage = {
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      input_tokens_details: { cached_tokens: usage.cached },
      output_tokens_details: { reasoning_tokens: usage.reasoning },
      total_tokens: usage.input_tokens + usage.output_tokens,
    };
    for (let i = 0; i < outputs.length && this.corruptLinesLeft > 0; i++, this.corruptLinesLeft--)
      outputs[i] = outputs[i]!.slice(0, Math.floor(outputs[i]!.length / 2));
    if (outputs.length) batch.output_file_id = this.storeOutput(batch, "output", outputs);
    if (errors.length) batch.error_file_id = this.storeOutput(batch, "error", errors);
  }

  /** The error line of a request left unanswered when its batch expired or was cancelled. */
  private notRunLine(request: any, cancelled: boolean): string {
    const code = cancelled ? "batch_cancelled" : "batch_expired";
    return JSON.stringify({
      id: this.id("batch_req_"),
      custom_id: request.custom_id,
      response: null,
      error: {
        code,
        message:
          `This request could not be executed before the ` +
          `batch was ${cancelled ? "cancelled" : "expired"}.`,
      },
    });
  }

  /**
   * One request run: its output line (its usage added to `usage`) or, failed by the `failedRate`
   * knob or refused, its error line.
   */
  private resultLine(request: any, usage: BatchUsage): { ok: boolean; line: string } {
    if (this.random() < (this.options.failedRate ?? 0)) {
      return {
        ok: false,
        line: JSON.stringify({
          id: this.id("batch_req_"),
          custom_id: request.custom_id,
          response: {
            status_code: 500,
            request_id: this.id("req_"),
            body: apiError("The server had an error while processing your request.", "server_error"),
          },
          error: null,
        }),
      };
    }
    const { status, body } = this.answer(request.url, request.body);
    // A line the model refuses fails on its own, in the error file, as every such line does.
    if (status !== 200) {
      return {
        ok: false,
        line: JSON.stringify({
          id: this.id("batch_req_"),
          custom_id: request.custom_id,
          response: { status_code: status, request_id: this.id("req_"), body },
          error: null,
        }),
      };
    }
    // Chat usage and Responses usage name the same counts differently; embeddings write none.
    const u = body.usage;
    usage.input_tokens += u.prompt_tokens ?? u.input_tokens;
    usage.output_tokens += u.completion_tokens ?? u.output_tokens ?? 0;
    usage.cached += (u.prompt_tokens_details ?? u.input_tokens_details)?.cached_tokens ?? 0;
    usage.reasoning += (u.completion_tokens_details ?? u.output_tokens_details)?.reasoning_tokens ?? 0;
    return {
      ok: true,
      line: JSON.stringify({
        id: this.id("batch_req_"),
        custom_id: request.custom_id,
        response: { status_code: 200, request_id: this.id("req_"), body },
        error: null,
      }),
    };
  }

  private storeOutput(batch: Record<string, any>, kind: string, lines: string[]): string {
    const content = Buffer.from(`${lines.join("\n")}\n`);
    const file: StoredFile = {
      id: this.id("file-"),
      object: "file",
      bytes: content.length,
      created_at: nowSeconds(),
      filename: `${batch.id}_${kind}.jsonl`,
      purpose: "batch_output",
      status: "processed",
      content,
    };
    this.files.set(file.id, file);
    return file.id;
  }

  /**
   * A chat completion that follows the prompt's `[Section]` format, unless a knob says otherwise;
   * with a json_schema response format it is JSON that fits the schema, as strict mode promises.
   */
  /** Models not yet shut down. */
  private liveModels(): FakeModel[] {
    return this.models.filter((m) => !m.shutdown_date || m.shutdown_date > this.today);
  }

  /** One request, direct or a batch line, as the service answers it: checked against the document first. */
  private answer(url: string, body: unknown): { status: number; body: any } {
    const kind = KIND_OF_URL[url];
    const refused = kind && checkBody(kind, body);
    if (refused) return { status: refused.status, body: { error: refused.error } };
    if (kind === "responses") return this.respond(body);
    return kind === "embeddings" ? embed(body) : this.complete(body);
  }

  /**
   * A Responses request, answered by the same model as a chat one: `instructions` and `input`
   * in, `output` items and `incomplete_details` out, usage in its own words.
   */
  respond(request: any): { status: number; body: any } {
    const input =
      typeof request.input === "string" ? [{ role: "user", content: request.input }] : (request.input ?? []);
    const chat: any = {
      model: request.model,
      messages: [
        ...(request.instructions ? [{ role: "system", content: request.instructions }] : []),
        ...input,
      ],
      ...(request.max_output_tokens !== undefined
        ? { max_completion_tokens: request.max_output_tokens }
        : {}),
      ...(request.reasoning?.effort ? { reasoning_effort: request.reasoning.effort } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.text?.format?.type === "json_schema"
        ? { response_format: { type: "json_schema", json_schema: request.text.format } }
        : {}),
    };
    const answer = this.complete(chat);
    if (answer.status !== 200) return inResponsesWords(answer);
    const { choices, usage, model } = answer.body;
    const cut = choices[0].finish_reason === "length";
    const text = choices[0].message.content;
    const reasoning = usage.completion_tokens_details.reasoning_tokens;
    const message = {
      id: this.id("msg_"),
      type: "message",
      status: cut ? "incomplete" : "completed",
      role: "assistant",
      content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
    };
    const now = nowSeconds();
    const body = {
      id: this.id("resp_"),
      object: "response",
      created_at: now,
      status: cut ? "incomplete" : "completed",
      completed_at: cut ? null : now,
      error: null,
      incomplete_details: cut ? { reason: "max_output_tokens" } : null,
      model,
      output: [
        ...(reasoning ? [{ id: this.id("rs_"), type: "reasoning", summary: [] }] : []),
        ...(text ? [message] : []),
      ],
      usage: {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: {
          cached_tokens: usage.prompt_tokens_details.cached_tokens,
          cache_write_tokens: 0,
        },
        output_tokens: usage.completion_tokens,
        output_tokens_details: { reasoning_tokens: reasoning },
        total_tokens: usage.total_tokens,
      },
      service_tier: request.service_tier ?? "default",
      ...this.responseSettings(request),
    };
    return { status: 200, body };
  }

  /** The settings a Response object echoes, every one of them, as null where the request left it. */
  private responseSettings(request: any) {
    return {
      background: false,
      instructions: request.instructions ?? null,
      max_output_tokens: request.max_output_tokens ?? null,
      max_tool_calls: null,
      metadata: request.metadata ?? {},
      parallel_tool_calls: true,
      previous_response_id: null,
      prompt_cache_key: null,
      reasoning: { effort: effortOf(this.models, chatEffort(request)) ?? null, summary: null },
      safety_identifier: null,
      store: request.store ?? true,
      temperature: request.temperature ?? 1,
      text: { format: request.text?.format ?? { type: "text" }, verbosity: "medium" },
      tool_choice: "auto",
      tools: [],
      top_logprobs: 0,
      top_p: request.top_p ?? 1,
      truncation: "disabled",
    };
  }

  complete(request: any): { status: number; body: any } {
    const refused = refusal(this.models, request, this.today);
    if (refused) return { status: refused.status, body: { error: refused.error } };
    if (request.service_tier === "flex" && this.flexBusyLeft > 0) {
      this.flexBusyLeft--;
      return {
        status: 429,
        body: apiError(
          "Resource unavailable for the flex tier; please retry later.",
          "rate_limit_error",
          "resource_unavailable",
        ),
      };
    }
    const prompt = (request.messages ?? []).map((m: any) => String(m.content)).join("\n");
    const schema =
      request.response_format?.type === "json_schema"
        ? request.response_format.json_schema?.schema
        : undefined;
    const sections = [...new Set([...prompt.matchAll(/\[([A-Z][A-Za-z_ ]*)\]/g)].map((m) => m[1]!))];
    const roll = this.random();
    const malformed = roll < (this.options.malformedRate ?? 0);
    const truncated =
      !malformed && roll < (this.options.malformedRate ?? 0) + (this.options.truncatedRate ?? 0);
    const kept = malformed && sections.length ? sections.slice(0, -1) : sections;
    let content =
      this.options.answer?.(request) ??
      (schema
        ? JSON.stringify(valueFor(schema, this.random, "answer"))
        : kept.map((name) => `[${name}]\n${sentence(this.random, name)}`).join("\n\n") ||
          sentence(this.random, "Answer"));
    if (truncated) content = content.slice(0, Math.ceil(content.length / 2));
    // Reasoning comes first and counts against max_completion_tokens: what it leaves is for the answer.
    const effort = effortOf(this.models, request);
    const limit = request.max_completion_tokens ?? Infinity;
    const wanted = effort ? Math.round(REASONING_TOKENS[effort]! * (0.8 + 0.4 * this.random())) : 0;
    const reasoningTokens = Math.min(wanted, limit);
    const room = limit - reasoningTokens;
    let cut = truncated;
    if (Math.ceil(content.length / 4) > room) [content, cut] = [content.slice(0, room * 4), true];
    const completionTokens = reasoningTokens + Math.ceil(content.length / 4);
    const prompt_tokens = promptTokens(request);
    const cached_tokens = this.prefixes.cachedTokens(prompt, prompt_tokens);
    return {
      status: 200,
      body: {
        id: this.id("chatcmpl-"),
        object: "chat.completion",
        created: nowSeconds(),
        model: `${request.model}-2024-07-18`,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content, refusal: null },
            logprobs: null,
            finish_reason: cut ? "length" : "stop",
          },
        ],
        usage: {
          prompt_tokens,
          completion_tokens: completionTokens,
          total_tokens: prompt_tokens + completionTokens,
          prompt_tokens_details: { cached_tokens, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: reasoningTokens,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
        system_fingerprint: "fp_fake",
        service_tier: request.service_tier === "flex" ? "flex" : "default",
      },
    };
  }
}

/** A value that the (simple) JSON Schema accepts. */
function valueFor(schema: any, random: () => number, name: string): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[Math.floor(random() * schema.enum.length)];
  switch (schema.type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, sub]) => [key, valueFor(sub, random, key)]),
      );
    case "integer":
    case "number": {
      const min = schema.minimum ?? 0;
      const max = schema.maximum ?? 100;
      return min + Math.floor(random() * (max - min + 1));
    }
    case "boolean":
      return random() < 0.5;
    case "array":
      return [valueFor(schema.items ?? { type: "string" }, random, name)];
    default:
      return sentence(random, name);
  }
}

/** A Responses request's effort, as the chat request the fake answers it with would carry it. */
function chatEffort(request: any) {
  return { model: request.model, reasoning_effort: request.reasoning?.effort };
}

/** The Responses API names the parameters of a refusal its own way. */
const RESPONSES_PARAMS: Record<string, string> = {
  messages: "input",
  max_completion_tokens: "max_output_tokens",
  reasoning_effort: "reasoning.effort",
  response_format: "text.format",
};

function inResponsesWords(answer: { status: number; body: any }) {
  const error = answer.body.error;
  if (!error?.param || !RESPONSES_PARAMS[error.param]) return answer;
  return { ...answer, body: { error: { ...error, param: RESPONSES_PARAMS[error.param] } } };
}

function sentence(random: () => number, topic: string): string {
  const words = [
    "customer",
    "agent",
    "bill",
    "meter",
    "tariff",
    "thanks",
    "problem",
    "solved",
    "account",
    "today",
    "supply",
    "call",
  ];
  const n = 12 + Math.floor(random() * 20);
  const text = Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(" ");
  return `${topic}: ${text}${/question/i.test(topic) ? "?" : "."}`;
}

function page<T extends { id: string }>(
  items: T[],
  query: URLSearchParams,
  defaultLimit: number,
  requireIds = false,
) {
  const limit = Math.min(Number(query.get("limit") ?? defaultLimit), 10_000);
  const after = query.get("after");
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  // The schema wants ids as strings: an empty page of files says "", of batches leaves them out.
  const ids = data.length
    ? { first_id: data[0]!.id, last_id: data.at(-1)!.id }
    : requireIds
      ? { first_id: "", last_id: "" }
      : {};
  return { object: "list", data, ...ids, has_more: start + limit < items.length };
}

function publicFile(file: StoredFile) {
  const { content: _content, ...rest } = file;
  return rest;
}

/**
 * What the service says of one parsed input line: its custom_id missing or repeated (a new one is
 * added to `ids`), its method, its url against the batch's endpoint.
 */
function requestErrors(request: any, line: number, endpoint: string, ids: Set<string>): BatchError[] {
  const errors: BatchError[] = [];
  if (typeof request.custom_id !== "string")
    errors.push({
      code: "missing_required_parameter",
      message: "Missing custom_id.",
      param: "custom_id",
      line,
    });
  else if (ids.has(request.custom_id))
    errors.push({
      code: "duplicate_custom_id",
      message: `The custom_id '${request.custom_id}' is not unique.`,
      param: "custom_id",
      line,
    });
  else ids.add(request.custom_id);
  if (request.method !== "POST")
    errors.push({ code: "invalid_request", message: "Only POST is supported.", param: "method", line });
  if (request.url !== endpoint)
    errors.push({
      code: "mismatched_endpoint",
      message: `The url '${request.url}' does not match the batch endpoint '${endpoint}'.`,
      param: "url",
      line,
    });
  return errors;
}

/** What the service says of a file with no request, or more than it takes. */
function lineCountError(lines: number) {
  if (!lines)
    return {
      code: "empty_file",
      message: "The batch input file is empty. Please ensure that the batch contains at least one request.",
      param: null,
      line: null,
    };
  if (lines > MAX_LINES)
    return {
      code: "too_many_requests",
      message: `The input file has ${lines} requests; at most ${MAX_LINES} are allowed.`,
      param: null,
      line: null,
    };
  return undefined;
}

function unknownParameter(name: string) {
  return apiError(`Unknown parameter: '${name}'.`, "invalid_request_error", "unknown_parameter", name);
}

function windowSeconds(window: string): number {
  const [, n, unit] = /^(\d+)(h|d)$/.exec(window)!;
  return Number(n) * (unit === "d" ? 24 : 1) * 3600;
}

function apiError(message: string, type: string, code: string | null = null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload));
}

function sendFault(res: ServerResponse, fault: Fault, authorization: string | undefined): void {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
  res.writeHead(fault.status, headers);
  const message =
    `Injected ` +
    `fault ${fault.status}${fault.echoAuthorization ? ` for request with Authorization: ${authorization}` : ""}`;
  res.end(JSON.stringify(apiError(message, fault.status === 429 ? "rate_limit_exceeded" : "server_error")));
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function modelObject(model: FakeModel) {
  return {
    id: model.id,
    object: "model",
    created: 1764547200,
    owned_by: "system",
    shutdown_date: model.shutdown_date,
  };
}
