// A disk that fills while an export writes: the export fails in one line, takes its partial rows
// away, and the same export run again (as the message says) writes every row once, beside the rows
// that were there before it. The disk is a double: the output's writes fail once it holds a limit.
import { readFileSync, existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { EXIT, UserError, exportRun } from "../src/index.ts";
import { OLD_RUN, copyOldRun, readCsv, tempDir } from "./helpers.ts";

/**
 * The output whose writes fail past `limit` bytes, as a full disk fails them (ENOSPC); and a folder
 * on a read-only disk, as Node reports it (access: EROFS; a recursive mkdir: ENOENT).
 */
const disk = vi.hoisted(() => ({
  full: undefined as { path: string; limit: number } | undefined,
  readOnly: undefined as string | undefined,
}));

vi.mock("node:fs/promises", async (original) => {
  const fs = await original<typeof import("node:fs/promises")>();
  const under = (path: unknown) => disk.readOnly !== undefined && String(path).startsWith(disk.readOnly);
  const refused = (code: string, call: string, path: unknown) =>
    Promise.reject(Object.assign(new Error(`${code}: refused, ${call} '${path}'`), { code }));
  const access = ((path: string, mode?: number) =>
    under(path) && mode === fs.constants.W_OK
      ? fs.access(path).then(() => refused("EROFS", "access", path)) // a missing file is ENOENT first
      : fs.access(path, mode)) as typeof fs.access;
  const mkdir = ((path: string, options?: unknown) =>
    under(path) ? refused("ENOENT", "mkdir", path) : fs.mkdir(path, options as never)) as typeof fs.mkdir;
  return { ...fs, default: { ...fs, access, mkdir }, access, mkdir };
});

vi.mock("node:fs", async (original) => {
  const fs = await original<typeof import("node:fs")>();
  const pathOf = new Map<number, string>();
  const openSync = ((path: string, ...rest: unknown[]) => {
    const fd = (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
    pathOf.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  const writeSync = ((fd: number, buffer: Uint8Array, offset?: number | null, length?: number | null) => {
    const full = disk.full;
    if (full && pathOf.get(fd) === full.path) {
      const at = offset ?? 0;
      const room = full.limit - fs.fstatSync(fd).size;
      const wanted = length ?? buffer.length - at;
      if (room <= 0)
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return fs.writeSync(fd, buffer, at, Math.min(room, wanted));
    }
    return (fs.writeSync as (...args: unknown[]) => number)(fd, buffer, offset, length);
  }) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, openSync, writeSync }, openSync, writeSync };
});

afterEach(() => {
  disk.full = undefined;
  disk.readOnly = undefined;
});

async function exported(cwd: string, output: string) {
  return exportRun(OLD_RUN.id, { runsDir: join(cwd, "runs"), output, onLog: () => {} });
}

describe("a disk that fills while an export writes", () => {
  test("the export fails, takes its partial rows away, and the same export again writes each row once", async () => {
    const cwd = await tempDir();
    await copyOldRun(cwd);
    const output = join(cwd, "out.csv");
    await exported(cwd, output);
    const whole = readFileSync(output);
    // Exported again, on a disk with room for half of it: refused in one line, the file as it was before.
    disk.full = { path: output, limit: Math.floor(whole.length / 2) };
    await expect(exported(cwd, output)).rejects.toThrow(/ENOSPC/);
    expect(readFileSync(output).length).toBe(0);
    expect(existsSync(`${output}.synthai-export`)).toBe(false);
    disk.full = undefined;
    await exported(cwd, output);
    expect(readFileSync(output)).toEqual(whole);
  });

  test("after another run's rows, only this export's rows go, and the next one appends them once", async () => {
    const cwd = await tempDir();
    await copyOldRun(cwd);
    const output = join(cwd, "out.csv");
    await exported(cwd, join(cwd, "alone.csv"));
    const alone = await readCsv(join(cwd, "alone.csv"));
    // Rows of another run already in the file, in the same columns.
    const header = readFileSync(join(cwd, "alone.csv"), "utf8").split("\n")[0];
    const theirs = `${header}\n${Object.keys(alone[0]!)
      .map((c) => (c === "index" ? "0" : "x"))
      .join(",")}\n`;
    await writeFile(output, theirs);
    disk.full = { path: output, limit: theirs.length + 300 };
    await expect(exported(cwd, output)).rejects.toThrow(/ENOSPC/);
    expect(readFileSync(output, "utf8")).toBe(theirs);
    disk.full = undefined;
    await exported(cwd, output);
    const rows = await readCsv(output);
    expect(rows).toHaveLength(1 + alone.length);
    expect(rows.slice(1).map((r) => r.sample_id)).toEqual(alone.map((r) => r.sample_id));
    expect(new Set(rows.map((r) => Object.keys(r).length)).size).toBe(1);
  });

  test("an output or Hugging Face folder on a read-only disk is the disk refusing (exit 7), named, before anything is written", async () => {
    const cwd = await tempDir();
    await copyOldRun(cwd);
    const output = join(cwd, "kept.csv");
    await exported(cwd, output);
    const before = readFileSync(output);
    disk.readOnly = cwd;
    const refusal = (made: Promise<unknown>) =>
      made.then(
        () => "not refused",
        (error: unknown) => (error instanceof UserError ? [error.exitCode, error.toLine()] : String(error)),
      );
    expect(await refusal(exported(cwd, output))).toEqual([
      EXIT.DISK,
      `error: cannot write to ${output}: it is on a read-only disk — choose another output, or fix its permissions`,
    ]);
    expect(await refusal(exported(cwd, join(cwd, "new.csv")))).toEqual([
      EXIT.DISK,
      `error: cannot create ${join(cwd, "new.csv")}: its folder is on a read-only disk — choose another output, or fix its permissions`,
    ]);
    const hf = join(cwd, "hf");
    expect(await refusal(exportRun(OLD_RUN.id, { runsDir: join(cwd, "runs"), hf, onLog: () => {} }))).toEqual(
      [
        EXIT.DISK,
        `error: cannot make ${hf}: ${cwd} is on a read-only disk — choose another folder, or fix its permissions`,
      ],
    );
    disk.readOnly = undefined;
    expect(readFileSync(output)).toEqual(before);
    expect(existsSync(join(cwd, "new.csv"))).toBe(false);
  });
});
