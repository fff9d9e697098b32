// While a run appends to an output, a claim beside it (`out.csv.synthai-export`) says whose rows
// start where. An export that dies leaves its claim; whoever writes the file next (under the
// output's lock, so the dead one is not writing) takes the dead export's partial rows away and
// drops the claim. A run that resumes its own unfinished export then truncates only if its claim
// is still there: without it, the rows after its old offset are someone else's.
// A claim is only ever trusted about the output it sits beside: one that names any other file
// (a crafted one would have an export truncate it) is refused.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { truncate } from "node:fs/promises";
import { resolve } from "node:path";
import { UserError } from "../errors.ts";
import { READ_NO_LINK, sizeOf, writeFileAtomic } from "../io/disk.ts";
import { loadManifest, type Manifest } from "../run/manifest.ts";

export interface Claim {
  run: string;
  runDir: string;
  csvOffset: number;
  metricsFile: string | undefined;
  metricsOffset: number;
}

const claimPath = (output: string) => `${output}.synthai-export`;

/** `dataset.csv` → `dataset_metrics.csv`, as the seed names it; `out.jsonl` → `out_metrics.jsonl`. */
export function metricsPathFor(output: string): string {
  return /\.[A-Za-z0-9]+$/.test(output)
    ? output.replace(/(\.[A-Za-z0-9]+)$/, "_metrics$1")
    : `${output}_metrics.csv`;
}

export function readClaim(output: string): Claim | undefined {
  let text: string;
  try {
    text = readFileSync(claimPath(output), { encoding: "utf8", flag: READ_NO_LINK });
  } catch {
    return undefined; // none, or a link, which synthai never made and never reads
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // torn by a crash while written: a torn claim was never acted on
  }
  if (isClaimOn(output, value)) return value;
  throw new UserError(
    `${claimPath(output)} is not a claim synthai wrote on ${output}: it names another file or is malformed`,
    `remove it (this export holds ${output}'s lock, so no export is writing there); nothing was changed`,
  );
}

/** Whether `value` is a claim on `output`: offsets that are offsets, and no file but the output's metrics named. */
export function isClaimOn(output: string, value: unknown): value is Claim {
  const claim = value as Partial<Claim> | null;
  const offset = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  return (
    typeof claim === "object" &&
    claim !== null &&
    typeof claim.run === "string" &&
    typeof claim.runDir === "string" &&
    offset(claim.csvOffset) &&
    offset(claim.metricsOffset) &&
    (claim.metricsFile === undefined || resolve(claim.metricsFile) === resolve(metricsPathFor(output)))
  );
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
      const manifest = await loadManifest(claim.runDir);
      const theirs = manifest.exports?.find((e) => e.csvFile === output);
      unfinished = Boolean(
        manifest.id === claim.run &&
        theirs &&
        !theirs.done &&
        theirs.csvOffset === claim.csvOffset &&
        theirs.metricsFile === claim.metricsFile &&
        (theirs.metricsOffset ?? 0) === claim.metricsOffset,
      );
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
