import { spawnSync } from "node:child_process";
import { linkSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "./disk.ts";

/**
 * An exclusive lock: a file holding its owner's pid and the process's start time, so a pid
 * reused by another process neither keeps a dead owner's lock nor is taken for its owner. The
 * file is written whole under a temporary name and linked into place, so nobody ever reads a
 * half-written one. A holder's `startTime` is there only when its lock named one.
 */
export type Lock = { release: () => void } | { holder: number; startTime?: string };

export function tryLock(path: string): Lock {
  for (let tries = 0; tries < 50; tries++) {
    if (createLockFile(path)) return { release: () => removeIfOurs(path) };
    const holder = readHolder(path);
    if (holder === undefined) continue; // released in the meantime: try again
    if (isAlive(holder))
      return { holder: holder.pid, ...(holder.startTime ? { startTime: holder.startTime } : {}) };
    takeOver(path, holder);
  }
  throw new UserError(`cannot take the lock ${path}`, "remove it if no synthai process is running");
}

/** Waits, as long as it takes, for a lock held by another live process; `onWait` is told once. */
export async function waitForLock(path: string, onWait: (holder: number) => void): Promise<() => void> {
  return (await lockWithin(path, Infinity, onWait))!;
}

/** As `waitForLock`, for at most `ms` milliseconds: undefined if the holder kept it that long. */
export async function lockWithin(
  path: string,
  ms: number,
  onWait: (holder: number) => void = () => {},
): Promise<(() => void) | undefined> {
  const deadline = Date.now() + ms;
  let told = false;
  for (let delay = 20; ; delay = Math.min(500, delay * 2)) {
    const lock = tryLock(path);
    if ("release" in lock) return lock.release;
    if (!told) onWait(lock.holder);
    told = true;
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
  }
}

/**
 * Sends `signal` to a lock's holder only if the lock names that very process: its pid and the
 * start time it has now. A bare pid (an older synthai's lock, or one written by hand) could be
 * any process by now, so it is never signalled: false, and nothing is sent.
 */
export function signalHolder(holder: { pid: number; startTime?: string }, signal: NodeJS.Signals): boolean {
  if (!holder.startTime || holder.pid === process.pid) return false;
  if (holder.startTime !== processStartTime(holder.pid) || !isAlive(holder)) return false;
  try {
    process.kill(holder.pid, signal);
    return true;
  } catch {
    return false; // gone in the meantime, or another user's: not ours to stop
  }
}

interface Holder {
  pid: number;
  startTime?: string;
  text: string;
}

let own: string | undefined; // asked once: without /proc, it costs a `ps`
function ownContent(): string {
  if (own === undefined) {
    const startTime = processStartTime(process.pid);
    own = startTime ? `${process.pid} ${startTime}` : String(process.pid);
  }
  return own;
}

/** Links a complete lock file into place; false if one is there already. */
function createLockFile(path: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileAtomic(tmp, ownContent(), { sync: false }); // never through a link left at that name
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

function readHolder(path: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Anything but "<pid>" or "<pid> <start time>" is no lock synthai wrote: it names no process.
  const [, pid, startTime] = /^(\d+)(?: (\S+))?\s*$/.exec(text) ?? [];
  return { pid: Number(pid) || 0, ...(startTime ? { startTime } : {}), text };
}

/**
 * Removes a dead owner's lock. Only one process at a time may do so, under a second lock: two
 * that both saw the dead owner would otherwise each remove the lock, the second one the lock
 * the first had just taken, and both would go on holding it.
 */
function takeOver(path: string, dead: Holder): void {
  const guard = `${path}.takeover`;
  if (!createLockFile(guard)) {
    // A taker that died inside these few lines leaves its guard behind: it is old at once.
    const guardHolder = readHolder(guard);
    if (guardHolder && !isAlive(guardHolder)) removeIf(guard, guardHolder.text);
    else if (guardHolder && Date.now() - mtimeOf(guard) > 10_000) removeIf(guard, guardHolder.text);
    pause(5);
    return;
  }
  try {
    removeIf(path, dead.text);
  } finally {
    removeIf(guard, ownContent());
  }
}

/** Removes the file if it still says `text` (another process may have replaced it). */
function removeIf(path: string, text: string): void {
  try {
    if (readFileSync(path, "utf8") === text) unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

function removeIfOurs(path: string): void {
  removeIf(path, ownContent());
}

/** Alive, and not a zombie: a killed process whose parent has not reaped it yet is dead. */
export function isAlive(holder: { pid: number; startTime?: string }): boolean {
  const { pid } = holder;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid)
    return holder.startTime !== undefined && holder.startTime === processStartTime(pid);
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = procStat(pid);
  if (stat === null) return false;
  if (stat?.state === "Z" || stat?.state === "X") return false;
  if (holder.startTime === undefined) return true;
  // Without /proc (macOS), `ps` tells the start time; without either (Windows), signal 0 is all there is.
  const startTime = stat ? stat.startTime : psStartTime(pid);
  return startTime === undefined || holder.startTime === startTime;
}

/** /proc/<pid>/stat's state and start time; undefined without /proc, null for no such process. */
function procStat(pid: number): { state: string; startTime: string } | null | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return hasProc() ? null : undefined;
    return undefined;
  }
  // The command name, in parentheses, may hold spaces: the fields start after its last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "", startTime: fields[19] ?? "" };
}

function processStartTime(pid: number): string | undefined {
  const stat = procStat(pid);
  return stat === undefined ? psStartTime(pid) : stat?.startTime || undefined;
}

/** Where there is no /proc: `ps -o lstart=` as one word (Mon_Dec_7_05:17:45_2026); undefined without ps. */
function psStartTime(pid: number): string | undefined {
  // ps prints local time: one zone and locale for every process that reads it.
  const env = { ...process.env, TZ: "UTC", LC_ALL: "C" };
  const ps = spawnSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8", env });
  const words = ps.status === 0 ? ps.stdout.trim().split(/\s+/).join("_") : "";
  return words || undefined;
}

let procMounted: boolean | undefined;
function hasProc(): boolean {
  procMounted ??= (() => {
    try {
      return statSync(`/proc/${process.pid}`).isDirectory();
    } catch {
      return false;
    }
  })();
  return procMounted;
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
