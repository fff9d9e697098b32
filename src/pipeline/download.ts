// A finished batch's files: downloaded whole and checked, then deleted from the account.
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import type OpenAI from "openai";
import { call } from "../api/client.ts";
import { readLines } from "../io/jsonl.ts";
import { crashPoint, ensureDir, type BatchRecord } from "../run/manifest.ts";
import { resultsFile } from "../run/files.ts";

/**
 * Downloads a batch's output and error files (either may be absent) to a temp name, checks
 * their line counts against the batch's request_counts, then renames them into place.
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
      const response = await call(client, `downloading ${fileId}`, () => client.files.content(fileId));
      await pipeline(Readable.fromWeb(response.body as any), createWriteStream(tmp));
      crashPoint("during-download");
      const lines = await countLines(tmp);
      const want = expected[kind];
      if (want === undefined || lines >= want) break;
      if (tries >= 2) {
        log(
          `warning: ${fileId} has ${lines} lines, the batch reported ${want}; the missing samples will be asked again`,
        );
        break;
      }
    }
    await rename(tmp, target);
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
          `warning: could not delete remote file ${fileId} (${(error as Error).message.split("\n")[0]}); \`synthai gc\` can remove it later`,
        );
    }
  }
}
