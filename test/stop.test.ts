// `cancel` and `abandon` meeting the process that drives a run: a batch being created is named
// before the driver stops, what a killed driver made unnamed is found and cancelled, a lock that
// does not name its process exactly is never a target, and an abandoned run stays given up.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, test } from "vitest";
import {
  PARAMS,
  ROOT,
  expectOneLineError,
  fileAppears,
  onlyRunDir,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const fast = ["-j", PARAMS, "--poll-interval", "0.02"];

/** A run of 4 samples with its batch in flight on a fake whose batches take `pollsPerPhase` looks a phase. */
async function detachedRun(pollsPerPhase: number) {
  const url = await server.start({ pollsPerPhase });
  const cwd = await tempDir();
  const detached = await runCli(["-n", "4", "--detach", "--base-url", url, ...fast], { cwd });
  expect(detached.code, detached.stderr).toBe(0);
  return { url, cwd, id: detached.stdout.trim() };
}

/** The run's batches still running on the fake, and its files still there. */
function leftOnAccount(id: string) {
  return {
    running: server.fake.batches
      .map((b) => b.batch)
      .filter((b) => ["validating", "in_progress", "finalizing"].includes(b.status)),
    files: [...server.fake.files.values()].filter((f) => f.filename.startsWith(`synthai-${id}-`)),
  };
}

describe("abandon meets a batch being created", () => {
  test("the driver records the batch before it stops; abandon cancels it and deletes its files", async () => {
    // Batches that never finish on their own: whatever is running after abandon was left running.
    const url = await server.start({ pollsPerPhase: 1_000_000 });
    const cwd = await tempDir();
    const go = join(cwd, "go");
    // The driver holds right after the service made the batch, before the run has written it down.
    const driving = runCli(["-n", "4", "--base-url", url, ...fast], {
      cwd,
      env: { SYNTHAI_HOLD_AT: `after-create:${go}` },
    });
    await fileAppears(`${go}.reached`);
    const { id } = await readManifest(await onlyRunDir(cwd));
    let signalled: () => void;
    const driverSignalled = new Promise<void>((resolve) => (signalled = resolve));
    const abandoning = runCli(["abandon", id, "--base-url", url], {
      cwd,
      onStderr: (text) => /driven by process \d+: stopping it/.test(text) && signalled(),
    });
    await driverSignalled;
    await writeFile(go, "");
    const [driver, abandoned] = await Promise.all([driving, abandoning]);

    expect(abandoned.code, abandoned.stderr).toBe(0);
    expect(server.fake.batchesCreated).toBe(1);
    expect(leftOnAccount(id)).toEqual({ running: [], files: [] });
    expect(driver.code, driver.stderr).toBe(130);
    expect(driver.stderr).toContain("stopping once the batch being sent is recorded");
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.batches[0].batchId).toBe(server.fake.batches[0]!.batch.id);
    expect(manifest).toMatchObject({ state: "stopped", reason: "abandoned" });
  });

  test.each(["after-upload", "after-create"])(
    "a driver killed %s left its file or batch unnamed: abandon finds it, cancels it, deletes its files",
    async (point) => {
      const url = await server.start({ pollsPerPhase: 1_000_000 });
      const cwd = await tempDir();
      const killed = await runCli(["-n", "4", "--base-url", url, ...fast], {
        cwd,
        env: { SYNTHAI_CRASH_AT: point },
      });
      expect(killed.signal).toBe("SIGKILL");
      const { id, batches } = await readManifest(await onlyRunDir(cwd));
      expect(batches[0].batchId).toBeUndefined();
      expect(server.fake.batchesCreated).toBe(point === "after-create" ? 1 : 0);
      expect(server.fake.files.size).toBe(1);

      const abandoned = await runCli(["abandon", id, "--base-url", url], { cwd });
      expect(abandoned.code, abandoned.stderr).toBe(0);
      expect(leftOnAccount(id)).toEqual({ running: [], files: [] });
      expect(server.fake.batches.map((b) => b.batch.status)).toEqual(
        point === "after-create" ? ["cancelling"] : [],
      );
    },
  );
});

describe("cancel meets a batch a killed driver made", () => {
  test("it is found by its metadata, cancelled, and what it finished kept", async () => {
    const url = await server.start({ pollsPerPhase: 1_000_000 });
    const cwd = await tempDir();
    const killed = await runCli(["-n", "4", "--base-url", url, ...fast], {
      cwd,
      env: { SYNTHAI_CRASH_AT: "after-create" },
    });
    expect(killed.signal).toBe("SIGKILL");
    const { id } = await readManifest(await onlyRunDir(cwd));
    const cancelled = await runCli(["cancel", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(server.fake.batches.map((b) => b.batch.status)).toEqual(["cancelled"]);
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest.batches[0]).toMatchObject({
      batchId: server.fake.batches[0]!.batch.id,
      step: "collected",
    });
    expect(manifest.reason).toMatch(/^cancelled with \d+ valid samples/);
  });
});

describe("an abandoned run", () => {
  test("resume, cancel and import say in one line that it was abandoned and to start a new run", async () => {
    const { url, cwd, id } = await detachedRun(2);
    const abandoned = await runCli(["abandon", id, "--base-url", url], { cwd });
    expect(abandoned.code, abandoned.stderr).toBe(0);
    // An import would reopen it: its leftovers would then be sent by resume.
    await writeFile(join(cwd, "answers.jsonl"), "");
    for (const args of [
      ["resume", id, "--base-url", url],
      ["cancel", id, "--base-url", url],
      ["import", id, "answers.jsonl"],
    ]) {
      const again = await runCli(args, { cwd });
      expect(again.code, again.stderr).toBe(2);
      expectOneLineError(again.stderr, new RegExp(`run ${id} was abandoned: .* — start a new run`));
    }
    expect((await readManifest(await onlyRunDir(cwd))).reason).toBe("abandoned");
    // Its export, with nothing collected, points where resume's refusal does: not to resume.
    const exported = await runCli(["export", id, "-p", "left.csv"], { cwd });
    expect(exported.code).toBe(6);
    expectOneLineError(
      exported.stderr,
      new RegExp(
        `run ${id} was abandoned before a valid sample was collected: nothing to export — start a new run`,
      ),
    );
    expect(existsSync(join(cwd, "left.csv"))).toBe(false);
  });
});

describe("a lock that names no process exactly", () => {
  test("cancel and abandon never signal a bare pid's process, and return at once in one line", async () => {
    const { url, cwd, id } = await detachedRun(1_000_000);
    // A live process that is no synthai and ignores SIGINT (it says so if it gets one).
    const other = spawn(process.execPath, [join(ROOT, "test", "fixtures", "take-lock.ts"), "unused"]);
    const lines = createInterface({ input: other.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe("ready");
    try {
      // As an older synthai wrote it, or a shared folder carries it: a bare pid.
      await writeFile(join(await onlyRunDir(cwd), ".lock"), String(other.pid));
      for (const command of ["cancel", "abandon"]) {
        const refused = await runCli([command, id, "--base-url", url], { cwd });
        expect(refused.code, refused.stderr).toBe(2);
        expectOneLineError(
          refused.stderr,
          new RegExp(`locked by process ${other.pid}, and its lock does not show .* — .*remove \\S+\\.lock`),
        );
      }
    } finally {
      other.stdin.end();
    }
    const said: string[] = [];
    for await (const line of lines) said.push(line);
    expect(said).toEqual([]);
    // Nothing was cancelled or deleted behind the lock.
    expect(leftOnAccount(id).running).toHaveLength(1);
  });
});
