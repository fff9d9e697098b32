// The one home of a run's manifest on disk: it is read under the run's lock, and every change to
// it goes through `update`, applied and written as one atomic replace of manifest.json.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../io/disk.ts";
import { lockWithin, signalHolder, tryLock } from "../io/lock.ts";
import { loadManifest, MANIFEST, sealedManifest, type Manifest } from "./manifest.ts";

export class ManifestStore {
  /** The run folder. */
  readonly dir: string;
  /** The manifest as last written: read it freely, change it only inside `update`. */
  readonly manifest: Manifest;

  private constructor(dir: string, manifest: Manifest) {
    this.dir = dir;
    this.manifest = manifest;
  }

  /** A new run's manifest, written before anything else goes into its folder. */
  static create(dir: string, manifest: Manifest): ManifestStore {
    const store = new ManifestStore(dir, manifest);
    store.write();
    return store;
  }

  /**
   * Applies one change and writes the manifest at once, so a crash finds it from before the
   * change or after it, whole. The change may return what it made.
   */
  update<T>(change: (manifest: Manifest) => T): T {
    const result = change(this.manifest);
    this.write();
    return result;
  }

  /**
   * As `update`, without waiting for the disk: for what the run folder alone can do again (a
   * build's progress, a judging, a poll's news, an export's end). A killed process leaves it
   * whole all the same; a machine that loses power may lose it, and the work is done again.
   * What the service did (an upload, a batch, a collected cost) goes through `update`, which
   * waits: 24 waits took 79 ms of a 1,000-sample run's 3.1 s (BENCHMARKS.md).
   */
  updateLocal<T>(change: (manifest: Manifest) => T): T {
    const result = change(this.manifest);
    this.write({ sync: false });
    return result;
  }

  /**
   * Runs `work`; if it fails, the manifest goes back to what it said before, on disk too, but for
   * `kept`: what says how files outside the run now stand (an output's rows, taken away or not).
   */
  async undoingOnFailure<T>(work: () => Promise<T>, kept: (keyof Manifest)[] = []): Promise<T> {
    const before = JSON.stringify(this.manifest);
    try {
      return await work();
    } catch (error) {
      this.update((manifest) => {
        const now = Object.fromEntries(kept.map((key) => [key, manifest[key]]));
        for (const key of Object.keys(manifest)) delete (manifest as Record<string, unknown>)[key];
        Object.assign(manifest, JSON.parse(before), JSON.parse(JSON.stringify(now)));
      });
      throw error;
    }
  }

  private write(options?: { sync: boolean }): void {
    writeFileAtomic(join(this.dir, MANIFEST), sealedManifest(this.manifest), options);
  }

  /**
   * Holds a run's lock while `work` runs on its manifest. The manifest is read under the lock: one
   * read before it could be stale by the time the lock is had (another process finished the run).
   */
  static async locked<T>(dir: string, work: (store: ManifestStore) => Promise<T>): Promise<T> {
    // A folder that is no run is said so (by loadManifest) before a lock is left in it.
    if (!existsSync(join(dir, MANIFEST))) await loadManifest(dir);
    await holdPoint("before-lock");
    const unlock = lockRun(dir);
    try {
      return await work(new ManifestStore(dir, await loadManifest(dir)));
    } finally {
      unlock();
    }
  }

  /**
   * As `locked`, for a look that may be skipped (`status`): when another process holds the run's
   * lock, nothing is read or written, and its pid is returned instead.
   */
  static async lockedIfFree<T>(
    dir: string,
    work: (store: ManifestStore) => Promise<T>,
  ): Promise<{ done: T } | { holder: number }> {
    const lock = tryLock(join(dir, ".lock"));
    if ("holder" in lock) return { holder: lock.holder };
    try {
      return { done: await work(new ManifestStore(dir, await loadManifest(dir))) };
    } finally {
      lock.release();
    }
  }
}

/** Only one process drives a run; a lock left by a dead process is taken over. */
export function lockRun(runDir: string): () => void {
  const lock = tryLock(join(runDir, ".lock"));
  if ("holder" in lock)
    throw new UserError(
      `run ${runDir} is being driven by process ${lock.holder}`,
      "wait for it, or stop that process first",
    );
  return lock.release;
}

/** How long `cancel` and `abandon` wait for a driver to reach a safe point and let the run go. */
const STOP_WAIT_MS = 60_000;

/**
 * For `cancel` and `abandon`: a process driving the run (a terminal left open, a cron job) is
 * stopped as Ctrl-C would stop it, at its next safe point; this returns once its lock has come
 * free. Only the process the lock names by pid and start time is signalled, and only so long
 * is waited: a bare pid may be anyone's process by now, and a driver may not stop.
 */
export async function stopDriver(
  runDir: string,
  log: (line: string) => void,
  waitMs = STOP_WAIT_MS,
): Promise<void> {
  const path = join(runDir, ".lock");
  const lock = tryLock(path);
  if ("release" in lock) return lock.release();
  const pid = lock.holder;
  if (!signalHolder({ pid, startTime: lock.startTime }, "SIGINT")) {
    const again = tryLock(path); // it may have ended just now
    if ("release" in again) return again.release();
    throw new UserError(
      `run ${runDir} is locked by process ${pid}, and its lock does not show that process drives the run`,
      `if it does, stop it (Ctrl-C where it runs); if not, remove ${path}; then run this command again`,
    );
  }
  log(`run is being driven by process ${pid}: stopping it first, once what it is sending is recorded`);
  const release = await lockWithin(path, waitMs);
  if (!release)
    throw new UserError(
      `process ${pid} still drives run ${runDir} after ${waitMs / 1000} s`,
      `run this command again once it has stopped, or stop it now with \`kill ${pid}\` ` +
        "(what it was sending is found again from the run folder)",
    );
  release();
}

/**
 * Test-only: SYNTHAI_HOLD_AT=<point>:<file> makes the process stop at <point>, say so by writing
 * <file>.reached, and go on once <file> exists — so a test can put another process in between.
 */
export async function holdPoint(point: string): Promise<void> {
  const [at, file] = (process.env.SYNTHAI_HOLD_AT ?? "").split(/:(.*)/s);
  if (at !== point || !file) return;
  writeFileSync(`${file}.reached`, String(process.pid));
  while (!existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 10));
}
