// A finished batch's files: downloaded whole and checked, then deleted from the account.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import type OpenAI from "openai";
import { call, sleep } from "../api/client.ts";
import { UserError } from "../errors.ts";
import { readLines } from "../io/jsonl.ts";
import { openFresh } from "../io/disk.ts";
import { crashPoint, ensureDir, type BatchRecord } from "../run/manifest.ts";
import { resultsFile, type Sums } from "../run/files.ts";

/** Tries of one download within one collect; past them the drive loop waits and comes back. */
const DOWNLOAD_TRIES = 4;

/**
 * Downloads a batch's output and error files (either may be absent) to a temp name, and renames
 * them into place only once whole: a connection cut midway, or a file with fewer lines than the
 * batch's request_counts, is fetched again — never accepted, so no answer is bought twice and the
 * service's copy (deleted after collecting) is never the only one of a partial file.
 */
export async function downloadResults(
  client: OpenAI,
  runDir: string,
  record: BatchRecord,
  log: (line: string) => void,
): Promise<Sums> {
  await ensureDir(join(runDir, "results"));
  const sums: Sums = {};
  const expected = { output: record.requestCounts?.completed, errors: record.requestCounts?.failed };
  for (const [kind, fileId] of [
    ["output", record.outputFileId],
    ["errors", record.errorFileId],
  ] as const) {
    const path = resultsFile(record, kind);
    const target = join(runDir, path);
    if (!fileId) {
      await rm(target, { force: true });
      continue;
    }
    const tmp = `${target}.tmp`;
    for (let tries = 1; ; tries++) {
      const { problem, sha256 } = await downloadOnce(client, fileId, tmp, expected[kind]);
      if (!problem) {
        sums[path] = sha256;
        break;
      }
      if (tries >= DOWNLOAD_TRIES) {
        const failure = new UserError(
          `downloading ${fileId}: ${problem} (${tries} tries)`,
          "nothing is lost: the service keeps the file, and it is fetched again",
          3,
        );
        failure.transient = true;
        throw failure;
      }
      log(`warning: downloading ${fileId}: ${problem}; fetching it again`);
      await sleep(250 * 2 ** tries);
    }
    await rename(tmp, target);
  }
  return sums;
}

/** One try: what was wrong with it, or nothing if the file is whole; the file's SHA-256, taken as it came. */
async function downloadOnce(
  client: OpenAI,
  fileId: string,
  tmp: string,
  want: number | undefined,
): Promise<{ problem?: string; sha256: string }> {
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
    return { problem: `the connection was cut (${(error as Error).message})`, sha256: "" };
  }
  crashPoint("during-download");
  const lines = await countLines(tmp);
  const sha256 = hash.digest("hex");
  return want !== undefined && lines < want
    ? { problem: `it came with ${lines} lines, the batch reported ${want}`, sha256 }
    : { sha256 };
}

/**
 * A download comes in one buffer per socket read, and V8 frees them only when it collects
 * garbage, which a download hardly makes: they pile up to 64 MB, V8's limit for memory outside
 * its heap. With `--expose-gc` (bin/runtime.cjs), a young-generation collection every 8 MB keeps
 * them to a few MB, for about a millisecond per MB (BENCHMARKS.md).
 */
async function* freedAsTheyGo(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let since = 0;
  for await (const chunk of chunks) {
    yield chunk;
    since += chunk.length;
    if (since >= 8 * 1024 * 1024 && globalThis.gc) {
      since = 0;
      globalThis.gc({ type: "minor" });
    }
  }
}

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const _ of readLines(path)) lines++;
  return lines;
}

/** Deletes a collected batch's input, output and error files from the account; their content is on disk. */
export async function deleteRemoteFiles(
  client: OpenAI,
  record: BatchRecord,
  log: (line: string) => void,
): Promise<void> {
  for (const fileId of [record.fileId, record.outputFileId, record.errorFileId]) {
    if (!fileId) continue;
    try {
      await client.files.delete(fileId);
    } catch (error) {
      if ((error as { status?: number }).status !== 404)
        log(
          `warning: could not delete ` +
            `remote file ${fileId} (${(error as Error).message.split("\n")[0]}); \`synthai gc\` can remove it later`,
        );
    }
  }
}
