import { join } from "node:path";
import { UserError } from "../errors.ts";
import { sha256, sizeOf } from "../io/disk.ts";
import { lastStage } from "./config.ts";
import { collectedRecords, sentOf, stageOf, type BatchRecord, type Manifest } from "./manifest.ts";

/**
 * `c0000-a1` for stage 1 (as run folders always named it), `s2-c0000-a1` for a later stage,
 * `e-c0000-a1` for a batch of embeddings (--dedup semantic).
 */
function batchName(chunk: number, attempt: number, stage = 1, purpose?: "embeddings"): string {
  const prefix = purpose === "embeddings" ? "e-" : stage > 1 ? `s${stage}-` : "";
  return `${prefix}c${String(chunk).padStart(4, "0")}-a${attempt}`;
}

/** The request file of the `part`-th batch of embeddings. */
export function embeddingsFileName(part: number): string {
  return `requests/${batchName(part, 1, 1, "embeddings")}.jsonl`;
}

export function requestsFileName(chunk: number, attempt: number, stage?: number): string {
  return `requests/${batchName(chunk, attempt, stage)}.jsonl`;
}

export function drawsFileName(chunk: number): string {
  return `draws/c${String(chunk).padStart(4, "0")}.jsonl`;
}

/** A batch's answers: the service's output and error files, and those the cache of answers gave (`cached`). */
export function resultsFile(record: BatchRecord, kind: "output" | "errors" | "cached"): string {
  return `results/${batchName(record.chunk, record.attempt, record.stage, record.purpose)}.${kind}.jsonl`;
}

/** The requests of a batch the cache did not answer: what is sent in its place. */
export function sentFileName(record: BatchRecord): string {
  return `requests/${batchName(record.chunk, record.attempt, record.stage)}.sent.jsonl`;
}

export function samplesFile(record: BatchRecord): string {
  return `samples/${batchName(record.chunk, record.attempt, record.stage)}.jsonl`;
}

/** SHA-256 of files of the run folder (path from the run folder → hex), taken by their writers as they wrote. */
export type Sums = Record<string, string>;

/**
 * The run folder's files as synthai wrote them: their sizes and checksums go into the manifest,
 * so that a file deleted, cut short or changed since is found before anything is built on it (a
 * CSV rewritten from half the answers is worse than no CSV). A file no longer there is forgotten.
 */
export function noteFiles(runDir: string, manifest: Manifest, paths: string[], sums: Sums): void {
  const files = (manifest.files ??= {});
  const noted = (manifest.sums ??= {});
  for (const path of paths) {
    const size = sizeOf(join(runDir, path));
    if (size === undefined) delete files[path];
    else files[path] = size;
    if (size !== undefined && sums[path]) noted[path] = sums[path];
    else delete noted[path];
  }
}

/**
 * The checksums of those of `paths` that exist: as their writers took them (`known`), the others
 * read once — a file appended to across processes (sync mode's answers, imported ones).
 */
export async function sumsOf(runDir: string, paths: string[], known: Sums = {}): Promise<Sums> {
  const sums: Sums = {};
  for (const path of paths) {
    const sum =
      known[path] ??
      (sizeOf(join(runDir, path)) === undefined ? undefined : await sha256(join(runDir, path)));
    if (sum) sums[path] = sum;
  }
  return sums;
}

/**
 * What an export reads: each collected attempt's draws, and its judged samples or (where it is judged
 * again) its requests and answers.
 */
export function exportInputs(
  manifest: Manifest,
  { judgeAgain }: { judgeAgain: boolean | ((record: BatchRecord) => boolean) },
): string[] {
  const paths = new Set<string>();
  for (const record of collectedRecords(manifest)) {
    paths.add(manifest.chunks[record.chunk]!.drawsFile);
    if (typeof judgeAgain === "function" ? !judgeAgain(record) : !judgeAgain) {
      paths.add(samplesFile(record));
      continue;
    }
    paths.add(record.requestsFile);
    for (const kind of ["output", "errors", "cached"] as const) {
      // A manifest from before sizes were noted still says how many lines each file had.
      const lines =
        kind === "cached"
          ? record.cached?.hits
          : kind === "output"
            ? record.requestCounts?.completed
            : record.requestCounts?.failed;
      if (manifest.files ? manifest.files[resultsFile(record, kind)] !== undefined : Boolean(lines))
        paths.add(resultsFile(record, kind));
    }
  }
  return [...paths];
}

/**
 * What a run that goes on reads: the batches still to send or collect, their requests and their
 * chunks' draws; a chunk with a stage still to build, the samples judged so far (it is built from them).
 */
export function pendingInputs(manifest: Manifest): string[] {
  const paths = new Set<string>();
  for (const record of manifest.batches.filter((b) => b.step !== "collected")) {
    paths.add(record.requestsFile);
    paths.add(sentOf(record).file);
    paths.add(manifest.chunks[record.chunk]!.drawsFile);
  }
  const stages = lastStage(manifest.config);
  for (const chunk of manifest.chunks) {
    const mine = manifest.batches.filter((b) => b.chunk === chunk.index);
    if (new Set(mine.map(stageOf)).size === stages) continue;
    for (const record of mine.filter((b) => b.step === "collected" && b.requests > 0)) {
      paths.add(samplesFile(record));
      paths.add(chunk.drawsFile);
    }
  }
  return [...paths];
}

/** Whether a file of the run folder is there as it was written: its size, and its checksum where noted. */
export async function asWritten(runDir: string, manifest: Manifest, path: string): Promise<boolean> {
  return manifest.files?.[path] !== undefined && (await damageOf(runDir, manifest, path)) === undefined;
}

/**
 * Stops, naming the file and the way out, if any of `paths` is not as it was written. Each is
 * read through for its checksum where `whole` says so (what is about to be read anyway); the
 * others only have their size checked.
 */
export async function checkRunFiles(
  runDir: string,
  manifest: Manifest,
  paths: string[],
  whole: (path: string) => boolean = () => true,
): Promise<void> {
  for (const path of paths) {
    const damage = await damageOf(runDir, manifest, path, whole(path));
    if (damage)
      throw new UserError(
        `${join(runDir, path)} ${damage}`,
        `${wayOut(manifest, path)}; nothing was changed`,
      );
  }
}

/** What is wrong with a file of the run folder, or undefined if it is as noted (one not noted: if it is there). */
async function damageOf(
  runDir: string,
  manifest: Manifest,
  path: string,
  whole = true,
): Promise<string | undefined> {
  const expected = manifest.files?.[path];
  const size = sizeOf(join(runDir, path));
  if (size === undefined) return "is missing";
  if (expected === undefined) return undefined;
  if (size < expected) return `is cut short (${size} bytes; ${expected} when written)`;
  if (size > expected) return `has changed (${size} bytes; ${expected} when written)`;
  const sum = manifest.sums?.[path];
  if (whole && sum && (await sha256(join(runDir, path))) !== sum)
    return "has changed since it was written (the same size, other bytes)";
  return undefined;
}

/** What to do about a damaged samples file: judge the answers again. */
export function judgeAgainHint(manifest: Manifest): string {
  return `\`synthai export ${manifest.id} --judge-again\` judges the answers again from results/`;
}

function wayOut(manifest: Manifest, path: string): string {
  if (path.startsWith("samples/")) return judgeAgainHint(manifest);
  if (path.startsWith("results/") && !manifest.config.keepRemote)
    return "restore it from a backup of the run folder (the service's copy was deleted once downloaded)";
  return "restore it from a backup of the run folder";
}
