import { createHash } from "node:crypto";
import {
  closeSync,
  constants as fsConstants,
  createReadStream,
  fsyncSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  writeSync,
} from "node:fs";
import { pipeline } from "node:stream/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { EXIT, UserError } from "../errors.ts";
import { access, constants, mkdir, open, stat, type FileHandle } from "node:fs/promises";

/** A --runs-dir that exists must be a folder; one that does not is made with the first run. */
export function checkRunsDir(runsDir: string): void {
  const stat = statOf(runsDir);
  if (stat && !stat.isDirectory())
    throw new UserError(
      `--runs-dir ${runsDir} is a file, not a folder`,
      "pass a folder (it is made if it does not exist)",
    );
}

/** Stops before a build that would fill the disk; `--yes` goes on anyway. */
export function checkDiskSpace(runsDir: string, bytes: number): void {
  const free = freeBytes(runsDir);
  if (free === undefined || bytes <= free * 0.9) return;
  throw new UserError(
    `the request files of this run would ` +
      `take about ${formatBytes(bytes)}, and ${runsDir} has ${formatBytes(free)} free`,
    "ask for fewer samples with -n, pass --runs-dir on a bigger disk, or --yes to build anyway",
  );
}

/** Free bytes on the disk of `path`, or of its nearest folder that exists. */
function freeBytes(path: string): number | undefined {
  for (let at = path; ; at = dirname(at)) {
    if (statOf(at)?.isDirectory()) {
      try {
        const fs = statfsSync(at);
        return fs.bavail * fs.bsize;
      } catch {
        return undefined;
      }
    }
    if (dirname(at) === at) return undefined;
  }
}

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) [value, unit] = [value / 1000, unit + 1];
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toPrecision(3)} ${units[unit]}`;
}

/**
 * An output to append to or make: a file, writable, in a folder that exists. A missing folder is
 * bad input (2); a file or folder the disk will not let synthai write is the disk refusing (7).
 */
export async function checkWritable(path: string): Promise<void> {
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    throw new UserError(`output ${path} is a folder`, "give the output a file name, e.g. dataset.csv");
  const refused = await writeRefusal(path);
  if (refused === "ENOENT") {
    const folder = dirname(path);
    if (!(await stat(folder).catch(() => undefined))?.isDirectory())
      throw new UserError(`cannot create ${path}: its folder does not exist`, "choose another output");
    const folderRefused = await writeRefusal(folder);
    if (folderRefused)
      throw new UserError(
        `cannot create ${path}: its folder ${refusalText(folderRefused)}`,
        "choose another output, or fix its permissions",
        EXIT.DISK,
      );
  } else if (refused)
    throw new UserError(
      `cannot write to ${path}: it ${refusalText(refused)}`,
      "choose another output, or fix its permissions",
      EXIT.DISK,
    );
}

/**
 * Makes a folder and those above it (`shown` is what the user named, where it is made beside it).
 * A recursive mkdir says ENOENT when the disk refused (a read-only one), so the refusal is named
 * from the nearest folder above that exists.
 */
export async function makeFolder(path: string, shown = path): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    let above = dirname(path);
    while (!(await stat(above).catch(() => undefined)) && dirname(above) !== above) above = dirname(above);
    const refused = (await writeRefusal(above)) ?? (error as NodeJS.ErrnoException).code ?? "an error";
    throw new UserError(
      `cannot make ${shown}: ${above} ${refusalText(refused)}`,
      "choose another folder, or fix its permissions",
      EXIT.DISK,
    );
  }
}

/** Why the disk will not let this process write `path` (an errno code), or undefined if it will. */
const writeRefusal = (path: string) =>
  access(path, constants.W_OK).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? "EACCES",
  );

function refusalText(code: string): string {
  if (code === "EROFS") return "is on a read-only disk";
  if (code === "EACCES" || code === "EPERM") return "is not writable (permissions)";
  return `cannot be written (${code})`;
}

/** A file's size in bytes; undefined when it does not exist. */
export function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Ends a text file's last line where it has no line end (as editors may save it): a line
 * appended after it would be glued to it. A file that is missing or empty is left as it is.
 */
export function endLastLine(path: string): void {
  const size = sizeOf(path);
  if (!size) return;
  const fd = openSync(path, "r+");
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 0x0a) writeSync(fd, "\n", size);
  } finally {
    closeSync(fd);
  }
}

/** A file's SHA-256, streamed: how synthai tells a file the run was made from has changed. */
export async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

// A run folder may come from someone else (shared, downloaded): any of its files may be a link
// to one of the user's. Every write into it goes through the helpers below, which never follow
// a link: a file written afresh replaces whatever is at its name (a link goes, its target is
// untouched), a file appended to that is a link is refused.
const { O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_RDONLY } = fsConstants;

/** Opens a file for reading, refusing a link (ELOOP): for a run folder's own files. */
export const READ_NO_LINK = O_RDONLY | O_NOFOLLOW;

/** A run folder's file opened to read (a file descriptor); a link there is refused in one line. */
export function openToRead(path: string): number {
  try {
    return openSync(path, READ_NO_LINK);
  } catch (error) {
    throw linkRefused(error, path);
  }
}

/** A new, empty file at `path`, opened for writing: whatever was at that name (a link, an old file) is removed first. */
export function openFresh(path: string): number {
  rmSync(path, { force: true });
  // O_EXCL fails on anything made at that name since, a link included.
  return openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
}

/** A run folder's file opened to append to; a link there is refused in one line. */
export async function openToAppend(path: string): Promise<FileHandle> {
  try {
    return await open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o644);
  } catch (error) {
    throw linkRefused(error, path);
  }
}

/** ELOOP from an O_NOFOLLOW open, said as what it is; any other error as it is. */
export function linkRefused(error: unknown, path: string, wayOut = REMOVE_LINK): unknown {
  return (error as NodeJS.ErrnoException).code === "ELOOP"
    ? new UserError(`${path} is a link, and synthai never follows a link in a run folder`, wayOut)
    : error;
}

const REMOVE_LINK =
  "remove the link, or restore the run folder from a backup; nothing was written through it";

/**
 * Writes a file so that a crash leaves the old or the new content, never a torn one, and never
 * through a link (a link at `path` is replaced). `sync: false` leaves it to the system when the
 * content reaches the disk: a killed process still finds it, a machine that lost power may find
 * the old content.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array, { sync = true } = {}): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openFresh(tmp);
  try {
    writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // rename replaces a link at `path` itself, never its target.
  renameSync(tmp, path);
}

/**
 * Runs `use` with a folder of its own in the system's temp folder, removed after whatever
 * happens: for a copy an upload needs that must never be left in the run folder by a kill.
 */
export async function withTempDir<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
