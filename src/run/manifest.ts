import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { checkRunsDir } from "../io/disk.ts";
import { VERSION } from "./version.ts";

export type {
  BatchRecord,
  Chunk,
  Collected,
  Export,
  Manifest,
  RunConfig,
  StageConfig,
  StoredConfig,
} from "./manifest-schema.ts";
import type { BatchRecord, Collected, Manifest, StoredManifest } from "./manifest-schema.ts";
import { RUN_DEFAULTS, resolve, storedConfig } from "./settings.ts";

/** The stage a batch belongs to: 1, the generation, unless it says a later one. */
export function stageOf(record: Pick<BatchRecord, "stage">): number {
  return record.stage ?? 1;
}

/** What of a batch goes to the service: its whole request file, or, where the cache answered some, the rest. */
export function sentOf(record: BatchRecord): { file: string; requests: number; promptTokens: number } {
  const { cached } = record;
  return cached
    ? {
        file: cached.sentFile ?? record.requestsFile,
        requests: cached.sent,
        promptTokens: cached.sentPromptTokens,
      }
    : { file: record.requestsFile, requests: record.requests, promptTokens: record.promptTokens };
}

/** What a batch with nothing in it yet (or nothing to ask) has collected. */
export function emptyCollected(): Collected {
  return {
    ok: 0,
    malformed: 0,
    failed: 0,
    truncated: 0,
    reasoning: 0,
    missing: 0,
    retry: 0,
    givenUp: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    costUsd: 0,
  };
}

export const MANIFEST = "manifest.json";

/** Reads a run folder's manifest, checked against its schema (loaded with the first one read). */
export async function loadManifest(runDir: string): Promise<Manifest> {
  let text: string;
  try {
    text = readFileSync(join(runDir, MANIFEST), "utf8");
  } catch {
    throw new UserError(`run folder ${runDir} has no manifest.json`, "run `synthai status` to list runs");
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${join(runDir, MANIFEST)} is not valid JSON (${(error as Error).message})`,
      "restore it from a backup or start a new run; do not edit manifests by hand",
    );
  }
  const sealed = unsealed(data);
  if (sealed) return resolved(sealed);
  const { ManifestSchema } = await import("./manifest-schema.ts");
  const parsed = ManifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(
      `${join(runDir, MANIFEST)} is corrupt at ${issue.path.join(".") || "top level"}: ${issue.message}`,
      "restore it or start a new run; do not edit manifests by hand",
    );
  }
  return resolved(parsed.data);
}

/** A manifest as it is read: its config resolved, each setting it leaves out at its default. */
function resolved(manifest: StoredManifest): Manifest {
  return { ...manifest, config: resolve(RUN_DEFAULTS, manifest.config, {}) };
}

/**
 * manifest.json as the store writes it, sealed: its last field, `seal`, is a hash of the rest and
 * of this synthai's version. A manifest whose seal holds is as this synthai wrote it (from a
 * manifest the schema passed), so reading it needs no schema: `status` starts without zod's 95
 * modules. An edited or older manifest is checked against the schema, as any other.
 */
export function sealedManifest(manifest: Manifest): string {
  const stored: StoredManifest = { ...manifest, config: storedConfig(manifest.config) };
  return `${JSON.stringify({ ...stored, seal: sealOf(stored) }, null, 2)}\n`;
}

function unsealed(data: unknown): StoredManifest | undefined {
  if (typeof data !== "object" || data === null || !("seal" in data)) return undefined;
  const { seal, ...manifest } = data as { seal: unknown };
  return seal === sealOf(manifest) ? (manifest as StoredManifest) : undefined;
}

function sealOf(manifest: object): string {
  return createHash("sha256")
    .update(`${VERSION}\n${JSON.stringify(manifest)}`)
    .digest("hex")
    .slice(0, 32);
}

/** A sortable run id: UTC time plus a short random suffix. */
export function newRunId(now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const suffix = Math.floor(random() * 36 ** 4)
    .toString(36)
    .padStart(4, "0");
  return `${stamp}-${suffix}`;
}

export async function findRunDir(runsDir: string, runId: string): Promise<string> {
  checkRunsDir(runsDir);
  const ids = await listRunIds(runsDir);
  if (ids.includes(runId)) return join(runsDir, runId);
  const matches = ids.filter((id) => id.startsWith(runId) || id.endsWith(runId));
  if (matches.length === 1) return join(runsDir, matches[0]!);
  if (matches.length > 1)
    throw new UserError(
      `run id "${runId}" is ambiguous (${matches.length} runs match)`,
      "give more of the id",
    );
  throw new UserError(
    `no run "${runId}" in ${runsDir}`,
    "run `synthai status` to list runs, or pass --runs-dir",
  );
}

export async function listRunIds(runsDir: string): Promise<string[]> {
  try {
    const entries = await readdir(runsDir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The batches the runs in `runsDir` made and have not collected yet (an abandoned run's apart):
 * their results are paid for, and `synthai gc` leaves them for `resume` to collect.
 */
export async function uncollectedBatches(runsDir: string): Promise<Map<string, string>> {
  const awaited = new Map<string, string>();
  for (const id of await listRunIds(runsDir)) {
    const manifest = await loadManifest(join(runsDir, id)).catch(() => undefined);
    if (!manifest || (manifest.state === "stopped" && manifest.reason === "abandoned")) continue;
    for (const b of manifest.batches) if (b.batchId && b.step !== "collected") awaited.set(b.batchId, id);
  }
  return awaited;
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/**
 * The collected batches with answers on disk (a stage with nothing to ask has none), in the order asked: chunk,
 * stage, attempt.
 */
export function collectedRecords(manifest: Manifest): BatchRecord[] {
  return manifest.batches
    .filter((b) => b.step === "collected" && b.requests > 0)
    .sort((a, b) => a.chunk - b.chunk || stageOf(a) - stageOf(b) || a.attempt - b.attempt);
}

/** Test-only crash points (io/crash-point.ts), named here for the pipeline. */
export { crashPoint } from "../io/crash-point.ts";
