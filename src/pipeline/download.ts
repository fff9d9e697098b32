// A finished batch's files: downloaded whole and checked, then deleted from the account.
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
import { resultsFile } from "../run/files.ts";

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
): Promise<void> {
  await ensureDir(join(runDir, "results"));
  const expected = { output: record.requestCounts?.completed, errors: record.requestCounts?.failed };
  for (const [kind, fileId] of [
    ["output", record.outputFileId],
    ["errors", record.errorFileId],
  ] as const) {
    const target = join(runDir, resultsFile(record, kind));
    if (!fileId) {
      await rm(target, { force: true });
      continue;
    }
    const tmp = `${target}.tmp`;
    for (let tries = 1; ; tries++) {
      const problem = await downloadOnce(client, fileId, tmp, expected[kind]);
      if (!problem) break;
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
}

/** One try: what was wrong with it, or nothing if the file is whole. */
async function downloadOnce(
  client: OpenAI,
  fileId: string,
  tmp: string,
  want: number | undefined,
): Promise<string | undefined> {
  const response = await call(client, `downloading ${fileId}`, () => client.files.content(fileId));
  try {
    await pipeline(
      Readable.fromWeb(response.body as any),
      freedAsTheyGo,
      createWriteStream(tmp, { fd: openFresh(tmp) }),
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).syscall) throw error; // the disk, not the connection
    return `the connection was cut (${(error as Error).message})`;
  }
  crashPoint("during-download");
  const lines = await countLines(tmp);
  return want !== undefined && lines < want
    ? `it came with ${lines} lines, the batch reported ${want}`
    : undefined;
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
