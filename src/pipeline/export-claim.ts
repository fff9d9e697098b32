// While a run appends to an output, a claim beside it (`out.csv.synthai-export`) says whose rows
// start where. An export that dies leaves its claim; whoever writes the file next (under the
// output's lock, so the dead one is not writing) takes the dead export's partial rows away and
// drops the claim. A run that resumes its own unfinished export then truncates only if its claim
// is still there: without it, the rows after its old offset are someone else's.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { truncate } from "node:fs/promises";
import { sizeOf } from "../io/disk.ts";
import { loadManifest, type Manifest } from "../run/manifest.ts";
import { writeFileAtomic } from "../io/disk.ts";

export interface Claim {
  run: string;
  runDir: string;
  csvOffset: number;
  metricsFile: string | undefined;
  metricsOffset: number;
}

const claimPath = (output: string) => `${output}.synthai-export`;

export function readClaim(output: string): Claim | undefined {
  try {
    return JSON.parse(readFileSync(claimPath(output), "utf8")) as Claim;
  } catch {
    return undefined; // none, or torn by a crash while written: a torn claim was never acted on
  }
}

export function writeClaim(output: string, claim: Claim): void {
  writeFileAtomic(claimPath(output), JSON.stringify(claim));
}

export function dropClaim(output: string): void {
  rmSync(claimPath(output), { force: true });
}

/**
 * Another run's claim on `output`, left by an export that died: its partial rows are taken away
 * if its manifest still says that export is unfinished (a claim left just after the export was
 * recorded done protects nothing), then the claim goes.
 */
export async function settleOthersClaim(output: string, manifest: Manifest): Promise<void> {
  const claim = readClaim(output);
  if (!claim || claim.run === manifest.id) return;
  let unfinished = false;
  if (existsSync(claim.runDir)) {
    try {
      const theirs = (await loadManifest(claim.runDir)).exports?.find((e) => e.csvFile === output);
      unfinished = Boolean(theirs && !theirs.done && theirs.csvOffset === claim.csvOffset);
    } catch {
      unfinished = false; // a manifest that cannot be read says nothing: rows are left, never cut
    }
  }
  if (unfinished) {
    await truncateTo(output, claim.csvOffset);
    if (claim.metricsFile) await truncateTo(claim.metricsFile, claim.metricsOffset);
  }
  dropClaim(output);
}

export async function truncateTo(path: string, size: number): Promise<void> {
  if ((sizeOf(path) ?? -1) > size) await truncate(path, size);
}
