// The Gemini Batch API (ai.google.dev/gemini-api/docs/batch-api) through @google/genai: request
// lines converted to `{key, request}` as they stream into a temp file, uploaded through the Files API
// under the ask's name; one job per model (`models/{model}:batchGenerateContent`) whose
// displayName carries synthai's tags, so a job a crash left unrecorded is found by it; the result
// file read line by line, since a job that SUCCEEDED may have every line failed.
import { createWriteStream, openAsBlob, renameSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BatchJob, GoogleGenAI } from "@google/genai";
import type {
  BatchAsk,
  BatchService,
  BatchStatus,
  RemoteBatch,
  RemoteModel,
  Sent,
  ServiceOptions,
  ServiceTraits,
} from "../batch-service.ts";
import { VENDORS, addressInEnv, keyInEnv, missingKey } from "../vendors.ts";
import { EXIT, UserError } from "../../errors.ts";
import { crashPoint } from "../../io/crash-point.ts";
import { READ_NO_LINK, withTempDir } from "../../io/disk.ts";
import { JsonlWriter, TextWriter, freeBuffers, freedAsTheyGo, readLineBatches } from "../../io/jsonl.ts";
import { geminiFailure, googleFailure, httpFailure, redactKey } from "./gemini-failure.ts";
import { bareModel, fromGeminiLine, toGeminiLine } from "./gemini-lines.ts";

const { liveCounts, typicalHours } = VENDORS.gemini;

export const GEMINI_TRAITS: ServiceTraits = {
  carries: "file",
  // No count is documented: the input file's 2 GB is the limit (Files API).
  maxRequests: Number.MAX_SAFE_INTEGER,
  maxBytes: 2 * 1024 ** 3,
  // A key is any string; synthai's ids are short and plain anyway.
  customId: { maxLength: 256, pattern: /^[\x21-\x7e]+$/ },
  mixesModels: false,
  findsBy: "metadata",
  liveCounts,
  typicalHours,
};

/** JOB_STATE_* in synthai's words; the SDK turns the wire's BATCH_STATE_* into these. */
const STATUS: Record<string, BatchStatus> = {
  JOB_STATE_QUEUED: "validating",
  JOB_STATE_PENDING: "validating",
  JOB_STATE_RUNNING: "in_progress",
  JOB_STATE_UPDATING: "in_progress",
  JOB_STATE_PAUSED: "in_progress",
  JOB_STATE_CANCELLING: "cancelling",
  JOB_STATE_SUCCEEDED: "completed",
  JOB_STATE_PARTIALLY_SUCCEEDED: "completed",
  JOB_STATE_FAILED: "failed",
  JOB_STATE_CANCELLED: "cancelled",
  JOB_STATE_EXPIRED: "expired",
};
const ENDED: BatchStatus[] = ["completed", "failed", "cancelled", "expired"];
/** "Jobs pending or running for more than 48 hours expire" (batch guide). */
const EXPIRES_AFTER_SECONDS = 48 * 3600;
/** Jobs and files looked at when finding one: listings have no documented order, so the search cannot stop early. */
const MAX_LISTED = 2_000;
const TRIES = 6;
/** Jobs looked at one by one; more are looked at in one listing. */
const FEW = 3;
/** How long a result file may take to come down. */
const DOWNLOAD_MS = 30 * 60_000;
/** Seconds of clock skew allowed between this machine and the service when finding by time. */
const SKEW = 300;

/**
 * The Gemini batch service with the key and address from `options`, else Gemini's own variables;
 * a missing key is one line now, before anything is built. The SDK is loaded at the first call.
 */
export function geminiService(options: ServiceOptions = {}): BatchService {
  const key = options.apiKey || keyInEnv("gemini");
  if (!key) throw missingKey("gemini");
  return new GeminiService(key, options.baseURL || addressInEnv("gemini"), options);
}

class GeminiService implements BatchService {
  readonly vendor = "gemini" as const;
  readonly traits = GEMINI_TRAITS;
  readonly #key: string;
  readonly #address: string | undefined;
  readonly #quick: boolean;
  readonly #log: (line: string) => void;
  #client: Promise<GoogleGenAI> | undefined;

  constructor(key: string, address: string | undefined, options: ServiceOptions) {
    this.#key = key;
    this.#address = address;
    this.#quick = options.quick === true;
    this.#log = options.log ?? (() => {});
  }

  private get baseUrl(): string {
    return this.#address ?? "https://generativelanguage.googleapis.com";
  }

  get address(): string {
    return this.baseUrl;
  }

  /** The SDK's client, made (and the SDK loaded) at the first call. */
  private sdk(): Promise<GoogleGenAI> {
    return (this.#client ??= import("@google/genai").then(
      ({ GoogleGenAI }) =>
        new GoogleGenAI({
          apiKey: this.#key,
          httpOptions: {
            ...(this.#address ? { baseUrl: this.#address } : {}),
            timeout: this.#quick ? 20_000 : 120_000,
            // Idempotent calls are asked again with backoff; a create is not (see `create`).
            retryOptions: { attempts: this.#quick ? 2 : TRIES },
          },
        }),
    ));
  }

  redact(text: string): string {
    return redactKey(text, this.#key);
  }

  /** What the SDK threw, as one UserError (transient where waiting helps), the key taken out. */
  private failure(error: unknown, doing: string): unknown {
    return geminiFailure(error, doing, { key: this.#key, baseUrl: this.baseUrl });
  }

  /** Calls the SDK, turning a failure into one UserError (transient where waiting helps). */
  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.failure(error, doing);
    }
  }

  async preflight(mode: "batch" | "sync"): Promise<void> {
    const ai = await this.sdk();
    await this.call("checking the connection", () =>
      mode === "batch"
        ? ai.batches.list({ config: { pageSize: 1 } })
        : ai.models.list({ config: { pageSize: 1 } }),
    );
  }

  async upload(ask: BatchAsk, since: number): Promise<string> {
    // The SDK's upload needs the size before the first byte and reads a file by chunks, so
    // Gemini's lines go to a file of their own: in the system's temp folder, not the run's, so a
    // kill during the upload leaves nothing in the run folder.
    const ai = await this.sdk();
    return withTempDir("synthai-gemini-", async (dir) => {
      const converted = join(dir, `${basename(ask.path)}.gemini.jsonl`);
      await convertRequests(ask.path, converted, ask);
      return await this.retried(
        `uploading ${ask.file}`,
        () => this.findUpload(ask, since),
        async () => {
          // A Blob read from the file as it goes: given the path, the SDK reads 8 MB chunks into
          // new buffers and copies each into a Blob, all of which wait for V8 to collect them.
          const file = await ai.files.upload({
            file: await openAsBlob(converted),
            config: { displayName: ask.name, mimeType: "jsonl" },
          });
          freeBuffers(); // what fetch read of the file
          return file.name!;
        },
      );
    });
  }

  async findUpload(ask: BatchAsk, since: number): Promise<string | undefined> {
    const ai = await this.sdk();
    return this.call("listing files", async () => {
      let seen = 0;
      for await (const file of await ai.files.list({ config: { pageSize: 100 } })) {
        if (++seen > MAX_LISTED) break;
        if (
          file.displayName === ask.name &&
          file.state !== "FAILED" &&
          seconds(file.createTime) >= since - SKEW
        )
          return file.name;
      }
      return undefined;
    });
  }

  async create(ask: BatchAsk, since: number): Promise<RemoteBatch> {
    const ai = await this.sdk();
    return this.retried(
      `creating the batch of ${ask.file}`,
      () => this.find(ask, since),
      async () => {
        const job = await ai.batches.create({
          model: modelOf(ask),
          src: ask.fileId!,
          // Never asked twice by the SDK: a create that timed out may have made the job; `find` settles it.
          config: { displayName: displayNameOf(ask), httpOptions: { retryOptions: { attempts: 1 } } },
        });
        return remote(job);
      },
    );
  }

  async find(ask: BatchAsk, since: number): Promise<RemoteBatch | undefined> {
    const name = displayNameOf(ask);
    const model = `models/${modelOf(ask)}`;
    const ai = await this.sdk();
    return this.call("listing batches", async () => {
      let seen = 0;
      for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) {
        if (++seen > MAX_LISTED) break;
        if (job.displayName === name && job.model === model && seconds(job.createTime) >= since - SKEW)
          return remote(job);
      }
      return undefined;
    });
  }

  /**
   * A call that changes something, tried until it answers; after a failure that may have done it
   * anyway (a timeout, a 5xx), `find` is asked first, so nothing is made twice.
   */
  private async retried<T>(
    doing: string,
    find: () => Promise<T | undefined>,
    make: () => Promise<T>,
  ): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await this.call(doing, make);
      } catch (error) {
        if (!(error instanceof UserError) || !error.transient || tries >= TRIES) throw error;
        const found = await find();
        if (found !== undefined) return found;
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** tries)));
      }
    }
  }

  /** Where jobs stand: a few asked one by one, many from one listing (and any it missed one by one). */
  async look(ids: string[], _oldest: number): Promise<Map<string, RemoteBatch>> {
    const seen = new Map<string, RemoteBatch>();
    if (ids.length > FEW) {
      const wanted = new Set(ids);
      const ai = await this.sdk();
      await this.call("listing batches", async () => {
        let listed = 0;
        for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) {
          if (job.name && wanted.has(job.name)) seen.set(job.name, remote(job));
          if (seen.size === wanted.size || ++listed >= MAX_LISTED) break;
        }
      });
    }
    for (const id of ids.filter((id) => !seen.has(id))) {
      const job = await this.get(id, "looking at the batches");
      if (job) seen.set(id, job);
    }
    return seen;
  }

  /** One job, or undefined when the service no longer has it. */
  private async get(id: string, doing: string): Promise<RemoteBatch | undefined> {
    const ai = await this.sdk();
    try {
      return remote(await ai.batches.get({ name: id }));
    } catch (error) {
      if (googleFailure(error)?.status === 404) return undefined;
      throw this.failure(error, doing);
    }
  }

  async results(
    batch: RemoteBatch,
    to: { output: string; errors: string },
  ): Promise<{ output?: { sha256: string; lines: number }; errors?: { sha256: string; lines: number } }> {
    const gone = () => {
      [to.output, to.errors].forEach((path) => rmSync(path, { force: true }));
      return {};
    };
    if (!batch.outputRef) return gone();
    const download = `${to.output}.gemini.jsonl`;
    const doing = `downloading the results of ${batch.id}`;
    try {
      const kept = await this.retried(
        doing,
        async () => undefined,
        () => this.download(batch.outputRef!, download),
      );
      if (!kept) return gone();
      return await writeResults(download, to, batch.id);
    } finally {
      rmSync(download, { force: true });
    }
  }

  /**
   * A result file to disk, streamed, and checked against the size the Files API gives it; false
   * when the service no longer keeps it (403 or 404). Not the SDK's files.download: it pipes the
   * body without handling its errors, so a connection cut mid-file throws outside any caller and
   * the download never settles (@google/genai 3.6). The path is the Files API's media download.
   */
  private async download(ref: string, path: string): Promise<boolean> {
    const ai = await this.sdk();
    let expected: number;
    try {
      expected = Number((await ai.files.get({ name: ref })).sizeBytes);
    } catch (error) {
      const status = googleFailure(error)?.status;
      if (status === 403 || status === 404) return false;
      throw error;
    }
    const url = `${this.baseUrl.replace(/\/+$/, "")}/download/v1beta/${ref}:download?alt=media`;
    const response = await fetch(url, {
      headers: { "x-goog-api-key": this.#key },
      signal: AbortSignal.timeout(DOWNLOAD_MS),
    });
    if (!response.ok || !response.body) throw httpFailure(response.status, await response.text());
    await pipeline(Readable.fromWeb(response.body as never), freedAsTheyGo, createWriteStream(path));
    crashPoint("during-download");
    const size = statSync(path).size;
    if (Number.isFinite(expected) && size !== expected) {
      const short = new UserError(
        `the results of ${ref} came back short (${size} of ${expected} bytes)`,
        "resume fetches them again",
        EXIT.SERVICE,
      );
      short.transient = true;
      throw short;
    }
    return true;
  }

  async cancel(id: string): Promise<RemoteBatch | undefined> {
    const ai = await this.sdk();
    try {
      await ai.batches.cancel({ name: id });
    } catch (error) {
      if (googleFailure(error)?.status === 404) return undefined;
      // A job that ended meanwhile may refuse to be cancelled: it is looked at instead.
      if (googleFailure(error)?.status !== 400) throw this.failure(error, `cancelling ${id}`);
    }
    return this.get(id, `looking at ${id}`);
  }

  async remove(refs: string[], id?: string): Promise<string[]> {
    const ai = await this.sdk();
    const warnings: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        const status = googleFailure(error)?.status;
        if (status === 403 || status === 404) return; // already gone
        const failure = this.failure(error, `deleting ${what}`);
        warnings.push(this.redact(failure instanceof Error ? failure.message : String(failure)));
      }
    };
    for (const ref of refs) await attempt(ref, () => ai.files.delete({ name: ref }));
    if (id) await attempt(id, () => ai.batches.delete({ name: id }));
    warnings.forEach((line) => this.#log(line));
    return warnings;
  }

  async gc(dryRun: boolean, log: (line: string) => void, keep?: ReadonlySet<string>): Promise<string[]> {
    const ai = await this.sdk();
    const { running, ours } = await this.call("listing batches", () => synthaiJobs(ai, keep ?? new Set()));
    const orphans: { name: string; label: string; bytes: string }[] = [];
    await this.call("listing files", async () => {
      for await (const file of await ai.files.list({ config: { pageSize: 100 } })) {
        const label = file.displayName ?? "";
        const uploaded = label.startsWith("synthai-") && file.source !== "GENERATED" && !running.has(label);
        if (file.name && (uploaded || ours.has(file.name)))
          orphans.push({ name: file.name, label, bytes: file.sizeBytes ?? "?" });
      }
    });
    for (const file of orphans) {
      if (!dryRun) await this.call(`deleting ${file.name}`, () => ai.files.delete({ name: file.name }));
      log(`${dryRun ? "would delete" : "deleted"} ${file.name} ${file.label} (${file.bytes} bytes)`);
    }
    log(`${orphans.length} orphaned synthai file(s) ${dryRun ? "found" : "deleted"}`);
    return orphans.map((f) => f.name);
  }

  async send(_url: string, body: unknown, doing = "sending a request"): Promise<Sent> {
    const { model, contents, systemInstruction, generationConfig } = body as Record<string, any>;
    const ai = await this.sdk();
    try {
      const response = await ai.models.generateContent({
        model,
        contents,
        config: { ...generationConfig, ...(systemInstruction ? { systemInstruction } : {}) },
      });
      const { sdkHttpResponse: _http, ...answer } = JSON.parse(JSON.stringify(response));
      return { ok: true, body: answer, requestId: response.responseId ?? "" };
    } catch (error) {
      const google = googleFailure(error);
      const failure = this.failure(error, doing);
      if (!google || !(failure instanceof UserError)) throw failure;
      return {
        ok: false,
        status: google.status,
        transient: failure.transient,
        body: {
          error: { message: this.redact(google.message), type: google.name, code: google.name, param: null },
        },
        requestId: "",
        failure,
      };
    }
  }

  async models(): Promise<RemoteModel[]> {
    const ai = await this.sdk();
    return this.call("listing models", async () => {
      const models: RemoteModel[] = [];
      for await (const model of await ai.models.list({ config: { pageSize: 100 } }))
        if (model.name) models.push({ id: model.name.replace(/^models\//, "") });
      return models;
    });
  }

  async model(name: string): Promise<RemoteModel | undefined> {
    const ai = await this.sdk();
    try {
      const model = await ai.models.get({ model: bareModel(name) });
      return { id: (model.name ?? name).replace(/^models\//, "") };
    } catch (error) {
      if (googleFailure(error)?.status === 404) return undefined;
      throw this.failure(error, `looking up ${name}`);
    }
  }
}

/** The ask's model as Gemini names it (`gemini/` is synthai's prefix, not the service's). */
function modelOf(ask: BatchAsk): string {
  return bareModel(ask.model);
}

/** The job's displayName: the request file's remote name, then synthai's tags (`synthai_run=…`). */
export function displayNameOf(ask: BatchAsk): string {
  // The tags without their `synthai_` prefix: the name already says whose they are.
  const tags = Object.entries(ask.metadata).map(([key, value]) => `${key.replace(/^synthai_/, "")}=${value}`);
  return [ask.name, ...tags].join(" ");
}

/** A job as synthai sees it. Pure. */
export function remote(job: BatchJob): RemoteBatch {
  const said = String(job.state ?? "JOB_STATE_UNSPECIFIED");
  const status = STATUS[said] ?? "in_progress";
  const createdAt = seconds(job.createTime);
  const ended = ENDED.includes(status);
  return {
    id: job.name!,
    status,
    said,
    createdAt,
    expiresAt: createdAt + EXPIRES_AFTER_SECONDS,
    ...(ended ? { finishedAt: seconds(job.endTime ?? job.updateTime) } : {}),
    // SDK 3.6 passes no batchStats through: counts stay unknown, as for a service without live counts.
    ...(job.dest?.fileName ? { outputRef: job.dest.fileName } : {}),
    ...(status === "failed" ? { errors: [job.error?.message ?? "the job failed as a whole"] } : {}),
  };
}

function seconds(time: string | undefined): number {
  const ms = time ? Date.parse(time) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** synthai's jobs: the labels of those running (or kept: not collected yet), and the outputs of the others. */
async function synthaiJobs(
  ai: GoogleGenAI,
  keep: ReadonlySet<string>,
): Promise<{ running: Set<string>; ours: Set<string> }> {
  const running = new Set<string>();
  const ours = new Set<string>();
  for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) {
    const label = job.displayName ?? "";
    if (!label.startsWith("synthai-")) continue;
    const batch = remote(job);
    if (!ENDED.includes(batch.status) || keep.has(job.name ?? "")) running.add(label.split(" ")[0]!);
    else if (batch.outputRef) ours.add(batch.outputRef);
  }
  return { running, ours };
}

/** synthai's request lines as Gemini's, streamed: never the whole file in memory. */
async function convertRequests(from: string, to: string, ask: BatchAsk): Promise<void> {
  const out = new TextWriter(to);
  try {
    let at = 0;
    for await (const lines of readLineBatches(from, READ_NO_LINK))
      for (const line of lines) {
        at++;
        try {
          out.write(`${toGeminiLine(line, ask.model)}\n`);
        } catch (error) {
          const why = error instanceof SyntaxError ? "not JSON" : (error as Error).message;
          throw new UserError(
            `${ask.file} line ${at}: ${why}`,
            "the run's request file is damaged",
            EXIT.USAGE,
          );
        }
      }
  } finally {
    out.close();
  }
}

/**
 * A downloaded result file as synthai's output and errors files, each written whole (beside,
 * then renamed) or not at all; a file with no line is removed.
 */
async function writeResults(
  download: string,
  to: { output: string; errors: string },
  id: string,
): Promise<{ output?: { sha256: string; lines: number }; errors?: { sha256: string; lines: number } }> {
  const writers = {
    output: new JsonlWriter(`${to.output}.part`),
    errors: new JsonlWriter(`${to.errors}.part`),
  };
  let whole = false;
  try {
    let at = 0;
    for await (const lines of readLineBatches(download))
      for (const raw of lines) {
        at++;
        const result = fromGeminiLine(raw);
        if (!result) {
          const damaged = new UserError(
            `the results of ${id} came back damaged (line ${at})`,
            "resume fetches them again",
            EXIT.SERVICE,
          );
          damaged.transient = true;
          throw damaged;
        }
        writers[result.to].writeLine(result.line);
      }
    whole = true;
  } finally {
    writers.output.close();
    writers.errors.close();
    if (!whole) [to.output, to.errors].forEach((path) => rmSync(`${path}.part`, { force: true }));
  }
  const publish = (kind: "output" | "errors") => {
    const writer = writers[kind];
    if (!writer.lines) {
      rmSync(`${to[kind]}.part`, { force: true });
      rmSync(to[kind], { force: true });
      return undefined;
    }
    renameSync(`${to[kind]}.part`, to[kind]);
    return { sha256: writer.sha256, lines: writer.lines };
  };
  return { output: publish("output"), errors: publish("errors") };
}
