// A finished OpenAI-shaped batch's files: downloaded whole and checked, deleted from the account
// once collected, and `synthai gc`'s search for what a run left there.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type OpenAI from "openai";
import type { RemoteBatch } from "../batch-service.ts";
import { call, sleep } from "../client.ts";
import { isFinished } from "../providers/index.ts";
import { EXIT, UserError, redact } from "../../errors.ts";
import { crashPoint } from "../../io/crash-point.ts";
import { openFresh } from "../../io/disk.ts";
import { freedAsTheyGo, readLines } from "../../io/jsonl.ts";

/** Tries of one download within one collect; past them the drive loop waits and comes back. */
const DOWNLOAD_TRIES = 4;

type Written = { sha256: string; lines: number };

/**
 * Downloads a batch's output and error files (either may be absent) to a temp name, and renames
 * them into place only once whole: a connection cut midway, or a file with fewer lines than the
 * batch's request counts, is fetched again — never accepted, so no answer is bought twice and the
 * service's copy (deleted after collecting) is never the only one of a partial file.
 */
export async function downloadResults(
  client: OpenAI,
  batch: RemoteBatch,
  to: { output: string; errors: string },
  log: (line: string) => void,
): Promise<{ output?: Written; errors?: Written }> {
  const written: { output?: Written; errors?: Written } = {};
  for (const [kind, fileId, want] of [
    ["output", batch.outputRef, batch.counts?.completed],
    ["errors", batch.errorRef, batch.counts?.failed],
  ] as const) {
    const target = to[kind];
    if (!fileId) {
      await rm(target, { force: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    written[kind] = await downloadWhole(client, fileId, target, want, log);
  }
  return written;
}

async function downloadWhole(
  client: OpenAI,
  fileId: string,
  target: string,
  want: number | undefined,
  log: (line: string) => void,
): Promise<Written> {
  const tmp = `${target}.tmp`;
  for (let tries = 1; ; tries++) {
    const { problem, sha256, lines } = await downloadOnce(client, fileId, tmp, want);
    if (!problem) {
      await rename(tmp, target);
      return { sha256, lines };
    }
    if (tries >= DOWNLOAD_TRIES) {
      const failure = new UserError(
        `downloading ${fileId}: ${problem} (${tries} tries)`,
        "nothing is lost: the service keeps the file, and it is fetched again",
        EXIT.SERVICE,
      );
      failure.transient = true;
      throw failure;
    }
    log(`warning: downloading ${fileId}: ${problem}; fetching it again`);
    await sleep(250 * 2 ** tries);
  }
}

/** One try: what was wrong with it, or nothing if the file is whole; the file's SHA-256, taken as it came. */
async function downloadOnce(
  client: OpenAI,
  fileId: string,
  tmp: string,
  want: number | undefined,
): Promise<{ problem?: string; sha256: string; lines: number }> {
  const response = await call(client, `downloading ${fileId}`, () => client.files.content(fileId));
  const hash = createHash("sha256");
  const hashed = async function* (chunks: AsyncIterable<Uint8Array>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      yield chunk;
    }
  };
  try {
    await pipeline(
      Readable.fromWeb(response.body as any),
      freedAsTheyGo,
      hashed,
      createWriteStream(tmp, { fd: openFresh(tmp) }),
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).syscall) throw error; // the disk, not the connection
    return { problem: `the connection was cut (${(error as Error).message})`, sha256: "", lines: 0 };
  }
  crashPoint("during-download");
  const lines = await countLines(tmp);
  const sha256 = hash.digest("hex");
  return want !== undefined && lines < want
    ? { problem: `it came with ${lines} lines, the batch reported ${want}`, sha256, lines }
    : { sha256, lines };
}

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const _ of readLines(path)) lines++;
  return lines;
}

/** Deletes files from the account; one already gone is not a problem, any other failure is a warning line. */
export async function deleteFiles(client: OpenAI, fileIds: string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const fileId of fileIds) {
    try {
      await client.files.delete(fileId);
    } catch (error) {
      if ((error as { status?: number }).status !== 404)
        warnings.push(
          `warning: could not delete remote file ${fileId} ` +
            `(${redact((error as Error).message.split("\n")[0]!, [client.apiKey])}); \`synthai gc\` can remove it later`,
        );
    }
  }
  return warnings;
}

/**
 * `synthai gc`: finds synthai's files left on the account — request files (named `synthai-…`)
 * and the output and error files of batches whose metadata names a synthai run — whose batch
 * is no longer running, and deletes them (or only lists them, with `dryRun`).
 */
export async function collectGarbage(
  client: OpenAI,
  options: {
    dryRun: boolean;
    log: (line: string) => void;
    uploadPurpose: string;
    keep: ReadonlySet<string>;
  },
): Promise<string[]> {
  const inUse = new Set<string>();
  const ours = new Set<string>();
  await call(client, "listing batches", async () => {
    for await (const batch of client.batches.list({ limit: 100 })) {
      const files = [batch.input_file_id, batch.output_file_id, batch.error_file_id].filter(
        (f): f is string => Boolean(f),
      );
      if (!isFinished(batch.status) || options.keep.has(batch.id)) files.forEach((f) => inUse.add(f));
      else if (batch.metadata?.synthai_run) files.forEach((f) => ours.add(f));
    }
  });
  const orphans: { id: string; filename: string; bytes: number }[] = [];
  await call(client, "listing files", async () => {
    for await (const file of client.files.list({ limit: 10_000 })) {
      const mine =
        ours.has(file.id) || (file.purpose === options.uploadPurpose && file.filename.startsWith("synthai-"));
      if (mine && !inUse.has(file.id))
        orphans.push({ id: file.id, filename: file.filename, bytes: file.bytes });
    }
  });
  for (const file of orphans) {
    if (!options.dryRun) await call(client, `deleting ${file.id}`, () => client.files.delete(file.id));
    options.log(
      `${options.dryRun ? "would delete" : "deleted"} ${file.id} ${file.filename} (${file.bytes} bytes)`,
    );
  }
  options.log(`${orphans.length} orphaned synthai file(s) ${options.dryRun ? "found" : "deleted"}`);
  return orphans.map((f) => f.id);
}
