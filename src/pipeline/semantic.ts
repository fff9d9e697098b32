// `--dedup semantic` at export: the texts of the samples an export writes are embedded through
// the Batch API, in batches of their own recorded in the manifest like any other (so a kill -9
// anywhere resumes with nothing sent twice, and their cost counts once), the vectors are kept in
// the run folder, and a sample within the cosine threshold of an earlier kept one is left out.
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  EMBEDDINGS_URL,
  embeddingBody,
  embeddingModel,
  embeddingPrice,
  readEmbedding,
} from "../api/embeddings.ts";
import { costUsd, formatUsd } from "../api/pricing.ts";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/disk.ts";
import { JsonlWriter, readLines } from "../io/jsonl.ts";
import { progress } from "../io/log.ts";
import { embeddingsFileName, noteFiles, resultsFile, type Sums } from "../run/files.ts";
import { emptyCollected, ensureDir, type BatchRecord, type RunConfig } from "../run/manifest.ts";
import { embeddingsUsd, spentUsd } from "../run/totals.ts";
import { vendorField } from "../run/config.ts";
import type { SampleFeed } from "./export.ts";
import { fileLimits } from "./build.ts";
import type { RunContext } from "./context.ts";
import { BandTable, textOf, type Candidate, type Duplicate } from "./dedup.ts";
import { deleteRemoteFiles, downloadResults } from "./download.ts";
import { submit } from "./submit.ts";
import { driveRounds, type Round } from "./rounds.ts";
import { isFinished, providerFor } from "../api/providers/index.ts";

const VECTORS_FILE = "embeddings/vectors.bin";
/** Vectors are kept as bytes: each unit-length coordinate times 127, rounded (cosines within about 0.01). */
const SCALE = 127;

/**
 * The finder of semantic duplicates for the samples `feed` yields, in order: their vectors from
 * the run folder when an earlier export made them for the same samples, else embedded now.
 */
export async function semanticFinder(
  run: RunContext,
  feed: SampleFeed,
  options: { model: string; threshold: number },
): Promise<(sample: Candidate) => Duplicate | undefined> {
  const model = embeddingModel(options.model);
  const ids: string[] = [];
  await feed((s) => void ids.push(s.custom_id));
  const idsSha256 = createHash("sha256").update(ids.join("\n")).digest("hex");
  const kept = run.manifest.embeddings;
  let earlierUsd = 0;
  if (
    kept &&
    (kept.model !== model.name || kept.dimensions !== model.asked || kept.idsSha256 !== idsSha256)
  ) {
    // Batches already sent are waited for and paid for, never left running: then the new ones.
    if (kept.batches.some((b) => b.step !== "pending" && b.step !== "collected")) await embed(run);
    earlierUsd = embeddingsUsd(run.manifest);
    await forget(run);
  }
  if (!run.manifest.embeddings)
    await buildRequests(run, feed, model, { idsSha256, samples: ids.length, earlierUsd });
  await embed(run);
  const row = new Map(ids.map((id, i) => [id, i]));
  const vectors = await vectorsOf(run, ids, row);
  return finder(vectors, ids, row, model.asked, options.threshold);
}

/** Embeddings made for other samples or another model: their files go, and new ones are asked. */
async function forget(run: RunContext): Promise<void> {
  const old = run.manifest.embeddings!;
  run.log(`the samples or the model changed since the last embeddings (${old.model}): embedding again`);
  for (const record of old.batches)
    for (const path of [record.requestsFile, resultsFile(record, "output"), resultsFile(record, "errors")])
      await rm(join(run.dir, path), { force: true });
  await rm(join(run.dir, VECTORS_FILE), { force: true });
  run.store.update((manifest) => delete manifest.embeddings);
}

/** Where a provider's batches run no embeddings, nothing is sent: said before anything is judged or built. */
export function checkEmbeddingsProvider(config: RunConfig): void {
  const provider = providerFor(config.provider);
  if (!provider.batchesEmbeddings)
    throw new UserError(
      `${provider.title}'s batches do not run /v1/embeddings, which --dedup semantic sends`,
      "use --dedup near (no service needed), or export a run made through OpenAI or Azure",
    );
}

async function buildRequests(
  run: RunContext,
  feed: SampleFeed,
  model: ReturnType<typeof embeddingModel>,
  made: { idsSha256: string; samples: number; earlierUsd: number },
): Promise<void> {
  await ensureDir(join(run.dir, "requests"));
  const perFile = fileLimits(run.config).requests;
  const batches: BatchRecord[] = [];
  const sums: Sums = {};
  let writer: JsonlWriter | undefined;
  let bytes = 0;
  const close = () => {
    if (!writer) return;
    writer.close();
    sums[batches.at(-1)!.requestsFile] = writer.sha256;
    batches[batches.length - 1]!.requests = writer.lines;
    batches[batches.length - 1]!.promptTokens = Math.ceil(bytes / 4);
    writer = undefined;
  };
  await feed((s) => {
    if (writer && writer.lines >= perFile) close();
    if (!writer) {
      const requestsFile = embeddingsFileName(batches.length);
      writer = new JsonlWriter(join(run.dir, requestsFile));
      bytes = 0;
      const base = {
        purpose: "embeddings" as const,
        ...vendorField(run.config),
        chunk: batches.length,
        attempt: 1,
        requestsFile,
      };
      batches.push({ ...base, requests: 0, promptTokens: 0, step: "pending" });
    }
    const text = textOf(s);
    bytes += Buffer.byteLength(text);
    writer.write({
      custom_id: s.custom_id,
      method: "POST",
      url: EMBEDDINGS_URL,
      body: embeddingBody(model, text),
    });
  });
  close();
  run.store.update((manifest) => {
    manifest.embeddings = {
      model: model.name,
      dimensions: model.asked,
      samples: made.samples,
      idsSha256: made.idsSha256,
      batches,
      ...(made.earlierUsd ? { earlierUsd: made.earlierUsd } : {}),
    };
    noteFiles(
      run.dir,
      manifest,
      batches.map((b) => b.requestsFile),
      sums,
    );
  });
  run.log(`embedding ${made.samples} samples' texts with ${model.name} in ${batches.length} batch(es)`);
}

/** Sends, waits for and collects the embeddings batches, in the drive loop the answers go through. */
async function embed(run: RunContext): Promise<void> {
  const embeddings = run.manifest.embeddings!;
  const model = embeddingModel(embeddings.model);
  // Sent as batches whatever the run's mode: at the provider's batch share of the list price.
  const price = embeddingPrice(model, providerFor(run.config.provider).batchShare);
  const round = async (): Promise<Round> => {
    for (const record of embeddings.batches.filter((b) => b.step === "finished"))
      await collect(run, record, price);
    const waiting = embeddings.batches.filter((b) => b.step === "pending" || b.step === "uploaded");
    for (const record of waiting) {
      checkBudget(run, record, price);
      await submit(run, record);
    }
    const inFlight = embeddings.batches.filter((b) => b.step === "submitted");
    return { inFlight, done: !inFlight.length && embeddings.batches.every((b) => b.step === "collected") };
  };
  await driveRounds(run, round, () => {
    const done = embeddings.batches.filter((b) => isFinished(b.status)).length;
    progress(run.log, `embedding: ${done}/${embeddings.batches.length} batch(es) done`, "embed");
  });
}

/** The budget (-l) holds for embeddings too: a batch goes only if its worst case fits beside what was spent. */
function checkBudget(run: RunContext, record: BatchRecord, price: { input: number }): void {
  const budget = run.config.budgetUsd;
  const worst = costUsd({ input: price.input, output: 0 }, record.promptTokens * 2, 0);
  if (budget !== undefined && spentUsd(run.manifest) + worst > budget)
    throw new UserError(
      `embedding ${record.requests} samples could cost up to ${formatUsd(worst)}, over what is left of the ` +
        `${formatUsd(budget)} budget`,
      `raise it with \`synthai resume ${run.manifest.id} -l <higher limit>\` first, or export without --dedup semantic`,
    );
}

async function collect(run: RunContext, record: BatchRecord, price: { input: number; output: number }) {
  if (record.status === "failed")
    throw new UserError(
      `the embeddings batch ${record.batchId} failed: ${(record.errors ?? ["no details"]).slice(0, 3).join("; ")}`,
      "check --embedding-model, then export again",
    );
  const sums = await downloadResults(run.serviceFor(record), run.dir, record);
  let tokens = record.usage?.input_tokens;
  if (tokens === undefined) {
    tokens = 0;
    for await (const line of readLines(join(run.dir, resultsFile(record, "output"))))
      tokens += readEmbedding(parsed(line)?.response?.body)?.tokens ?? 0;
  }
  const usd = costUsd(price, tokens, 0);
  run.store.update((manifest) => {
    record.collected = {
      ...emptyCollected(),
      ok: record.requestCounts?.completed ?? 0,
      promptTokens: tokens,
      costUsd: usd,
    };
    record.step = "collected";
    noteFiles(run.dir, manifest, [resultsFile(record, "output"), resultsFile(record, "errors")], sums);
  });
  run.log(
    `collected embeddings ${record.batchId}: ${record.requestCounts?.completed ?? 0} vectors, ${formatUsd(usd)}`,
  );
  if (record.fileId && !run.config.keepRemote)
    await deleteRemoteFiles(run.serviceFor(record), record, run.log);
}

/** Each sample's vector, as bytes, in the order of `ids`; written to the run folder once, read from it after. */
async function vectorsOf(run: RunContext, ids: string[], row: Map<string, number>): Promise<Int8Array> {
  const embeddings = run.manifest.embeddings!;
  const size = embeddings.dimensions;
  const path = join(run.dir, VECTORS_FILE);
  if (embeddings.vectorsFile) {
    const bytes = await readFile(path).catch(() => undefined);
    if (bytes?.length === ids.length * size)
      return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  // A sample without a vector (its line failed) is all zeros: like nothing, it is kept.
  const vectors = new Int8Array(ids.length * size);
  let missing = ids.length;
  for (const record of embeddings.batches)
    for await (const line of readLines(join(run.dir, resultsFile(record, "output")))) {
      const answer = parsed(line);
      const at = answer?.custom_id === undefined ? undefined : row.get(answer.custom_id);
      const read = readEmbedding(answer?.response?.body);
      if (at === undefined || !read || read.vector.length !== size) continue;
      missing--;
      for (let i = 0; i < size; i++) vectors[at * size + i] = Math.round(read.vector[i]! * SCALE);
    }
  if (missing)
    run.log(`warning: ${missing} samples got no vector (their lines failed): none of them is left out`);
  await ensureDir(join(run.dir, "embeddings"));
  const bytes = Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  writeFileAtomic(path, bytes);
  run.store.update((manifest) => {
    manifest.embeddings!.vectorsFile = VECTORS_FILE;
    noteFiles(run.dir, manifest, [VECTORS_FILE], {
      [VECTORS_FILE]: createHash("sha256").update(bytes).digest("hex"),
    });
  });
  return vectors;
}

/** A line of a results file, or undefined if it is torn (its sample then has no vector). */
function parsed(line: string): { custom_id?: string; response?: { body?: unknown } } | undefined {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Hyperplanes per band and bands: a pair at cosine 0.9 shares a band with probability above 0.99. */
const BITS = 8;
const BANDS = 16;
/** Coordinates each hyperplane looks at: sparse random projections, cheap and as good for banding. */
const TAPS = 24;

function finder(
  vectors: Int8Array,
  ids: string[],
  row: Map<string, number>,
  size: number,
  threshold: number,
) {
  // Seeded hyperplanes: the same run and threshold find the same duplicates every time.
  let seed = 0x2545f491;
  const next = () => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0) >>> 0;
  const taps = Uint16Array.from({ length: BANDS * BITS * TAPS }, () => next() % size);
  const signs = Int8Array.from({ length: BANDS * BITS * TAPS }, () => (next() & 1 ? 1 : -1));
  const firstWith = new BandTable();
  const dot = (a: number, b: number) => {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += vectors[a * size + i]! * vectors[b * size + i]!;
    return sum / (SCALE * SCALE);
  };
  return (sample: Candidate): Duplicate | undefined => {
    const at = row.get(sample.custom_id);
    if (at === undefined || dot(at, at) === 0) return undefined;
    const keys = new Uint32Array(BANDS);
    for (let band = 0; band < BANDS; band++) {
      let key = band + 1;
      for (let bit = 0; bit < BITS; bit++) {
        let projection = 0;
        const plane = (band * BITS + bit) * TAPS;
        for (let t = 0; t < TAPS; t++)
          projection += signs[plane + t]! * vectors[at * size + taps[plane + t]!]!;
        key = (key << 1) | (projection >= 0 ? 1 : 0);
      }
      keys[band] = Math.imul(key, 0x9e3779b1) >>> 0;
    }
    const seen = new Set<number>();
    for (const key of keys) {
      const other = firstWith.get(key);
      if (other < 0 || seen.has(other)) continue;
      seen.add(other);
      const similarity = dot(at, other);
      if (similarity >= threshold)
        return {
          sample_id: sample.custom_id,
          sample: sample.sample,
          duplicate_of: ids[other]!,
          kind: "semantic",
          similarity: Math.round(similarity * 1000) / 1000,
        };
    }
    for (const key of keys) firstWith.add(key, at);
    return undefined;
  };
}
