// The build step of a run: the request files written, or the rest of them, each recorded as soon as it is complete.
import { buildRequests, chunkSize, fileLimits } from "./build.ts";
import { checkRunFiles, noteFiles } from "../run/files.ts";
import { progress, type Log } from "../io/log.ts";
import { crashPoint, saveManifest, type BatchRecord, type Chunk, type Manifest } from "../run/manifest.ts";
import { type Dataset } from "../dataset/spec.ts";
import { type Params } from "../dataset/params.ts";

/**
 * Builds the request files, or the rest of them: chunks a killed build finished (their files
 * as they were written) are kept, and the build goes on from the first unfinished one.
 */
export async function build(
  runDir: string,
  manifest: Manifest,
  dataset: Dataset,
  log: Log,
  params: Params,
): Promise<void> {
  const { config } = manifest;
  manifest.state = "building";
  const kept = builtChunks(runDir, manifest);
  manifest.chunks = manifest.chunks.slice(0, kept);
  manifest.batches = manifest.batches.filter((b) => b.chunk < kept);
  saveManifest(runDir, manifest);
  const last = manifest.chunks.at(-1);
  const first = last ? last.firstSample + last.samples : 0;
  if (kept) log(`keeping the ${kept} file(s) already built; building from sample ${first + 1}`);
  await buildRequests(runDir, config, params, dataset, {
    stream: manifest.version,
    range: { first, count: config.samples - first, firstChunk: kept },
    perChunk: chunkSize(config.samples, config.batches, fileLimits(config).requests),
    onChunk: (chunk, record) => {
      manifest.chunks.push(chunk);
      manifest.batches.push(record);
      noteBuilt(runDir, manifest, { chunks: [chunk], batches: [record] });
      saveManifest(runDir, manifest);
      crashPoint("after-chunk");
    },
    onProgress: (done) => progress(log, `building requests: ${first + done}/${config.samples}`, "build"),
  });
  crashPoint("during-build");
  manifest.state = "running";
  saveManifest(runDir, manifest);
  log(`built ${config.samples} requests in ${manifest.chunks.length} file(s)`);
}

/** How many of the chunks the manifest records still have their files as written. */
function builtChunks(runDir: string, manifest: Manifest): number {
  let kept = 0;
  for (const chunk of manifest.chunks) {
    const record = manifest.batches.find((b) => b.chunk === chunk.index && b.attempt === 1 && !b.stage);
    try {
      checkRunFiles(runDir, manifest, [chunk.drawsFile, record!.requestsFile]);
    } catch {
      break;
    }
    kept++;
  }
  return kept;
}

export function noteBuilt(
  runDir: string,
  manifest: Manifest,
  built: { chunks: Chunk[]; batches: BatchRecord[] },
): void {
  noteFiles(runDir, manifest, [
    ...built.chunks.map((c) => c.drawsFile),
    ...built.batches.map((b) => b.requestsFile),
  ]);
}
