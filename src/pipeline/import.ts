import { hash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { JsonlWriter, readJsonl, readLines } from "../io/jsonl.ts";
import type { Log } from "../io/log.ts";
import { ensureDir, sentOf, type BatchRecord, type Manifest } from "../run/manifest.ts";
import { ManifestStore } from "../run/store.ts";
import { RunContext } from "./context.ts";
import { stop } from "./drive.ts";
import { refuseAbandoned } from "./abandon.ts";
import { runDataset } from "../dataset/spec.ts";
import { resultsFile } from "../run/files.ts";
import { collect } from "./collect.ts";
import { buildNextStages } from "./stages.ts";
import { providerFor } from "../api/providers/index.ts";
import { finish } from "./finish.ts";
import { customIdOf, parseResultLine } from "./verdict.ts";

const IMPORT_HINT = "give the output JSONL written from this run's request files";

/**
 * `synthai import`: takes answers produced elsewhere from this run's own request files (vLLM's
 * batch runner reads and writes the Batch-API format) and collects them as if the Batch API had
 * returned them. What is still unanswered, or must be asked again, is listed by request file.
 */
export async function importResults(
  runDir: string,
  resultsPath: string,
  options: { log: Log },
): Promise<Manifest> {
  if (!existsSync(resultsPath))
    throw new UserError(`results file ${resultsPath} does not exist`, IMPORT_HINT);
  return ManifestStore.locked(runDir, async (store) => {
    const { manifest } = store;
    refuseAbandoned(manifest);
    refuseInFlight(manifest);
    const run = new RunContext(store, await runDataset(manifest.config, manifest.id), options.log);
    const { routed, ignored, again } = await routeImported(run, resultsPath);
    options.log(
      `imported ${routed} answers` +
        (again ? `; ${again} lines were answers an earlier import took, and were left out` : "") +
        (ignored ? `; ${ignored} lines matched no request waiting for an answer and were left out` : ""),
    );
    for (const record of manifest.batches.filter((b) => b.step === "finished")) await collect(run, record);
    // With stages, what was collected makes the next stage's request files: the next to run elsewhere.
    await buildNextStages(run);
    const open = manifest.batches.filter((b) => b.step !== "collected");
    if (open.length === 0) {
      // What an earlier import said was missing is no longer so.
      store.updateLocal((manifest) => void delete manifest.reason);
      return finish(run);
    }
    // A service that runs its batches elsewhere (vLLM's run-batch) is given the files, not resumed.
    const { runsOffline } = providerFor(manifest.config.provider);
    return stop(
      run,
      `${open.reduce((s, b) => s + b.requests, 0)} requests still ` +
        `need an answer: ${open.map((b) => b.requestsFile).join(", ")}`,
      "",
      runsOffline &&
        `Run each of those files where it runs, then \`synthai import ${manifest.id} <its output>\``,
    );
  });
}

/** A run with batches on a service is `resume`'s to collect: its answers are not imported. */
function refuseInFlight(manifest: Manifest): void {
  const inFlight = manifest.batches.filter((b) => b.step === "submitted");
  if (inFlight.length)
    throw new UserError(
      `run ${manifest.id} has ${inFlight.length} batch(es) in flight on the service (${inFlight.map((b) => b.batchId).join(", ")})`,
      `\`synthai resume ${manifest.id}\` collects them; import takes answers to request files run elsewhere`,
    );
}

/**
 * A results line's custom_id. A line that is not a Batch-API result (a torn last line, another
 * file) is bad input, said before anything is collected: it is never taken for an answer not yet come.
 */
function resultIdOf(line: string, path: string, lineNumber: number): string {
  const id = (parseResultLine(line) as { custom_id?: unknown } | undefined)?.custom_id;
  if (typeof id === "string") return id;
  throw new UserError(
    `${path}: line ${lineNumber} is not a Batch-API result (a JSON object with a custom_id)`,
    IMPORT_HINT,
  );
}

/**
 * The lines an earlier import (or batch) gave the requests now open: the answers their earlier
 * attempts were judged on. A file imported again, or the first run's answers with the follow-up's
 * appended, holds them; taken again, an old malformed answer would spend an attempt, and win over
 * the new answer after it.
 */
async function answeredBefore(run: RunContext, open: Map<string, BatchRecord>): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const record of run.manifest.batches.filter((b) => b.step === "collected"))
    for (const kind of ["output", "errors"] as const) {
      const path = join(run.dir, resultsFile(record, kind));
      if (!existsSync(path)) continue;
      for await (const line of readLines(path)) {
        const id = customIdOf(line);
        if (id && open.has(id)) seen.add(lineHash(line));
      }
    }
  return seen;
}

const lineHash = (line: string) => hash("sha256", line);

/** Sends each imported line to the results file of the open attempt that asked for it. */
async function routeImported(
  run: RunContext,
  resultsPath: string,
): Promise<{ routed: number; ignored: number; again: number }> {
  const { manifest, dir: runDir } = run;
  const open = manifest.batches.filter((b) => b.step === "pending" || b.step === "uploaded");
  const recordOf = new Map<string, BatchRecord>();
  for (const record of open)
    // What the cache did not answer: the file that was run elsewhere.
    for await (const request of readJsonl<{ custom_id: string }>(join(runDir, sentOf(record).file)))
      recordOf.set(request.custom_id, record);
  const before = await answeredBefore(run, recordOf);
  await ensureDir(join(runDir, "results"));
  const writers = new Map<string, JsonlWriter>();
  const counts = new Map<BatchRecord, { completed: number; failed: number }>();
  let routed = 0;
  let ignored = 0;
  let again = 0;
  let lineNumber = 0;
  try {
    for await (const line of readLines(resultsPath)) {
      lineNumber++;
      const id = resultIdOf(line, resultsPath, lineNumber);
      const record = recordOf.get(id);
      if (!record) {
        ignored++;
        continue;
      }
      if (before.size && before.has(lineHash(line))) {
        again++;
        continue;
      }
      recordOf.delete(id);
      const ok = /"status_code"\s*:\s*200\b/.test(line);
      const file = resultsFile(record, ok ? "output" : "errors");
      if (!writers.has(file)) writers.set(file, new JsonlWriter(join(runDir, file)));
      writers.get(file)!.writeLine(line);
      const c = counts.get(record) ?? { completed: 0, failed: 0 };
      c[ok ? "completed" : "failed"]++;
      counts.set(record, c);
      routed++;
    }
  } finally {
    for (const writer of writers.values()) writer.close();
  }
  if (lineNumber === 0) throw new UserError(`results file ${resultsPath} holds no answer`, IMPORT_HINT);
  const now = Math.floor(Date.now() / 1000);
  run.store.update(() => {
    for (const [record, c] of counts)
      Object.assign(record, {
        step: "finished",
        status: "completed",
        batchId: "import",
        createdAt: record.createdAt ?? now,
        finishedAt: now,
        requestCounts: { total: record.requests, ...c },
      });
  });
  return { routed, ignored, again };
}
