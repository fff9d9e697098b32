// A finished batch's answers, written into the run folder by its service (whole, checked, with
// their SHA-256), and what it left on the service deleted once they are collected.
import { join } from "node:path";
import type { BatchService } from "../api/batch-service.ts";
import type { Log } from "../io/log.ts";
import { ensureDir, type BatchRecord } from "../run/manifest.ts";
import { resultsFile, type Sums } from "../run/files.ts";
import { remoteOf } from "./wait.ts";

/** Downloads a batch's output and error files into place (either may be absent); their checksums by path. */
export async function downloadResults(
  service: BatchService,
  runDir: string,
  record: BatchRecord,
): Promise<Sums> {
  await ensureDir(join(runDir, "results"));
  const paths = { output: resultsFile(record, "output"), errors: resultsFile(record, "errors") };
  const written = await service.results(remoteOf(record), {
    output: join(runDir, paths.output),
    errors: join(runDir, paths.errors),
  });
  const sums: Sums = {};
  for (const kind of ["output", "errors"] as const) {
    const sha256 = written[kind]?.sha256;
    if (sha256) sums[paths[kind]] = sha256;
  }
  return sums;
}

/** Deletes a collected batch's input, output and error files from the account; their content is on disk. */
export async function deleteRemoteFiles(service: BatchService, record: BatchRecord, log: Log): Promise<void> {
  const refs = [record.fileId, record.outputFileId, record.errorFileId].filter((r): r is string =>
    Boolean(r),
  );
  for (const warning of await service.remove(refs, record.batchId)) log(warning);
}
