// The build step of a run: the request files written, or the rest of them, each recorded as soon as it is complete.
import { buildRequests, chunkSize, fileLimits, type BuildOptions, type Built } from "./build.ts";
import { checkRunFiles, noteFiles } from "../run/files.ts";
import { progress } from "../io/log.ts";
import { crashPoint, type Manifest } from "../run/manifest.ts";
import type { Params } from "../dataset/params.ts";
import type { RunContext } from "./context.ts";
import { buildLookup, lookupFiles } from "./cached.ts";

/**
 * Builds the request files, or the rest of them: chunks a killed build finished (their files
 * as they were written) are kept, and the build goes on from the first unfinished one. Each
 * request is looked up in the cache of answers as it is built, unless `lookUp` is false (a pilot
 * first keeps answers the batch then finds: its requests are looked up after it).
 */
export async function build(
  run: RunContext,
  params: Params,
  onPrompt?: BuildOptions["onPrompt"],
  lookUp = true,
): Promise<void> {
  const { config, log } = run;
  const lookup = lookUp ? buildLookup(run) : undefined;
  const kept = await builtChunks(run.dir, run.manifest);
  run.store.updateLocal((manifest) => {
    manifest.state = "building";
    manifest.chunks = manifest.chunks.slice(0, kept);
    manifest.batches = manifest.batches.filter((b) => b.chunk < kept);
  });
  const last = run.manifest.chunks.at(-1);
  const first = last ? last.firstSample + last.samples : 0;
  if (kept) log(`keeping the ${kept} file(s) already built; building from sample ${first + 1}`);
  await buildRequests(run.dir, config, params, run.dataset, {
    stream: run.manifest.version,
    range: { first, count: config.samples - first, firstChunk: kept },
    perChunk: chunkSize(config.samples, config.batches, fileLimits(config).requests),
    onChunk: (chunk, record, sums) => {
      run.store.updateLocal((manifest) =>
        recordBuilt(run.dir, manifest, { chunks: [chunk], batches: [record], sums }),
      );
      lookup?.recorded(record);
      crashPoint("after-chunk");
    },
    onProgress: (done) => progress(log, `building requests: ${first + done}/${config.samples}`, "build"),
    ...(onPrompt ? { onPrompt } : {}),
    ...(lookup ? { lookup } : {}),
  });
  crashPoint("during-build");
  run.store.updateLocal((manifest) => (manifest.state = "running"));
  log(`built ${config.samples} requests in ${run.manifest.chunks.length} file(s)`);
}

/** How many of the chunks the manifest records still have their files as written. */
async function builtChunks(runDir: string, manifest: Manifest): Promise<number> {
  let kept = 0;
  for (const chunk of manifest.chunks) {
    const record = manifest.batches.find((b) => b.chunk === chunk.index && b.attempt === 1 && !b.stage)!;
    try {
      await checkRunFiles(runDir, manifest, [chunk.drawsFile, record.requestsFile, ...lookupFiles(record)]);
    } catch {
      break;
    }
    kept++;
  }
  return kept;
}

/** The change that records chunks whose files are written: their first batches, and the files' sizes and sums. */
export function recordBuilt(runDir: string, manifest: Manifest, built: Built): void {
  manifest.chunks.push(...built.chunks);
  manifest.batches.push(...built.batches);
  noteFiles(
    runDir,
    manifest,
    [
      ...built.chunks.map((c) => c.drawsFile),
      ...built.batches.flatMap((b) => [b.requestsFile, ...lookupFiles(b)]),
    ],
    built.sums,
  );
}
