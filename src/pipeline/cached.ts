// The cache of answers at the level of a batch's record: before a pending record's requests go
// out, each is looked up, the hits are written as the record's cached results (in the envelope of
// a batch's output line) and only the misses are sent; once a batch is collected, its finished
// answers are kept for later runs. Both steps are safe to repeat after a kill at any point: a
// lookup is recorded in the manifest only once its files are whole, and keeping an answer again
// writes the same entry again.
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { endpointOf } from "../run/config.ts";
import type { Endpoint } from "../api/endpoints/index.ts";
import { costUsd, type Price } from "../api/pricing.ts";
import { withTokenCounter } from "../api/tokens.ts";
import {
  answersUnder,
  bodyHash,
  cacheKey,
  identityOf,
  keepable,
  limitIn,
  type LimitAt,
  type Service,
} from "../cache/key.ts";
import { AnswerCache, defaultCacheDir, openCacheDir } from "../cache/store.ts";
import { ReplicateCounts } from "../cache/tables.ts";
import { JsonlWriter, readJsonl, readLineBatches } from "../io/jsonl.ts";
import { READ_NO_LINK, sizeOf } from "../io/disk.ts";
import { crashPoint, ensureDir, sentOf, stageOf, type BatchRecord, type RunConfig } from "../run/manifest.ts";
import { noteFiles, resultsFile, sentFileName, type Sums } from "../run/files.ts";
import type { BatchRequest } from "../run/records.ts";
import type { ManifestStore } from "../run/store.ts";
import type { RunContext } from "./context.ts";
import { priceOf } from "./transport.ts";
import type { BuildLookup } from "./build.ts";
import { customIdOf } from "./verdict.ts";

/** Where a record wholly answered by the cache keeps the place of a batch id. */
export const FROM_CACHE = "cache";

/**
 * Each run's own: it writes a log of its own, and finds what any other run kept (another run in this
 * process included) through the index files, not the answers it keeps itself (AnswerCache.put).
 */
const caches = new WeakMap<ManifestStore, AnswerCache>();

/** The run's cache of answers, or none (--no-cache). */
export function cacheOf(run: Pick<RunContext, "store" | "config">): AnswerCache | undefined {
  const { config } = run;
  if (config.noCache) return undefined;
  if (!caches.has(run.store)) caches.set(run.store, new AnswerCache(cacheDirOf(config)));
  return caches.get(run.store);
}

function cacheDirOf(config: RunConfig): string {
  return config.cacheDir ?? defaultCacheDir();
}

/** A run that may keep answers checks their folder before anything is built or paid for. */
export function checkCacheFolder(config: RunConfig): void {
  if (!config.noCache) openCacheDir(cacheDirOf(config));
}

/** What a run's requests are keyed by besides themselves: the service they go to, and the run's seed. */
interface Keying {
  cache: AnswerCache;
  service: Service;
  seed: number;
  /** Where the endpoint's token limit sits in a body: left out of the key, matched apart. */
  limitAt: LimitAt;
  /**
   * Where stage 1's endpoint puts it: a sample's identity is its first request's, whatever stage
   * asks (a judge on Claude, its limit named otherwise, identifies its samples by their OpenAI requests).
   */
  firstLimitAt: LimitAt;
}

const limitAtOf = ({ limits }: Endpoint<any>): LimitAt => limits.maxTokens.at ?? limits.maxTokens.name;

/** The keying of a run that may use the cache: it has one, and a service (answers are keyed by its address). */
function keyingOf(run: RunContext, record: BatchRecord): Keying | undefined {
  const { config } = run;
  const cache = cacheOf(run);
  if (!cache || !run.sends || record.purpose) return undefined;
  const service = run.serviceFor(record);
  const endpoint = endpointOf(config, stageOf(record));
  return {
    cache,
    service: { vendor: service.vendor, address: service.address, url: endpoint.url },
    seed: config.seed,
    limitAt: limitAtOf(endpoint),
    firstLimitAt: limitAtOf(endpointOf(config, 1)),
  };
}

/**
 * Each chunk's samples' identities, worked out once per process from the first requests of the run:
 * every first request counted (flat, ReplicateCounts), each sample's replicate number (4 bytes), and
 * the identities of the chunks used last; an older chunk's are made again from its first requests.
 */
interface Identities {
  next: number;
  counts: ReplicateCounts;
  replicates: Map<number, Uint32Array>;
  recent: Map<number, string[]>;
}
const identities = new WeakMap<ManifestStore, Identities>();
/** How many chunks' identities stay in memory: a stage's batch and the next. */
const RECENT_CHUNKS = 2;

function memoOf(run: RunContext): Identities {
  const memo = identities.get(run.store) ?? {
    next: 0,
    counts: new ReplicateCounts(),
    replicates: new Map(),
    recent: new Map(),
  };
  identities.set(run.store, memo);
  return memo;
}

function remember(memo: Identities, chunk: number, ids: string[]): string[] {
  memo.recent.delete(chunk);
  memo.recent.set(chunk, ids);
  for (const old of memo.recent.keys()) if (memo.recent.size > RECENT_CHUNKS) memo.recent.delete(old);
  return ids;
}

/**
 * Identifies the samples of the next chunk from its first requests, in the order of its file: each
 * its first request and its replicate number, the count of identical first requests before it in
 * the run. Counted apart until `commit`, so a pass broken off leaves the run's counts as they were.
 */
function firstPass(memo: Identities, keying: Keying, chunk: number, firstSample: number) {
  const ids: string[] = [];
  const replicates: number[] = [];
  const seen = new Map<string, number>();
  return {
    identify(request: BatchRequest): { hash: string; identity: string } {
      const hash = bodyHash(request.body, keying.firstLimitAt);
      const before = seen.get(hash) ?? 0;
      seen.set(hash, before + 1);
      const replicate = memo.counts.get(hash) + before;
      const identity = identityOf(hash, replicate);
      ids[Number(request.custom_id) - firstSample] = identity;
      replicates[Number(request.custom_id) - firstSample] = replicate;
      return { hash, identity };
    },
    commit() {
      for (const [hash, count] of seen) memo.counts.add(hash, count);
      memo.replicates.set(
        chunk,
        Uint32Array.from(replicates, (r) => r ?? 0),
      );
      remember(memo, chunk, ids);
      memo.next = chunk + 1;
    },
  };
}

/** The first request file of `chunk`: the one its samples' identities come from. */
function firstRequestsOf(run: RunContext, chunk: number): string {
  const first = run.manifest.batches.find((b) => b.chunk === chunk && stageOf(b) === 1 && b.attempt === 1)!;
  return join(run.dir, first.requestsFile);
}

/** A chunk's identities made again, from its first requests and their replicate numbers. */
async function identitiesAgain(run: RunContext, keying: Keying, chunk: number, replicates: Uint32Array) {
  const { firstSample } = run.manifest.chunks[chunk]!;
  const ids: string[] = [];
  for await (const lines of readLineBatches(firstRequestsOf(run, chunk), READ_NO_LINK))
    for (const line of lines) {
      const request = JSON.parse(line) as BatchRequest;
      const at = Number(request.custom_id) - firstSample;
      ids[at] = identityOf(bodyHash(request.body, keying.firstLimitAt), replicates[at] ?? 0);
    }
  return ids;
}

/** The identity of each sample of `chunk` (by its position in the chunk), chunks scanned in order. */
async function identitiesOf(run: RunContext, keying: Keying, chunk: number): Promise<string[]> {
  const memo = memoOf(run);
  while (memo.next <= chunk) {
    const pass = firstPass(memo, keying, memo.next, run.manifest.chunks[memo.next]!.firstSample);
    for await (const lines of readLineBatches(firstRequestsOf(run, memo.next), READ_NO_LINK))
      for (const line of lines) pass.identify(JSON.parse(line) as BatchRequest);
    pass.commit();
  }
  const recent = memo.recent.get(chunk);
  if (recent) return remember(memo, chunk, recent);
  return remember(memo, chunk, await identitiesAgain(run, keying, chunk, memo.replicates.get(chunk)!));
}

/** The key of one request of a record: its body, the run's seed, its sample's identity, the attempt. */
function keyOf(
  keying: Keying,
  ids: string[],
  firstSample: number,
  record: BatchRecord,
  request: BatchRequest,
) {
  const identity = ids[Number(request.custom_id) - firstSample] ?? request.custom_id;
  return cacheKey(
    keying.service,
    keying.seed,
    bodyHash(request.body, keying.limitAt),
    identity,
    record.attempt,
  );
}

/**
 * Keys a record's requests in the order of its file. A chunk's first requests not yet identified
 * are identified as they are keyed, so the file is read once; others go by their chunk's identities.
 * `firstSample`: its chunk's (the build looks a chunk up before the manifest records it).
 */
async function keyerOf(run: RunContext, keying: Keying, record: BatchRecord, firstSample: number) {
  const memo = memoOf(run);
  if (stageOf(record) !== 1 || record.attempt !== 1 || memo.next > record.chunk) {
    const ids = await identitiesOf(run, keying, record.chunk);
    return { key: (request: BatchRequest) => keyOf(keying, ids, firstSample, record, request), done() {} };
  }
  if (record.chunk > 0) await identitiesOf(run, keying, record.chunk - 1);
  const pass = firstPass(memo, keying, record.chunk, firstSample);
  return {
    key(request: BatchRequest): string {
      const { hash, identity } = pass.identify(request);
      return cacheKey(keying.service, keying.seed, hash, identity, record.attempt);
    },
    done: () => pass.commit(),
  };
}

/** Whether a record is still to be looked up: pending, and nothing of it ever went to the service. */
function toLookUp(record: BatchRecord): boolean {
  return (
    record.step === "pending" &&
    !record.cached &&
    record.uploadedAt === undefined &&
    record.createdAt === undefined &&
    record.batchId === undefined
  );
}

/**
 * One record's lookup. As the requests go, each the index names is a likely hit, the others
 * misses; once all are seen, the likely hits are read in the order they lie in the cache (one
 * read a block, not a read each) and written to its cached results, or found misses after all
 * (torn, foreign, asked with a limit they do not fit). The hits' tokens are priced once the
 * record is whole (its size may decide its price).
 */
class Lookup {
  readonly answered = new Set<string>();
  missed = 0;
  readonly #likely: { id: string; key: string; limit: number }[] = [];
  readonly #saved = { prompt: 0, completion: 0, cached: 0 };
  readonly #keying: Keying;
  readonly #path: string;

  constructor(keying: Keying, path: string) {
    this.#keying = keying;
    this.#path = path;
  }

  /** Whether the cache is likely to answer `request` under `key` (`settle` says for sure). */
  look(key: string, request: BatchRequest): boolean {
    if (!this.#keying.cache.has(key)) {
      this.missed++;
      return false;
    }
    const limit = limitIn(request.body, this.#keying.limitAt);
    this.#likely.push({ id: request.custom_id, key, limit });
    return true;
  }

  /**
   * Reads the likely hits: each answer written down (a use of its entry), or a miss after all.
   * Says the hits' file, closed (none where nothing hit), and the ids found misses after all.
   */
  settle(): { hits: JsonlWriter | undefined; late: Set<string> } {
    const { cache } = this.#keying;
    const late = new Set<string>();
    let hits: JsonlWriter | undefined;
    for (const { id, key, limit } of cache.inLogOrder(this.#likely, (likely) => likely.key)) {
      const entry = cache.get(key);
      if (!entry || !answersUnder(entry, limit)) {
        late.add(id);
        continue;
      }
      cache.used(key);
      this.answered.add(id);
      hits ??= new JsonlWriter(this.#path);
      const line = `{"custom_id":${JSON.stringify(id)},"response":{"status_code":200,"body":${entry.body}},"error":null}`;
      hits.writeLine(line);
      this.#saved.prompt += entry.promptTokens;
      this.#saved.completion += entry.completionTokens;
      this.#saved.cached += entry.cachedTokens;
    }
    this.missed += late.size;
    hits?.close();
    cache.flush();
    return { hits, late };
  }

  /** What the hits would have cost at `price`. */
  savedUsd(price: Price): number {
    return costUsd(price, this.#saved.prompt, this.#saved.completion, this.#saved.cached);
  }
}

/** Looks every request of a record's file up. */
async function lookUpAll(run: RunContext, keying: Keying, record: BatchRecord): Promise<Lookup> {
  const keyer = await keyerOf(run, keying, record, run.manifest.chunks[record.chunk]!.firstSample);
  const hitsPath = join(run.dir, `${resultsFile(record, "cached")}.tmp`);
  const lookup = new Lookup(keying, hitsPath);
  keying.cache.refresh(); // what runs sharing the cache kept since
  for await (const lines of readLineBatches(join(run.dir, record.requestsFile), READ_NO_LINK))
    for (const line of lines) {
      const request = JSON.parse(line) as BatchRequest;
      lookup.look(keyer.key(request), request);
    }
  keyer.done();
  return lookup;
}

/** The requests of a record the cache did not answer, written to `file` (only where it answered some). */
async function writeMisses(run: RunContext, record: BatchRecord, answered: Set<string>, file: string) {
  const misses = new JsonlWriter(join(run.dir, file));
  for await (const lines of readLineBatches(join(run.dir, record.requestsFile), READ_NO_LINK))
    for (const line of lines) if (!answered.has(customIdOf(line)!)) misses.writeLine(line);
  misses.close();
  return misses;
}

type Cached = NonNullable<BatchRecord["cached"]>;

/**
 * Makes a settled lookup's files whole: its hits, and the requests to send where some hit (nothing
 * of an earlier lookup, killed before it was recorded, stays). Says what the record's `cached` is,
 * and the files' sums. `sentTokens`: the prompt tokens of the file of misses.
 */
async function lookupFilesWritten(
  run: RunContext,
  record: BatchRecord,
  lookup: Lookup,
  hits: JsonlWriter | undefined,
  sentTokens: (file: string) => Promise<number>,
): Promise<{ cached: Cached; sums: Sums }> {
  const hitsFile = resultsFile(record, "cached");
  const sentFile = sentFileName(record);
  const stale = (files: string[]) => Promise.all(files.map((f) => rm(join(run.dir, f), { force: true })));
  if (!hits) {
    await stale([hitsFile, sentFile, `${hitsFile}.tmp`, `${sentFile}.tmp`]);
    const cached = { hits: 0, savedUsd: 0, sent: record.requests, sentPromptTokens: record.promptTokens };
    return { cached, sums: {} };
  }
  const sent = lookup.missed;
  const misses = sent ? await writeMisses(run, record, lookup.answered, `${sentFile}.tmp`) : undefined;
  await rename(join(run.dir, `${hitsFile}.tmp`), join(run.dir, hitsFile));
  if (sent) await rename(join(run.dir, `${sentFile}.tmp`), join(run.dir, sentFile));
  else await stale([sentFile, `${sentFile}.tmp`]);
  const sentPromptTokens = sent ? await sentTokens(sentFile) : 0;
  crashPoint("after-cache-lookup", stageOf(record));
  const savedUsd = lookup.savedUsd(priceOf(run.config, record));
  const cached = { hits: hits.lines, savedUsd, sent, sentPromptTokens };
  return {
    cached: sent ? { ...cached, sentFile } : cached,
    sums: { [hitsFile]: hits.sha256, ...(misses ? { [sentFile]: misses.sha256 } : {}) },
  };
}

/** Writes a lookup into its record: what the cache answered, and a record wholly answered made finished. */
function applyLookup(record: BatchRecord, cached: Cached): void {
  record.cached = cached;
  if (cached.sent || !cached.hits) return;
  const now = Math.floor(Date.now() / 1000);
  Object.assign(record, {
    step: "finished",
    status: "completed",
    batchId: FROM_CACHE,
    createdAt: now,
    finishedAt: now,
    requestCounts: { total: 0, completed: 0, failed: 0 },
  });
}

/** Once a lookup is recorded: its hits go to the cache's ledger, and the log says what it answered. */
function noteLookup(run: RunContext, cache: AnswerCache, record: BatchRecord): void {
  const { hits, savedUsd, sent } = record.cached!;
  if (!hits) return;
  cache.noteHits(run.manifest.id, hits, savedUsd);
  run.log(
    `${record.requestsFile}: ${hits} of ${record.requests} answered from the cache` +
      (sent ? `; ${sent} to send` : "; nothing to send"),
  );
}

/**
 * Looks a pending record's requests up in the cache. Hits are written to its cached results, misses
 * to the file sent instead; a record the cache answered wholly is finished, sending nothing.
 */
export async function answerFromCache(run: RunContext, record: BatchRecord): Promise<void> {
  const keying = toLookUp(record) ? keyingOf(run, record) : undefined;
  if (!keying) return;
  await ensureDir(join(run.dir, "results"));
  const lookup = await lookUpAll(run, keying, record);
  const { hits } = lookup.settle();
  const { cached, sums } = await lookupFilesWritten(run, record, lookup, hits, (file) =>
    promptTokensOf(run, record, file),
  );
  run.store.update((manifest) => {
    applyLookup(record, cached);
    noteFiles(run.dir, manifest, Object.keys(sums), sums);
  });
  noteLookup(run, keying.cache, record);
}

/**
 * Looks a run's first requests up as its build makes them (build.ts), so a hit is never read
 * again, nor counted: where answerFromCache would look them up (a cache, a run that sends).
 */
export function buildLookup(run: RunContext): BuildLookup | undefined {
  const cache = cacheOf(run);
  if (!cache || !run.sends) return undefined;
  return {
    async open(record, firstSample) {
      const keying = keyingOf(run, record)!;
      const keyer = await keyerOf(run, keying, record, firstSample);
      await ensureDir(join(run.dir, "results"));
      const hitsPath = join(run.dir, `${resultsFile(record, "cached")}.tmp`);
      const lookup = new Lookup(keying, hitsPath);
      keying.cache.refresh(); // what runs sharing the cache kept since
      return {
        answered: (request) => lookup.look(keyer.key(request), request),
        async close(record) {
          keyer.done();
          const { hits, late } = lookup.settle();
          // Found misses after all: their prompts go to the service, and count.
          if (late.size) record.promptTokens += await promptTokensOf(run, record, record.requestsFile, late);
          const sentTokens = async () => record.promptTokens;
          const { cached, sums } = await lookupFilesWritten(run, record, lookup, hits, sentTokens);
          applyLookup(record, cached);
          return sums;
        },
      };
    },
    recorded: (record) => noteLookup(run, cache, record),
  };
}

/** The files a record's lookup wrote (its hits, the misses sent in its place), for the manifest to note. */
export function lookupFiles(record: BatchRecord): string[] {
  const { cached } = record;
  if (!cached?.hits) return [];
  return [resultsFile(record, "cached"), ...(cached.sentFile ? [cached.sentFile] : [])];
}

/** The prompt tokens of a file's requests; `only`: of those with these ids. */
async function promptTokensOf(
  run: RunContext,
  record: BatchRecord,
  file: string,
  only?: Set<string>,
): Promise<number> {
  const endpoint = endpointOf(run.config, stageOf(record));
  return withTokenCounter(async (counter) => {
    for await (const request of readJsonl<BatchRequest>(join(run.dir, file)))
      if (!only || only.has(request.custom_id)) await counter.add(endpoint.prompt(request.body));
    return counter.tally();
  });
}

/**
 * Keeps a collected batch's answers that finished (never an error, an expired or cut-off answer,
 * nor a refusal), each under its request's key, with the limit it was asked with and its cost.
 * Answers imported from elsewhere are not kept: they did not come from this service.
 */
export async function keepAnswers(run: RunContext, record: BatchRecord): Promise<void> {
  const keying = record.batchId === "import" ? undefined : keyingOf(run, record);
  const output = join(run.dir, resultsFile(record, "output"));
  if (!keying || sizeOf(output) === undefined) return;
  const endpoint = endpointOf(run.config, stageOf(record));
  const price = priceOf(run.config, record);
  const chunk = run.manifest.chunks[record.chunk]!;
  const ids = await identitiesOf(run, keying, record.chunk);
  const asked = new Map<string, { key: string; limit: number }>();
  for await (const lines of readLineBatches(join(run.dir, sentOf(record).file), READ_NO_LINK))
    for (const line of lines) {
      const request = JSON.parse(line) as BatchRequest;
      const key = keyOf(keying, ids, chunk.firstSample, record, request);
      asked.set(request.custom_id, { key, limit: limitIn(request.body, keying.limitAt) });
    }
  for await (const lines of readLineBatches(output, READ_NO_LINK))
    for (const line of lines) {
      let parsed: { custom_id?: string; response?: { status_code?: number; body?: unknown } };
      try {
        parsed = JSON.parse(line);
      } catch {
        continue; // a corrupt line is asked again, never kept
      }
      const request = asked.get(parsed.custom_id ?? "");
      const body = parsed.response?.body;
      if (!request || parsed.response?.status_code !== 200 || !body) continue;
      asked.delete(parsed.custom_id!); // only the first answer to a request counts, as in collect
      keepOne(keying, price, endpoint, request, body, false);
    }
  keying.cache.flush();
}

/**
 * Keeps one answer under its request's key, if it finished (never cut off, filtered or refused);
 * `findable` by this run again (a pilot's answers, which its batch then finds) or only by later runs.
 */
function keepOne(
  keying: Keying,
  price: Price,
  endpoint: Endpoint<any>,
  request: { key: string; limit: number },
  body: unknown,
  findable: boolean,
): void {
  const answer = endpoint.read(body);
  if (!keepable(answer, body)) return;
  keying.cache.put(
    request.key,
    {
      limit: request.limit,
      finish: answer.finish!,
      promptTokens: answer.promptTokens,
      completionTokens: answer.completionTokens,
      cachedTokens: answer.cachedTokens,
      reasoningTokens: answer.reasoningTokens,
      costUsd: costUsd(price, answer.promptTokens, answer.completionTokens, answer.cachedTokens),
      body: JSON.stringify(body),
    },
    { findable },
  );
}

/** What a request sent on its own (the pilot's) is answered by, and keeps, as a batch's requests are. */
export interface DirectCache {
  /** The kept answer's body, or undefined; a hit counts as a use, and what it saved at `price`. */
  lookup(request: BatchRequest, price: Price): unknown;
  keep(request: BatchRequest, body: unknown, price: Price): void;
  /** Writes what was kept and used, and the hits to the cache's ledger. */
  done(): void;
}

/** The cache for `record`'s requests sent one by one, outside a batch; none without a cache. */
export async function directCache(run: RunContext, record: BatchRecord): Promise<DirectCache | undefined> {
  const keying = keyingOf(run, record);
  if (!keying) return undefined;
  const ids = await identitiesOf(run, keying, record.chunk);
  const { firstSample } = run.manifest.chunks[record.chunk]!;
  const endpoint = endpointOf(run.config, stageOf(record));
  const placeOf = (request: BatchRequest) => ({
    key: keyOf(keying, ids, firstSample, record, request),
    limit: limitIn(request.body, keying.limitAt),
  });
  let hits = 0;
  let savedUsd = 0;
  keying.cache.refresh();
  return {
    lookup(request, price) {
      const { key, limit } = placeOf(request);
      const entry = keying.cache.get(key);
      if (!entry || !answersUnder(entry, limit)) return undefined;
      keying.cache.used(key);
      hits++;
      savedUsd += costUsd(price, entry.promptTokens, entry.completionTokens, entry.cachedTokens);
      return JSON.parse(entry.body);
    },
    keep: (request, body, price) => keepOne(keying, price, endpoint, placeOf(request), body, true),
    done() {
      keying.cache.flush();
      keying.cache.noteHits(run.manifest.id, hits, savedUsd);
    },
  };
}
