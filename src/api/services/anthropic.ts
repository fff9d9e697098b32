// Anthropic's Message Batches behind synthai's BatchService, with the official SDK. What differs
// from OpenAI's (../shared/vendors/VENDORS-2026-12.md; anthropic-sdk-typescript 1.17
// `resources/messages/batches.ts`): the requests go inline in the create call; a batch keeps no
// metadata, so a create cut short is found again by its size and, once it has ended, by its
// results' custom ids (which carry a hash of the run, stage, chunk and attempt); counts stay
// unknown until the batch ends; results are one JSONL stream, written here in synthai's envelope.
import { createReadStream, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import type Anthropic from "@anthropic-ai/sdk";
import type { MessageBatch } from "@anthropic-ai/sdk/resources/messages/batches";
import { EXIT, UserError, redact } from "../../errors.ts";
import {
  JsonlWriter,
  TextWriter,
  freeBuffers,
  freedAsTheyGo,
  freeingEvery,
  readJsonl,
} from "../../io/jsonl.ts";
import { withTempDir } from "../../io/disk.ts";
import type {
  BatchAsk,
  BatchService,
  RemoteBatch,
  RemoteModel,
  Sent,
  ServiceOptions,
  ServiceTraits,
} from "../batch-service.ts";
import { CUSTOM_ID, checkMessagesRequest, type MessagesBody } from "../endpoints/messages.ts";
import { VENDORS, addressInEnv, keyInEnv, missingKey } from "../vendors.ts";
import { askPrefix, fromClaudeId, toClaudeId } from "./anthropic-ids.ts";
import { envelopeOf, errorOfBody, seconds, sizeOf, toRemote } from "./anthropic-shapes.ts";

export const ANTHROPIC_TRAITS: ServiceTraits = {
  carries: "inline",
  maxRequests: 100_000,
  // "256 MB": taken in decimal megabytes, the smaller reading.
  maxBytes: 256_000_000,
  // The service's rule; synthai's own ids are sent behind a 17-character prefix (anthropic-ids.ts).
  customId: { maxLength: 64, pattern: CUSTOM_ID },
  mixesModels: true,
  findsBy: "size_and_ids",
  liveCounts: false,
  typicalHours: VENDORS.anthropic.typicalHours,
};

/** A batch listed before the moment a create was first tried, by this much, is not the one it made. */
const CLOCK_SLACK_SECONDS = 300;
const CREATE_TRIES = 3;
/** The "file id" of an inline carrier's requests: they stay on disk until the create call. */
const INLINE = "inline";

let sdk: typeof import("@anthropic-ai/sdk") | undefined;

/**
 * The service for a run's Claude models: the key and address from -k/--base-url or Anthropic's
 * own variables, checked now (a missing key is one line before anything is built); the SDK is
 * loaded with the first call.
 */
export function anthropicService(options: ServiceOptions = {}): BatchService {
  const apiKey = options.apiKey || keyInEnv("anthropic");
  if (!apiKey) throw missingKey("anthropic");
  const baseURL = options.baseURL || addressInEnv("anthropic");
  const patience = options.quick ? { maxRetries: 2, timeout: 20_000 } : { maxRetries: 6, timeout: 120_000 };
  return new AnthropicService({ apiKey, ...(baseURL ? { baseURL } : {}), ...patience });
}

class AnthropicService implements BatchService {
  readonly vendor = "anthropic" as const;
  readonly traits = ANTHROPIC_TRAITS;
  readonly #settings: { apiKey: string; baseURL?: string; maxRetries: number; timeout: number };
  #client: Promise<Anthropic> | undefined;

  constructor(settings: { apiKey: string; baseURL?: string; maxRetries: number; timeout: number }) {
    this.#settings = settings;
  }

  /** The SDK's client, made (and the SDK loaded) at the first call. */
  private client(): Promise<Anthropic> {
    return (this.#client ??= import("@anthropic-ai/sdk").then((loaded) => {
      sdk = loaded;
      return new loaded.Anthropic(this.#settings);
    }));
  }

  private async batches() {
    return (await this.client()).messages.batches;
  }

  redact(text: string): string {
    return redact(text, [this.#settings.apiKey]);
  }

  /** Where its calls go, for a failure to name. */
  get address(): string {
    return this.#settings.baseURL ?? "https://api.anthropic.com";
  }

  /** Calls the API; a failure becomes one line a person can act on, marked transient where waiting helps. */
  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw anthropicFailure(error, doing, this);
    }
  }

  async preflight(mode: "batch" | "sync"): Promise<void> {
    const options = { maxRetries: 3, timeout: 20_000 };
    await this.call("checking the connection", async () => {
      if (mode === "sync") await (await this.client()).models.list({ limit: 1 }, options);
      else await (await this.batches()).list({ limit: 1 }, options);
    });
  }

  /**
   * Requests go inline in the create call: there is no file to upload, and the request file on
   * disk is always "found", so a stop after it goes straight on to finding the batch.
   */
  async upload(): Promise<string> {
    return INLINE;
  }

  async findUpload(): Promise<string | undefined> {
    return INLINE;
  }

  /**
   * Makes the batch from the request file, exactly once: retries are off (a POST has no
   * idempotency key), and a try that failed in a way that may have made it is settled by `find`.
   */
  async create(ask: BatchAsk, since: number): Promise<RemoteBatch> {
    // The create call's body is written to a file and streamed from it, what was read freed every
    // 8 MB: given as an object, the SDK holds it whole three times (objects, JSON, bytes), up to
    // 256 MB. fetch itself keeps a streamed body until the request ends (nodejs/undici#4058): a
    // body of 74 MB peaks at 74 MB of buffers streamed so, 96 MB sent as a Blob.
    return withTempDir("synthai-anthropic-", async (dir) => {
      const { path, requests, bytes } = await writeCreateBody(ask, dir);
      if (requests > this.traits.maxRequests || bytes > this.traits.maxBytes)
        throw new UserError(
          `${ask.file} holds ${requests} requests in ${bytes} bytes, more than one Message Batch takes (${this.traits.maxRequests} or ${this.traits.maxBytes} bytes)`,
          "split the run into more request files: a larger -b/--batches",
        );
      return this.createFrom(path, ask, since);
    });
  }

  /** Sends the create call's body from its file, at most CREATE_TRIES times, each failed try settled by `find`. */
  private async createFrom(path: string, ask: BatchAsk, since: number): Promise<RemoteBatch> {
    for (let tries = 1; ; tries++) {
      try {
        const options = {
          maxRetries: 0,
          body: freedAsTheyGo(createReadStream(path)),
          headers: { "content-type": "application/json" },
        };
        return toRemote(await (await this.batches()).create({ requests: [] }, options));
      } catch (error) {
        const failure = anthropicFailure(error, `creating the batch of ${ask.file}`, this);
        if (!(failure instanceof UserError) || !failure.transient || tries >= CREATE_TRIES) throw failure;
        const found = await this.find(ask, since);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (tries - 1)));
      } finally {
        freeBuffers(); // the last chunks sent
      }
    }
  }

  /**
   * The batch a create cut short made: one made since `since`, of this ask's size, whose results
   * hold exactly this ask's custom ids. A batch of that size still running cannot be told apart
   * from another run's yet: that is said (transient), never guessed, so nothing is sent twice.
   */
  async find(ask: BatchAsk, since: number): Promise<RemoteBatch | undefined> {
    let running: string | undefined;
    let expected: Set<string> | undefined;
    return this.call("looking for a batch made before a stop", async () => {
      for await (const batch of (await this.batches()).list({ limit: 100 })) {
        if (seconds(batch.created_at) < since - CLOCK_SLACK_SECONDS) break;
        if (sizeOf(batch) !== ask.requests) continue;
        if (batch.processing_status !== "ended") {
          running ??= batch.id;
          continue;
        }
        expected ??= await customIds(ask);
        if (await this.holdsExactly(batch.id, expected)) return toRemote(batch);
      }
      if (running) throw undecided(ask, running);
      return undefined;
    });
  }

  /** Whether a batch's results are answers to exactly these custom ids (its first foreign id ends the read). */
  private async holdsExactly(id: string, expected: Set<string>): Promise<boolean> {
    const seen = new Set<string>();
    for await (const line of await (await this.batches()).results(id)) {
      if (!expected.has(line.custom_id) || seen.has(line.custom_id)) return false;
      seen.add(line.custom_id);
    }
    return seen.size === expected.size;
  }

  /** Where batches stand: one listing back to the oldest of them, then any it did not show, one by one. */
  async look(ids: string[], oldest: number): Promise<Map<string, RemoteBatch>> {
    const wanted = new Set(ids);
    const found = new Map<string, RemoteBatch>();
    if (ids.length > 1)
      await this.call("listing batches", async () => {
        for await (const batch of (await this.batches()).list({ limit: 100 })) {
          if (seconds(batch.created_at) < oldest - CLOCK_SLACK_SECONDS) break;
          if (wanted.has(batch.id)) found.set(batch.id, toRemote(batch));
          if (found.size === wanted.size) break;
        }
      });
    for (const id of ids.filter((id) => !found.has(id))) {
      const batch = await this.retrieve(id);
      if (batch) found.set(id, toRemote(batch));
    }
    return found;
  }

  /** One batch as the service has it; undefined when it has it no more (deleted, or never). */
  private async retrieve(id: string): Promise<MessageBatch | undefined> {
    try {
      return await (await this.batches()).retrieve(id);
    } catch (error) {
      if (error instanceof sdk!.NotFoundError) return undefined;
      throw anthropicFailure(error, `looking at batch ${id}`, this);
    }
  }

  /**
   * Streams the results into synthai's envelope: answers to `output`, the rest to `errors`, each
   * whole or not at all (written aside, renamed once complete); a download cut short, or one with
   * fewer lines than the batch has requests, is transient and leaves nothing.
   */
  async results(batch: RemoteBatch, to: { output: string; errors: string }) {
    // Only an ended batch has results, and its counts say how many lines they must be.
    if (!batch.counts) throw notEnded(batch.id);
    const files = {
      output: new JsonlWriter(`${to.output}.part`),
      errors: new JsonlWriter(`${to.errors}.part`),
    };
    const discard = () => {
      for (const [kind, file] of Object.entries(files)) {
        file.close();
        rmSync(`${to[kind as keyof typeof to]}.part`, { force: true });
      }
    };
    // The SDK reads the stream itself: the bytes written stand for the bytes read, to free them by.
    const passed = freeingEvery();
    try {
      for await (const line of await (await this.batches()).results(batch.id)) {
        const { kind, value } = envelopeOf(line);
        const before = files[kind].bytes;
        files[kind].write(value);
        passed(files[kind].bytes - before);
      }
    } catch (error) {
      discard();
      throw downloadFailure(error, batch.id, this);
    }
    const lines = files.output.lines + files.errors.lines;
    if (lines !== batch.counts.total) {
      discard();
      throw cutShort(batch.id, lines, batch.counts.total);
    }
    return { output: publish(files.output, to.output), errors: publish(files.errors, to.errors) };
  }

  async cancel(id: string): Promise<RemoteBatch | undefined> {
    try {
      return toRemote(await (await this.batches()).cancel(id));
    } catch (error) {
      if (error instanceof sdk!.NotFoundError) return undefined;
      throw anthropicFailure(error, `cancelling batch ${id}`, this);
    }
  }

  /** Deletes the ended batch (its results with it); there are no files. A failure is a warning line. */
  async remove(_refs: string[], id?: string): Promise<string[]> {
    if (!id) return [];
    try {
      await (await this.batches()).delete(id);
      return [];
    } catch (error) {
      if (error instanceof sdk!.NotFoundError) return [];
      return [`batch ${id} was not deleted: ${this.redact((error as Error).message)}`];
    }
  }

  /** Ended batches whose first result carries synthai's custom ids: deleted (or, dry, listed). */
  async gc(dryRun: boolean, log: (line: string) => void, keep?: ReadonlySet<string>): Promise<string[]> {
    const ours: string[] = [];
    await this.call("listing batches", async () => {
      for await (const batch of (await this.batches()).list({ limit: 100 })) {
        if (batch.processing_status !== "ended" || keep?.has(batch.id)) continue;
        if (!(await this.isSynthais(batch.id))) continue;
        ours.push(batch.id);
        if (!dryRun) (await this.remove([], batch.id)).forEach(log);
      }
    });
    log(`${ours.length} ended synthai batch(es) ${dryRun ? "found" : "deleted"}`);
    return ours;
  }

  private async isSynthais(id: string): Promise<boolean> {
    for await (const line of await (await this.batches()).results(id))
      return fromClaudeId(line.custom_id) !== undefined;
    return false;
  }

  async send(_url: string, body: unknown, doing = "sending a request"): Promise<Sent> {
    try {
      const response = await (await this.client()).messages.create(body as never).withResponse();
      return { ok: true, body: response.data, requestId: response.request_id ?? "" };
    } catch (error) {
      if (!(error instanceof sdk!.APIError) || error instanceof sdk!.APIConnectionError)
        throw anthropicFailure(error, doing, this);
      const failure = anthropicFailure(error, doing, this) as UserError;
      const said = errorOfBody(error.error);
      return {
        ok: false,
        status: error.status ?? 0,
        transient: failure.transient,
        body: { error: { message: this.redact(said.message), type: said.type, code: null, param: null } },
        requestId: error.requestID ?? "",
        failure,
      };
    }
  }

  async models(): Promise<RemoteModel[]> {
    return this.call("listing models", async () => {
      const models: RemoteModel[] = [];
      for await (const model of (await this.client()).models.list({ limit: 1000 }))
        models.push({ id: model.id });
      return models;
    });
  }

  async model(name: string): Promise<RemoteModel | undefined> {
    try {
      return { id: (await (await this.client()).models.retrieve(name)).id };
    } catch (error) {
      if (error instanceof sdk!.NotFoundError) return undefined;
      throw anthropicFailure(error, `looking up model ${name}`, this);
    }
  }
}

/** The request file's lines as the create call takes them, each checked first and its id made this ask's. */
async function* inlineRequests(ask: BatchAsk): AsyncGenerator<{ custom_id: string; params: MessagesBody }> {
  const prefix = askPrefix(ask);
  for await (const line of readJsonl<{ custom_id: string; body: MessagesBody }>(ask.path)) {
    const custom_id = toClaudeId(prefix, line.custom_id);
    checkMessagesRequest({ custom_id, body: line.body });
    yield { custom_id, params: line.body };
  }
}

/** The create call's JSON body (`{"requests":[…]}`) written to a file in `dir`, with its requests and bytes. */
async function writeCreateBody(
  ask: BatchAsk,
  dir: string,
): Promise<{ path: string; requests: number; bytes: number }> {
  const path = join(dir, `${basename(ask.path)}.create.json`);
  const file = new TextWriter(path);
  let requests = 0;
  try {
    file.write('{"requests":[');
    for await (const request of inlineRequests(ask))
      file.write(`${requests++ ? "," : ""}${JSON.stringify(request)}`);
    file.write("]}");
  } finally {
    file.close();
  }
  return { path, requests, bytes: file.bytes };
}

async function customIds(ask: BatchAsk): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const request of inlineRequests(ask)) ids.add(request.custom_id);
  return ids;
}

/** A written file renamed into place with its checksum and lines; an empty one is no file. */
function publish(file: JsonlWriter, path: string): { sha256: string; lines: number } | undefined {
  file.close();
  if (!file.lines) {
    rmSync(`${path}.part`, { force: true });
    rmSync(path, { force: true });
    return undefined;
  }
  renameSync(`${path}.part`, path);
  return { sha256: file.sha256, lines: file.lines };
}

function undecided(ask: BatchAsk, id: string): UserError {
  const failure = new UserError(
    `batch ${id}, of ${ask.requests} requests like ${ask.file}, was made since this run tried to create its own; ` +
      "whether it is this run's shows only once it ends (Anthropic's batches keep no tags)",
    "resume once it has ended (most end within the hour); nothing is sent again until then",
    EXIT.SERVICE,
  );
  failure.transient = true;
  return failure;
}

function notEnded(id: string): UserError {
  const failure = new UserError(
    `batch ${id} has not ended: it has no results yet`,
    "wait for it to end",
    EXIT.SERVICE,
  );
  failure.transient = true;
  return failure;
}

function cutShort(id: string, lines: number, total: number): UserError {
  const failure = new UserError(
    `the results of batch ${id} came with ${lines} lines of ${total}: the download was cut short`,
    "resume: they are fetched again",
    EXIT.SERVICE,
  );
  failure.transient = true;
  return failure;
}

/** A download that broke off (the connection, a torn line) is worth another try; an API refusal is classified. */
function downloadFailure(error: unknown, id: string, service: { redact(text: string): string }): unknown {
  if (error instanceof sdk!.APIError && !(error instanceof sdk!.APIConnectionError))
    return anthropicFailure(error, `downloading the results of batch ${id}`, service);
  const failure = new UserError(
    `the results of batch ${id} were cut short: ${service.redact(String((error as Error)?.message ?? error))}`,
    "resume: they are fetched again",
    EXIT.SERVICE,
  );
  failure.transient = true;
  return failure;
}

/**
 * What Anthropic said, as one line a person can act on, the key never in it; transient when
 * waiting helps (no answer, 408, 409, 429, 5xx, 529 overloaded). Anything not the API's is ours.
 */
export function anthropicFailure(
  error: unknown,
  doing: string,
  service: { redact(text: string): string; address?: string },
): unknown {
  if (!sdk || !(error instanceof sdk.APIError)) return error;
  const status = error.status ?? 0;
  const connection = error instanceof sdk.APIConnectionError;
  const said = errorOfBody(error.error);
  const failure = connection
    ? new UserError(
        `cannot reach Anthropic's API${service.address ? ` at ${service.address}` : ""} while ${doing}`,
        `check $${VENDORS.anthropic.baseURLVariable} and the network`,
        EXIT.SERVICE,
      )
    : status === 401
      ? new UserError(
          `Anthropic refused the key while ${doing} (401)`,
          `check the key: -k/--api-key, or $${VENDORS.anthropic.keyVariables[0]}`,
          EXIT.SERVICE,
        )
      : new UserError(
          `Anthropic's API failed while ${doing} (${status} ${said.type}): ${service.redact(said.message)}`,
          status === 404 ? "the key must belong to the workspace that made this run" : "fix what it says",
          EXIT.SERVICE,
        );
  failure.transient = connection || status === 408 || status === 409 || status === 429 || status >= 500;
  return failure;
}
