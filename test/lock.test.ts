import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, test } from "vitest";
import { isAlive, tryLock, waitForLock } from "../src/io/lock.ts";
import { stopDriver } from "../src/run/store.ts";
import { ROOT, tempDir } from "./helpers.ts";

/** A process that has exited but that its parent has not reaped: `sh` execs into a `sleep` that never waits for it. */
async function zombie(): Promise<{ pid: number; parent: ChildProcessWithoutNullStreams }> {
  const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 60"]);
  const [line] = await once(createInterface({ input: parent.stdout }), "line");
  const pid = Number(line);
  // Wait until the kernel shows it as a zombie (state Z), as after `kill -9` in a container.
  while (!/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")))
    await new Promise((resolve) => setImmediate(resolve));
  return { pid, parent };
}

/** Starts a process that takes the lock at `path` when told to. */
async function taker(path: string) {
  const child = spawn(process.execPath, [join(ROOT, "test", "fixtures", "take-lock.ts"), path]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  expect((await lines.next()).value).toBe("ready");
  return { child, lines };
}

describe("run lock", () => {
  test("a zombie (killed, not yet reaped) is not alive: its lock is taken over", async () => {
    const { pid, parent } = await zombie();
    try {
      expect(isAlive({ pid })).toBe(false);
      const dir = await tempDir();
      writeFileSync(join(dir, ".lock"), String(pid));
      const lock = tryLock(join(dir, ".lock"));
      expect("release" in lock).toBe(true);
      expect(readFileSync(join(dir, ".lock"), "utf8")).toMatch(new RegExp(`^${process.pid}\\b`));
    } finally {
      parent.kill("SIGKILL");
    }
  });

  test("a live process keeps its lock; a pid reused by another process does not", async () => {
    const dir = await tempDir();
    const path = join(dir, ".lock");
    const sleeper = spawn("sleep", ["60"]);
    try {
      writeFileSync(path, String(sleeper.pid));
      expect(tryLock(path)).toEqual({ holder: sleeper.pid });
      // Same pid, another start time: the process that wrote it is gone.
      writeFileSync(path, `${sleeper.pid} 1`);
      expect("release" in tryLock(path)).toBe(true);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  test("three processes taking over a dead owner's lock at once: exactly one wins, every time", async () => {
    const dir = await tempDir();
    for (let round = 0; round < 20; round++) {
      const path = join(dir, `round${round}.lock`);
      writeFileSync(path, "2147483646");
      const takers = await Promise.all([1, 2, 3].map(() => taker(path)));
      for (const { child } of takers) child.stdin.write("go\n");
      const answers = await Promise.all(
        takers.map(async ({ lines }) => (await lines.next()).value as string),
      );
      for (const { child } of takers) child.stdin.end();
      await Promise.all(takers.map(({ child }) => once(child, "close")));
      expect(answers.filter((a) => a === "got")).toHaveLength(1);
      expect(answers.filter((a) => a.startsWith("refused "))).toHaveLength(2);
    }
  });

  test("waitForLock waits for the holder to let go", async () => {
    const dir = await tempDir();
    const path = join(dir, "out.csv.lock");
    const { child, lines } = await taker(path);
    child.stdin.write("go\n");
    expect((await lines.next()).value).toBe("got");
    const waited: number[] = [];
    const waiting = waitForLock(path, (holder) => {
      waited.push(holder);
      child.stdin.end();
    });
    const release = await waiting;
    expect(waited).toEqual([child.pid]);
    release();
  });

  test("a stop signals the process the lock names, waits a bounded time, then says in one line what to do", async () => {
    const dir = await tempDir();
    const { child, lines } = await taker(join(dir, ".lock"));
    child.stdin.write("go\n");
    expect((await lines.next()).value).toBe("got");
    const told: string[] = [];
    // The taker says "SIGINT" and holds on: a driver that does not stop.
    const error = await stopDriver(dir, (line) => told.push(line), 100).catch((e) => e);
    expect(error.toLine()).toMatch(
      new RegExp(`^error: process ${child.pid} still drives run .+ — .*\`kill ${child.pid}\``),
    );
    expect((await lines.next()).value).toBe("SIGINT");
    expect(told).toEqual([expect.stringContaining(`driven by process ${child.pid}`)]);
    child.stdin.end();
    await once(child, "close");
  });
});
