/**
 * A loopback fake of the Gemini API (v1beta) as @google/genai 3.6 calls it, strict where the
 * service is: the Files API (resumable upload, get, list, delete, download), batches
 * (`models/{model}:batchGenerateContent` from a file or inline, get, list, cancel, delete, as
 * long-running operations `batches/{id}`) and `models/{model}:generateContent`. Sources:
 * ai.google.dev/api/batch-api, /api/files, /api/generate-content, /gemini-api/docs/batch-api
 * (read 2026-12-07) and the SDK's own calls. Time is driven by looks, as in the OpenAI fake.
 */
import { close, listen } from "./listen.ts";
import { createHash } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { FakeOpenAI, readBody } from "./server.ts";
import { mulberry32 } from "./models.ts";
import {
  CODES,
  GEMINI_FAKE_MODELS,
  asChatRequest,
  asFakeModels,
  asGeminiResponse,
  googleError,
  requestRefusal,
  type GeminiFakeModel,
  type GoogleError,
} from "./gemini-models.ts";

export interface GeminiFakeOptions {
  /** The key it takes in `x-goog-api-key` (default test-key). */
  apiKey?: string;
  seed?: number;
  /** Share of answers missing a section, and of answers cut at maxOutputTokens. */
  malformedRate?: number;
  truncatedRate?: number;
  /** Share of batch lines answered with an INTERNAL status instead of a response. */
  failedRate?: number;
  /** Looks a job stays PENDING, then RUNNING (default 1). */
  pollsPerPhase?: number;
  /** A job ends at its first look. */
  fast?: boolean;
  /** The first N jobs made expire (no output), as a job still pending after 48 hours does. */
  expireFirst?: number;
  /** The first N jobs made fail as a whole. */
  failFirst?: number;
  models?: GeminiFakeModel[];
  port?: number;
  /** A test's own answer to a request, where it gives one; else one is made up. */
  answer?: (request: { messages?: { role: string; content: string }[] }) => string | undefined;
  /** The first N downloads stop halfway: the connection closed under a Content-Length it did not meet. */
  cutDownloads?: number;
  /** The first N downloads of a file of several lines answer a well-formed file without its last line. */
  shortDownloads?: number;
  /** The next `times` requests matching method and path answer `status` (UNAVAILABLE, …) instead. */
  faults?: { method: string; path: RegExp; status: string; times: number; afterHandling?: boolean }[];
}

interface StoredFile {
  resource: Record<string, unknown>;
  content: Buffer;
}

interface Upload {
  meta: Record<string, unknown>;
  size: number;
  mimeType: string;
  chunks: Buffer[];
  received: number;
}

interface Line {
  key: string;
  request: Record<string, unknown>;
}

interface StoredBatch {
  name: string;
  metadata: Record<string, any>;
  lines: Line[];
  inline: boolean;
  looks: number;
  fate: "expire" | "fail" | undefined;
  error?: { code: number; message: string };
}

/** Files API: "up to 2 GB per file" (ai.google.dev/gemini-api/docs/files). */
export const MAX_FILE_BYTES = 2 * 1024 ** 3;
/** Batch guide: inline requests "under 20MB" in all. */
const MAX_INLINE_BYTES = 20 * 1024 ** 2;
/** What a GenerateContentBatch takes in a create (the rest are output only, or unknown). */
const BATCH_FIELDS = ["model", "name", "displayName", "inputConfig", "priority", "webhookConfig"];
const BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch";
const ENDED = ["BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"];

type Reply = [number, unknown, Record<string, string>?];

export class FakeGemini {
  readonly options: GeminiFakeOptions;
  readonly files = new Map<string, StoredFile>();
  readonly batches = new Map<string, StoredBatch>();
  readonly requests: { method: string; path: string }[] = [];
  /** The usageMetadata of every request answered directly, as billed. */
  readonly directUsage: Record<string, number>[] = [];
  /** Every batch line answered, with its job's model and usageMetadata, as billed (at the batch price). */
  readonly batchBilled: { model: string; usage: Record<string, number> }[] = [];
  /** The name of every job made and of every file uploaded, deleted since or not. */
  readonly jobsMade: string[] = [];
  readonly filesUploaded: string[] = [];
  private readonly uploads = new Map<string, Upload>();
  private readonly models: GeminiFakeModel[];
  private writer: FakeOpenAI;
  private readonly faults: NonNullable<GeminiFakeOptions["faults"]>;
  private server: Server | undefined;
  private base = "";
  private nextId = 1;
  private random: () => number;
  private cutDownloadsLeft: number;
  private shortDownloadsLeft: number;

  /** The usageMetadata of every batch line answered, as billed (at the batch price). */
  get batchUsage(): Record<string, number>[] {
    return this.batchBilled.map((b) => b.usage);
  }

  constructor(options: GeminiFakeOptions = {}) {
    this.options = options;
    this.models = options.models ?? GEMINI_FAKE_MODELS;
    this.faults = (options.faults ?? []).map((f) => ({ ...f }));
    this.random = mulberry32((options.seed ?? 42) + 1);
    this.cutDownloadsLeft = options.cutDownloads ?? 0;
    this.shortDownloadsLeft = options.shortDownloads ?? 0;
    // Never started: only its model is used, to write answers.
    this.writer = this.writerOf(options.seed ?? 42);
  }

  /** The base URL to give the SDK (`GOOGLE_GEMINI_BASE_URL` or `httpOptions.baseUrl`). */
  async start(): Promise<string> {
    const { server, address } = await listen((req, res) => {
      this.handle(req, res).catch((error) =>
        send(res, 500, { error: googleError("INTERNAL", String(error)) }),
      );
    }, this.options.port);
    this.server = server;
    this.base = address;
    return this.base;
  }

  async stop(): Promise<void> {
    await close(this.server);
  }

  /** Jobs made, whatever became of them. */
  get batchesCreated(): number {
    return this.batches.size;
  }

  private id(): string {
    const n = this.nextId++;
    return `${n.toString(36).padStart(4, "0")}${createHash("sha256").update(`${n}`).digest("hex").slice(0, 8)}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname });
    const body = await readBody(req);
    const refused = this.keyRefusal(req.headers["x-goog-api-key"] ?? url.searchParams.get("key"));
    if (refused) return send(res, refused.code, { error: refused });
    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(url.pathname));
    if (fault) fault.times--;
    const failed = () =>
      send(res, CODES[fault!.status]?.http ?? 500, {
        error: googleError(fault!.status, "The service is currently unavailable."),
      });
    if (fault && !fault.afterHandling) return failed();
    const [status, payload, headers] = this.route(method, url, body, req);
    // A lost answer: the request was handled, the client hears a failure.
    if (fault) return failed();
    if (Buffer.isBuffer(payload)) return this.sendFile(res, payload);
    send(res, status, payload, headers);
  }

  /** A file's content, unless a download fault says to cut it or leave its last line out. */
  private sendFile(res: ServerResponse, raw: Buffer): void {
    const lines = raw.toString("utf8").split("\n").filter(Boolean);
    if (this.shortDownloadsLeft > 0 && lines.length > 1) {
      this.shortDownloadsLeft--;
      raw = Buffer.from(`${lines.slice(0, -1).join("\n")}\n`);
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": raw.length });
    if (this.cutDownloadsLeft > 0 && raw.length > 1) {
      this.cutDownloadsLeft--;
      res.write(raw.subarray(0, Math.floor(raw.length / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(raw);
  }

  /** A key missing or wrong, as the service answers it (a wrong key is a 400, not a 401). */
  private keyRefusal(key: unknown): GoogleError | undefined {
    if (key === undefined || key === null || key === "")
      return googleError(
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    if (key !== (this.options.apiKey ?? "test-key"))
      return googleError("INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
        {
          "@type": "type.googleapis.com/google.rpc.ErrorInfo",
          reason: "API_KEY_INVALID",
          domain: "googleapis.com",
        },
      ]);
    return undefined;
  }

  private route(method: string, url: URL, body: Buffer, req: IncomingMessage): Reply {
    // The SDK speaks v1 by default (3.6), the guides v1beta: both name the same resources.
    const path = url.pathname.replace(/^\/((?:upload|download)\/)?v1(?:beta)?\//, "/$1v1beta/");
    let m: RegExpMatchArray | null;
    if (method === "POST" && path === "/upload/v1beta/files")
      return url.searchParams.has("upload_id")
        ? this.uploadChunk(url, body, req)
        : this.startUpload(body, req);
    if (method === "GET" && path === "/v1beta/files") return [200, this.listFiles(url.searchParams)];
    if (method === "GET" && (m = path.match(/^\/(?:download\/)?v1beta\/files\/([^/:]+):download$/)))
      return this.download(m[1]!, url.searchParams);
    if ((m = path.match(/^\/v1beta\/files\/([^/:]+)$/))) return this.file(method, m[1]!);
    if (method === "GET" && path === "/v1beta/models")
      return [200, { models: this.models.map((x) => modelResource(x)) }];
    if (method === "GET" && (m = path.match(/^\/v1beta\/models\/([^/:]+)$/))) {
      const model = this.models.find((x) => x.id === decodeURIComponent(m![1]!));
      return model
        ? [200, modelResource(model)]
        : notFound(`models/${m[1]} is not found for API version v1beta.`);
    }
    if (
      method === "POST" &&
      (m = path.match(/^\/v1beta\/models\/([^/:]+):(batchGenerateContent|generateContent)$/))
    ) {
      const model = this.models.find((x) => x.id === decodeURIComponent(m![1]!));
      if (!model)
        return notFound(
          `models/${m[1]} is not found for API version v1beta, or is not supported for ${m[2]}.`,
        );
      const json = parseJson(body);
      if (json === undefined)
        return [400, { error: googleError("INVALID_ARGUMENT", "Invalid JSON payload received.") }];
      return m[2] === "generateContent" ? this.generate(json, model) : this.createBatch(json, model);
    }
    if (method === "GET" && path === "/v1beta/batches") return [200, this.listBatches(url.searchParams)];
    if ((m = path.match(/^\/v1beta\/batches\/([^/:]+)(:cancel)?$/)))
      return this.batch(method, m[1]!, Boolean(m[2]));
    return notFound(`No route for ${method} ${path}.`);
  }

  private startUpload(body: Buffer, req: IncomingMessage): Reply {
    if (
      req.headers["x-goog-upload-protocol"] !== "resumable" ||
      req.headers["x-goog-upload-command"] !== "start"
    )
      return invalid(
        "Upload requests must use the resumable protocol, starting with X-Goog-Upload-Command: start.",
      );
    const size = Number(req.headers["x-goog-upload-header-content-length"]);
    if (!Number.isInteger(size) || size < 0)
      return invalid("X-Goog-Upload-Header-Content-Length is missing.");
    if (size > MAX_FILE_BYTES)
      return invalid(`The file is ${size} bytes: files may be at most ${MAX_FILE_BYTES} bytes (2 GB).`);
    const meta = (parseJson(body) as { file?: Record<string, unknown> } | undefined)?.file ?? {};
    const mimeType = String(req.headers["x-goog-upload-header-content-type"] ?? meta.mimeType ?? "");
    const id = this.id();
    this.uploads.set(id, { meta, size, mimeType, chunks: [], received: 0 });
    const uploadUrl = `${this.base}/upload/v1beta/files?upload_id=${id}&upload_protocol=resumable`;
    return [200, "", { "x-goog-upload-url": uploadUrl, "x-goog-upload-status": "active" }];
  }

  private uploadChunk(url: URL, body: Buffer, req: IncomingMessage): Reply {
    const id = url.searchParams.get("upload_id")!;
    const upload = this.uploads.get(id);
    if (!upload) return notFound("No upload session with this id.");
    const command = String(req.headers["x-goog-upload-command"] ?? "");
    if (command.includes("upload")) {
      if (Number(req.headers["x-goog-upload-offset"]) !== upload.received)
        return invalid(`X-Goog-Upload-Offset must be ${upload.received}.`);
      upload.chunks.push(body);
      upload.received += body.length;
    }
    if (!command.includes("finalize")) return [200, "", { "x-goog-upload-status": "active" }];
    if (upload.received !== upload.size)
      return invalid(`The upload has ${upload.received} bytes, not the ${upload.size} announced.`);
    this.uploads.delete(id);
    const content = Buffer.concat(upload.chunks);
    const file = this.storeFile(content, {
      displayName: upload.meta.displayName,
      mimeType: upload.mimeType,
      source: "UPLOADED",
    });
    this.filesUploaded.push(file.name as string);
    return [200, { file }, { "x-goog-upload-status": "final" }];
  }

  private storeFile(
    content: Buffer,
    fields: Record<string, unknown>,
    id = this.id(),
  ): Record<string, unknown> {
    const now = new Date();
    const resource = {
      name: `files/${id}`,
      ...(fields.displayName ? { displayName: fields.displayName } : {}),
      mimeType: fields.mimeType,
      sizeBytes: String(content.length),
      createTime: now.toISOString(),
      updateTime: now.toISOString(),
      // "Files are stored for 48 hours."
      expirationTime: new Date(now.getTime() + 48 * 3600_000).toISOString(),
      sha256Hash: createHash("sha256").update(content).digest("base64"),
      uri: `${this.base}/v1beta/files/${id}`,
      state: "ACTIVE",
      source: fields.source,
    };
    this.files.set(id, { resource, content });
    return resource;
  }

  private file(method: string, id: string): Reply {
    const file = this.files.get(id);
    if (!file)
      return permissionDenied(`You do not have permission to access the File ${id} or it may not exist.`);
    if (method === "DELETE") {
      this.files.delete(id);
      return [200, {}];
    }
    return method === "GET" ? [200, file.resource] : notFound(`No route for ${method}.`);
  }

  private download(id: string, query: URLSearchParams): Reply {
    const file = this.files.get(id);
    if (!file)
      return permissionDenied(`You do not have permission to access the File ${id} or it may not exist.`);
    if (query.get("alt") !== "media") return [200, file.resource];
    return [200, file.content];
  }

  private listFiles(query: URLSearchParams) {
    // "If unspecified, defaults to 10. Maximum pageSize is 100."
    const size = Math.min(Number(query.get("pageSize") ?? 10) || 10, 100);
    const all = [...this.files.values()].map((f) => f.resource).reverse();
    const [items, next] = paged(all, size, query.get("pageToken"));
    return { files: items, ...(next ? { nextPageToken: next } : {}) };
  }

  private generate(json: Record<string, unknown>, model: GeminiFakeModel): Reply {
    const { response, error } = this.answer(json, model);
    if (error) return [error.code, { error }];
    this.directUsage.push(response.usageMetadata as Record<string, number>);
    return [200, response];
  }

  /** One request answered as the model answers it, or the status it is refused with. */
  private answer(
    request: Record<string, unknown>,
    model: GeminiFakeModel,
  ): { response: Record<string, unknown>; error?: undefined } | { response?: undefined; error: GoogleError } {
    const refused = requestRefusal(request, model);
    if (refused) return { error: refused };
    const chat = this.writer.complete(asChatRequest(request, model.id));
    if (chat.status !== 200) {
      const tooLong = chat.body.error.code === "context_length_exceeded";
      return {
        error: googleError(
          "INVALID_ARGUMENT",
          tooLong
            ? `The input token count exceeds the maximum number of tokens allowed (${model.inputTokenLimit}).`
            : chat.body.error.message,
        ),
      };
    }
    return { response: asGeminiResponse(chat.body, model.id, this.id()) };
  }

  private createBatch(json: Record<string, unknown>, model: GeminiFakeModel): Reply {
    const unknown = Object.keys(json).find((k) => k !== "batch");
    if (unknown)
      return invalid(`Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`);
    const batch = (json.batch ?? {}) as Record<string, any>;
    const field = Object.keys(batch).find((k) => !BATCH_FIELDS.includes(k));
    if (field)
      return invalid(`Invalid JSON payload received. Unknown name "${field}" at 'batch': Cannot find field.`);
    if (typeof batch.displayName !== "string" || !batch.displayName)
      return invalid("* BatchGenerateContentRequest.batch.display_name: display_name is required\n");
    const input = batch.inputConfig ?? {};
    if (Boolean(input.fileName) === Boolean(input.requests))
      return invalid(
        "* BatchGenerateContentRequest.batch.input_config: give exactly one of file_name and requests\n",
      );
    const lines = input.fileName ? this.fileLines(String(input.fileName)) : inlineLines(input.requests);
    if ("error" in lines) return [lines.error.code, lines];
    const id = this.id();
    const now = new Date().toISOString();
    const made = this.batches.size;
    const stored: StoredBatch = {
      name: `batches/${id}`,
      lines,
      inline: !input.fileName,
      looks: 0,
      fate:
        made < (this.options.expireFirst ?? 0)
          ? "expire"
          : made < (this.options.failFirst ?? 0)
            ? "fail"
            : undefined,
      metadata: {
        "@type": BATCH_TYPE,
        model: `models/${model.id}`,
        displayName: batch.displayName,
        inputConfig: input.fileName ? { fileName: input.fileName } : { requests: { requests: [] } },
        createTime: now,
        updateTime: now,
        batchStats: { requestCount: String(lines.length), pendingRequestCount: String(lines.length) },
        state: "BATCH_STATE_PENDING",
        name: `batches/${id}`,
      },
    };
    this.batches.set(id, stored);
    this.jobsMade.push(stored.name);
    return [200, operation(stored)];
  }

  /** An input file's lines: each a JSON object with a `key` and a `request`, or the job is refused. */
  private fileLines(fileName: string): Line[] | { error: GoogleError } {
    const file = this.files.get(fileName.replace(/^files\//, ""));
    if (!file) return { error: googleError("NOT_FOUND", `File ${fileName} not found.`) };
    const lines: Line[] = [];
    const text = file.content.toString("utf8").split("\n");
    for (const [index, raw] of text.entries()) {
      if (!raw.trim()) continue;
      const line = parseJson(Buffer.from(raw));
      const bad = (why: string) => ({
        error: googleError("INVALID_ARGUMENT", `Line ${index + 1} of ${fileName}: ${why}.`),
      });
      if (!line) return bad("not a JSON object");
      if (typeof line.key !== "string" || !line.key) return bad("no key");
      if (!line.request || typeof line.request !== "object") return bad("no request");
      lines.push({ key: line.key, request: line.request as Record<string, unknown> });
    }
    if (!lines.length) return { error: googleError("INVALID_ARGUMENT", `${fileName} holds no request.`) };
    return lines;
  }

  private batch(method: string, id: string, cancel: boolean): Reply {
    const stored = this.batches.get(id);
    if (!stored) return notFound("Requested entity was not found.");
    if (method === "DELETE" && !cancel) {
      this.batches.delete(id);
      return [200, {}];
    }
    if (method === "POST" && cancel) {
      if (!ENDED.includes(stored.metadata.state)) this.end(stored, "BATCH_STATE_CANCELLED");
      return [200, {}];
    }
    if (method === "GET" && !cancel) return [200, operation(this.look(stored))];
    return notFound(`No route for ${method}.`);
  }

  private listBatches(query: URLSearchParams) {
    const size = Math.min(Number(query.get("pageSize") ?? 10) || 10, 100);
    const all = [...this.batches.values()].reverse();
    const [items, next] = paged(all, size, query.get("pageToken"));
    // Listing is looking too: each job on the page moves along, as time passes for all.
    return {
      operations: items.map((b) => operation(this.look(b))),
      ...(next ? { nextPageToken: next } : {}),
    };
  }

  /** Each look moves a job along: PENDING, RUNNING, then its end. */
  private look(stored: StoredBatch): StoredBatch {
    if (ENDED.includes(stored.metadata.state)) return stored;
    stored.looks++;
    const phase = this.options.pollsPerPhase ?? 1;
    if (!this.options.fast && stored.looks < phase) return stored;
    if (!this.options.fast && stored.looks < 2 * phase) {
      stored.metadata.state = "BATCH_STATE_RUNNING";
      return stored;
    }
    if (stored.fate === "expire") this.end(stored, "BATCH_STATE_EXPIRED");
    else if (stored.fate === "fail") {
      stored.error = { code: CODES.INTERNAL!.grpc, message: "The batch failed to run." };
      this.end(stored, "BATCH_STATE_FAILED");
    } else this.run(stored);
    return stored;
  }

  private end(stored: StoredBatch, state: string): void {
    const now = new Date().toISOString();
    Object.assign(stored.metadata, { state, endTime: now, updateTime: now });
  }

  /** The writer of answers: the OpenAI fake's model, seeded. */
  private writerOf(seed: number): FakeOpenAI {
    return new FakeOpenAI({
      seed,
      malformedRate: this.options.malformedRate,
      truncatedRate: this.options.truncatedRate,
      models: asFakeModels(this.models),
      answer: this.options.answer,
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

  /** Answers every line, in input order, into a result file (or inline responses); a job with every line failed still SUCCEEDED. */
  private run(stored: StoredBatch): void {
    this.drawFor(this.jobsMade.indexOf(stored.name));
    const model = this.models.find((m) => `models/${m.id}` === stored.metadata.model)!;
    let failed = 0;
    const results = stored.lines.map(({ key, request }) => {
      const roll = this.random() < (this.options.failedRate ?? 0);
      const { response, error } = roll
        ? { error: googleError("INTERNAL", "Internal error encountered.") }
        : this.answer(request, model);
      if (!error) {
        this.batchBilled.push({ model: model.id, usage: response.usageMetadata as Record<string, number> });
        return { key, response };
      }
      failed++;
      // A line's status is a google.rpc.Status: the gRPC code, not the HTTP one.
      return { key, error: { code: CODES[error.status]?.grpc ?? 13, message: error.message } };
    });
    const count = stored.lines.length;
    stored.metadata.batchStats = {
      requestCount: String(count),
      successfulRequestCount: String(count - failed),
      failedRequestCount: String(failed),
      pendingRequestCount: "0",
    };
    stored.metadata.output = stored.inline
      ? {
          inlinedResponses: {
            inlinedResponses: results.map(({ key, ...rest }) => ({ ...rest, metadata: { key } })),
          },
        }
      : { responsesFile: this.resultFile(stored, results) };
    this.end(stored, "BATCH_STATE_SUCCEEDED");
  }

  private resultFile(stored: StoredBatch, results: unknown[]): string {
    const id = `batch-${stored.name.slice("batches/".length)}`;
    const content = Buffer.from(results.map((r) => `${JSON.stringify(r)}\n`).join(""));
    this.storeFile(content, { displayName: id, mimeType: "application/jsonl", source: "GENERATED" }, id);
    return `files/${id}`;
  }
}

/** Inline requests: `{requests: [{request, metadata: {key}}]}`, under 20 MB in all. */
function inlineLines(requests: any): Line[] | { error: GoogleError } {
  const list = requests?.requests;
  if (!Array.isArray(list) || !list.length)
    return {
      error: googleError(
        "INVALID_ARGUMENT",
        "* BatchGenerateContentRequest.batch.input_config.requests: requests is empty\n",
      ),
    };
  if (Buffer.byteLength(JSON.stringify(list)) > MAX_INLINE_BYTES)
    return {
      error: googleError(
        "INVALID_ARGUMENT",
        "Inline requests may be at most 20 MB in all: use an input file.",
      ),
    };
  return list.map((item: any, index: number) => ({
    key: String(item?.metadata?.key ?? index),
    request: item?.request ?? {},
  }));
}

/** A job as the service shows it: an Operation with the batch in `metadata`, `done` once it ended. */
function operation(stored: StoredBatch) {
  const done = ENDED.includes(stored.metadata.state);
  return {
    name: stored.name,
    metadata: stored.metadata,
    ...(done ? { done: true } : {}),
    ...(stored.error ? { error: stored.error } : {}),
  };
}

function modelResource(model: GeminiFakeModel) {
  return {
    name: `models/${model.id}`,
    displayName: model.id,
    inputTokenLimit: model.inputTokenLimit,
    outputTokenLimit: model.outputTokenLimit,
    supportedGenerationMethods: ["generateContent", "countTokens", "batchGenerateContent"],
    thinking: true,
  };
}

function paged<T>(items: T[], size: number, token: string | null): [T[], string | undefined] {
  const start = token ? Number(token) : 0;
  const end = start + size;
  return [items.slice(start, end), end < items.length ? String(end) : undefined];
}

function parseJson(body: Buffer): Record<string, any> | undefined {
  try {
    const value = JSON.parse(body.toString("utf8"));
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const invalid = (message: string): Reply => [400, { error: googleError("INVALID_ARGUMENT", message) }];
const notFound = (message: string): Reply => [404, { error: googleError("NOT_FOUND", message) }];
// The Files API answers a file that is not (or no longer) there as one the key may not see.
const permissionDenied = (message: string): Reply => [
  403,
  { error: googleError("PERMISSION_DENIED", message) },
];

function send(
  res: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const text = payload === "" ? "" : JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
  res.end(text);
}

/** A fake started for a test or `synthai fake --vendor gemini`: its base URL, and how to stop it. */
export async function startFakeGemini(
  options: GeminiFakeOptions = {},
): Promise<{ fake: FakeGemini; baseUrl: string }> {
  const fake = new FakeGemini(options);
  return { fake, baseUrl: await fake.start() };
}
