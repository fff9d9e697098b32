// An in-process batch service for tests of the drive logic: the BatchService seam of
// src/api/batch-service.ts in memory (no HTTP, no SDK), each request answered by a small function
// the test gives. It keeps what it was asked, so a test can say what went to which stage and that
// nothing went twice; and it can "crash" at a step, as `kill -9` would stop a run there.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { once } from "node:events";
import { copyFile, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type {
  BatchAsk,
  BatchService,
  RemoteBatch,
  RemoteModel,
  Sent,
  ServiceTraits,
} from "../src/api/batch-service.ts";
import { runConfigOf, type RunOptions } from "../src/commands/options.ts";
import type { Services } from "../src/pipeline/context.ts";
import { generate } from "../src/pipeline/generate.ts";
import { resume } from "../src/pipeline/resume.ts";
import type { ConfigOverrides } from "../src/run/config.ts";
import type { Manifest } from "../src/run/manifest.ts";
import type { BatchRequest } from "../src/run/records.ts";
import { API_KEY, tempDir } from "./helpers.ts";

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
  /** The tokens of every answer it gave in a batch, by stage: what it would bill. */
  readonly billed: Map<number, { prompt: number; completion: number }>;
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
  /** Its results files as the service keeps them, and their lines. */
  output: { path: string; lines: number };
  errors: { path: string; lines: number };
}

/** What the double keeps: `remember: false` keeps no `asked` (a run of many samples, answered from disk). */
export interface DoubleOptions {
  remember?: boolean;
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
export function serviceDouble(answer: (asked: Asked) => Reply, options: DoubleOptions = {}): ServiceDouble {
  return new Double(answer, options);
}

class Double implements ServiceDouble {
  readonly vendor = "openai" as const;
  readonly traits = TRAITS;
  readonly address = "double://in-process";
  readonly asked: Asked[] = [];
  readonly direct: unknown[] = [];
  readonly created: RemoteBatch[] = [];
  readonly uploads: string[] = [];
  readonly billed = new Map<number, { prompt: number; completion: number }>();
  readonly services: Services = () => this;
  readonly #answer: (asked: Asked) => Reply;
  readonly #remember: boolean;
  readonly #batches = new Map<string, Held>();
  readonly #files = new Map<string, { name: string; path: string }>();
  readonly #crashes = new Map<CrashPoint, number | undefined>();
  /** The service's own storage: uploads and results files live here, apart from the run's. */
  #storage: string | undefined;

  constructor(answer: (asked: Asked) => Reply, options: DoubleOptions) {
    this.#answer = answer;
    this.#remember = options.remember !== false;
  }

  crashAt(point: CrashPoint, stage?: number): void {
    this.#crashes.set(point, stage);
  }

  #crash(point: CrashPoint, metadata: Record<string, string>): void {
    if (!this.#crashes.has(point)) return;
    const stage = this.#crashes.get(point);
    if (stage !== undefined && Number(metadata.synthai_stage ?? 1) !== stage) return;
    this.#crashes.delete(point);
    throw new Crash(`the service double stopped the run at ${point}`);
  }

  async #stored(name: string): Promise<string> {
    return join((this.#storage ??= await tempDir()), name);
  }

  /** Runs a batch's requests at once, its answers stored as results files; it ends when first looked at. */
  async #run(id: string, file: string, metadata: Record<string, string>): Promise<Held> {
    const held: Held = {
      remote: { id, status: "validating", said: "validating", createdAt: now() },
      metadata,
      fileId: undefined,
      output: { path: await this.#stored(`${id}-output.jsonl`), lines: 0 },
      errors: { path: await this.#stored(`${id}-errors.jsonl`), lines: 0 },
    };
    const out = { output: createWriteStream(held.output.path), errors: createWriteStream(held.errors.path) };
    for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (!text) continue;
      const line = JSON.parse(text) as BatchRequest;
      const one = askedOf(line, id, metadata);
      if (this.#remember) this.asked.push(one);
      const { status, body } = completion(line.body as Parameters<typeof completion>[0], this.#answer(one));
      if (status === 200) bill(this.billed, one.stage, body.usage!);
      const kind = status === 200 ? "output" : "errors";
      held[kind].lines++;
      const result = { custom_id: line.custom_id, response: { status_code: status, body }, error: null };
      await write(out[kind], `${JSON.stringify(result)}\n`);
    }
    await Promise.all([close(out.output), close(out.errors)]);
    return held;
  }

  async preflight(): Promise<void> {}

  async upload(ask: BatchAsk): Promise<string> {
    const id = `file-${this.#files.size + 1}`;
    const path = await this.#stored(`${id}.jsonl`);
    await copyFile(ask.path, path);
    this.#files.set(id, { name: ask.name, path });
    this.uploads.push(ask.name);
    this.#crash("after-upload", ask.metadata);
    return id;
  }

  async findUpload(ask: BatchAsk): Promise<string | undefined> {
    return [...this.#files].find(([, file]) => file.name === ask.name)?.[0];
  }

  async create(ask: BatchAsk): Promise<RemoteBatch> {
    const file = this.#files.get(ask.fileId!);
    if (!file) throw new Error(`the double has no file ${ask.fileId}`);
    const held = await this.#run(`batch_${this.#batches.size + 1}`, file.path, ask.metadata);
    held.fileId = ask.fileId;
    this.#batches.set(held.remote.id, held);
    this.created.push(held.remote);
    this.#crash("after-create", ask.metadata);
    return { ...held.remote };
  }

  /** The batch made for this ask (its run, chunk, attempt, stage and purpose tags) since `since`. */
  async find(ask: BatchAsk, since: number): Promise<RemoteBatch | undefined> {
    const same = (m: Record<string, string>) =>
      Object.keys({ ...m, ...ask.metadata }).every((key) => m[key] === ask.metadata[key]);
    const held = [...this.#batches.values()].find(
      (b) => b.remote.createdAt >= since - 300 && same(b.metadata),
    );
    return held && { ...held.remote };
  }

  async look(ids: string[]): Promise<Map<string, RemoteBatch>> {
    for (const id of ids) this.#crash("look", this.#batches.get(id)?.metadata ?? {});
    const seen = new Map<string, RemoteBatch>();
    for (const id of ids) {
      const held = this.#batches.get(id);
      if (!held) continue;
      if (held.remote.status === "validating") finish(held);
      seen.set(id, { ...held.remote });
    }
    return seen;
  }

  async results(batch: RemoteBatch, to: { output: string; errors: string }) {
    const held = this.#batches.get(batch.id)!;
    const written = {
      ...(await copyWhole(held.output, to.output, "output")),
      ...(await copyWhole(held.errors, to.errors, "errors")),
    };
    this.#crash("after-results", held.metadata);
    return written;
  }

  async cancel(id: string): Promise<RemoteBatch | undefined> {
    const held = this.#batches.get(id);
    if (!held) return undefined;
    if (held.remote.status === "validating") finish(held, "cancelled");
    return { ...held.remote };
  }

  async remove(): Promise<string[]> {
    return [];
  }

  async gc(): Promise<string[]> {
    return [];
  }

  /** One request sent directly (the canary, sync mode), answered as a batch line is. */
  async send(url: string, body: unknown): Promise<Sent> {
    this.direct.push(body);
    const request = body as { model: string; messages: Asked["messages"] };
    const last = String(request.messages.at(-1)?.content ?? "");
    const asked = {
      custom_id: "direct",
      batch: "direct",
      stage: 0,
      model: request.model,
      messages: request.messages,
      last,
    };
    const sent = completion(request, this.#answer(asked));
    if (sent.status === 200) return { ok: true, body: sent.body, requestId: "req_direct" };
    const refused = sent.body as Extract<Sent, { ok: false }>["body"];
    return {
      ok: false,
      status: sent.status,
      transient: false,
      body: refused,
      requestId: "req_direct",
      failure: new Error(url),
    };
  }

  async models(): Promise<RemoteModel[]> {
    return [];
  }

  /** Every model asked about is offered. */
  async model(name: string): Promise<RemoteModel> {
    return { id: name };
  }

  redact(text: string): string {
    return text;
  }
}

function bill(
  billed: ServiceDouble["billed"],
  stage: number,
  usage: { prompt_tokens: number; completion_tokens: number },
): void {
  const sum = billed.get(stage) ?? { prompt: 0, completion: 0 };
  billed.set(stage, {
    prompt: sum.prompt + usage.prompt_tokens,
    completion: sum.completion + usage.completion_tokens,
  });
}

/** A batch ends: every request answered (or, cancelled, none), its counts and files said. */
function finish(held: Held, status: "completed" | "cancelled" = "completed"): void {
  if (status === "cancelled") [held.output.lines, held.errors.lines] = [0, 0];
  const at = now();
  held.remote = {
    ...held.remote,
    status,
    said: status,
    counts: {
      total: held.output.lines + held.errors.lines,
      completed: held.output.lines,
      failed: held.errors.lines,
    },
    inProgressAt: at,
    finishedAt: at,
    ...(held.output.lines ? { outputRef: `${held.remote.id}-output` } : {}),
    ...(held.errors.lines ? { errorRef: `${held.remote.id}-errors` } : {}),
  };
}

/** One results file, whole, or removed when the service has none; its SHA-256 and lines. */
async function copyWhole(from: { path: string; lines: number }, to: string, kind: "output" | "errors") {
  if (!from.lines) {
    await rm(to, { force: true });
    return {};
  }
  await copyFile(from.path, to);
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(to)) hash.update(chunk as Buffer);
  return { [kind]: { sha256: hash.digest("hex"), lines: from.lines } };
}

/** A request line as the test's answer function sees it. */
function askedOf(line: BatchRequest, batch: string, metadata: Record<string, string>): Asked {
  const body = line.body as { model: string; messages: Asked["messages"]; response_format?: any };
  return {
    custom_id: line.custom_id,
    batch,
    stage: Number(metadata.synthai_stage ?? 1),
    model: body.model,
    messages: body.messages,
    last: String(body.messages.at(-1)?.content ?? ""),
    ...(body.response_format?.json_schema ? { schema: body.response_format.json_schema.schema } : {}),
  };
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, "drain");
}

async function close(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, "finish");
}

/** A run made in process, as the folder holds it, and what it said. */
export interface Driven {
  cwd: string;
  runDir: string;
  manifest: Manifest;
  log: string[];
  /** The Crash the double stopped it with, if it did. */
  thrown?: Crash;
}

const connection = { apiKey: API_KEY, baseURL: undefined };

/**
 * A run made as `synthai generate` makes it (its options by name, as the library takes them),
 * in `cwd` (a new temp folder when absent), driven to its end against `double`. Fast by default:
 * no wait between looks, no canary, no cache of answers (every request goes to the double).
 */
export async function driveNew(double: ServiceDouble, options: RunOptions, cwd?: string): Promise<Driven> {
  const dir = cwd ?? (await tempDir());
  const config = runConfigOf({
    seed: 7,
    pollIntervalSeconds: 0,
    cache: false,
    canary: false,
    output: join(dir, "out.csv"),
    ...options,
  });
  // generate checks the run's key is there, as the CLI does; the double never reads it.
  process.env.OPENAI_API_KEY ??= API_KEY;
  const log: string[] = [];
  const runsDir = join(dir, "runs");
  let id = "";
  const thrown = await generate(config, runsDir, connection, {
    log: (line) => void log.push(line),
    onRun: (made) => (id = made),
    yes: Boolean(options.yes),
    services: double.services,
  }).then(
    () => undefined,
    (error: unknown) => error,
  );
  if (thrown !== undefined && !(thrown instanceof Crash)) throw thrown;
  const runDir = join(runsDir, id);
  return { cwd: dir, runDir, manifest: await manifestOf(runDir), log, ...(thrown ? { thrown } : {}) };
}

/** `synthai resume`, as a new process would: the run read from its folder, driven against `double`. */
export async function driveAgain(
  double: ServiceDouble,
  made: Driven,
  overrides: ConfigOverrides = {},
): Promise<Driven> {
  const log: string[] = [];
  await resume(made.runDir, connection, {
    log: (line) => void log.push(line),
    overrides,
    services: double.services,
  });
  return { cwd: made.cwd, runDir: made.runDir, manifest: await manifestOf(made.runDir), log };
}

async function manifestOf(runDir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8"));
}
