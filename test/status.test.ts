import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { tryLock } from "../src/io/lock.ts";
import { PARAMS, expectOneLineError, onlyRunDir, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();

/** A run submitted and left (--detach): nobody drives it. */
async function detachedRun() {
  const url = await server.start();
  const cwd = await tempDir();
  const made = await runCli(["-n", "4", "-j", PARAMS, "--base-url", url, "--detach"], { cwd });
  expect(made.code, made.stderr).toBe(0);
  const runDir = await onlyRunDir(cwd);
  return { url, cwd, runDir, id: (await readManifest(runDir)).id as string };
}

const batchStatus = async (runDir: string) => (await readManifest(runDir)).batches[0].status as string;

describe("status <run-id> of a run nobody drives", () => {
  test("asks the service, records what it says, and stays under way (5) until resume collects", async () => {
    const { url, cwd, runDir, id } = await detachedRun();
    expect(await batchStatus(runDir)).toBe("validating");
    const seen: string[] = [];
    for (let look = 0; look < 30 && seen.at(-1) !== "completed"; look++) {
      const status = await runCli(["status", id], { cwd });
      expect(status.code, status.stderr).toBe(5);
      // What the service said is in the manifest, and shown.
      seen.push(await batchStatus(runDir));
      expect(status.stdout).toContain(` ${seen.at(-1)} `);
      if (seen.at(-1) === "completed")
        expect(status.stderr).toContain(`ended on the service: \`synthai resume ${id}\` collects them`);
    }
    expect(seen).toContain("in_progress");
    expect(seen.at(-1)).toBe("completed");
    // Every later look says it again, though the service has nothing new to tell.
    const again = await runCli(["status", id], { cwd });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(`ended on the service: \`synthai resume ${id}\` collects them`);
    // Nothing was collected or fetched: only the batch was looked at.
    expect((await readManifest(runDir)).batches[0].collected).toBeUndefined();
    expect(server.fake.batches).toHaveLength(1);
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = await runCli(["status", id], { cwd });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toBe("");
  });

  test("export of a run whose answers are not collected yet exits 6, saying resume collects them", async () => {
    const { cwd, id } = await detachedRun();
    const exported = await runCli(["export", id, "-p", "early.csv"], { cwd });
    expect(exported.code).toBe(6);
    expectOneLineError(
      exported.stderr,
      new RegExp(
        `run ${id} has no valid sample collected yet to export — \`synthai resume ${id}\` collects its batches`,
      ),
    );
  });

  test("without a key, or the service out of reach, it shows the run as last recorded and says so in one line", async () => {
    const { cwd, runDir, id } = await detachedRun();
    const before = await readFile(join(runDir, "manifest.json"), "utf8");
    const polls = server.fake.batches[0]!.polls;
    const status = await runCli(["status", id], { cwd, env: { OPENAI_API_KEY: undefined } });
    expect(status.code).toBe(5);
    expect(status.stdout).toContain(" validating ");
    expect(status.stderr.trim().split("\n")).toHaveLength(1);
    expect(status.stderr).toMatch(
      new RegExp(
        `shown as recorded at .* UTC, without asking OpenAI: set OPENAI_API_KEY .*synthai resume ${id}`,
      ),
    );
    expect(server.fake.batches[0]!.polls).toBe(polls);
    expect(await readFile(join(runDir, "manifest.json"), "utf8")).toBe(before);
    // Given with -k (and the address with --base-url), the key is used and never shown.
    const keyed = await runCli(["status", id, "-k", "test-key"], { cwd, env: { OPENAI_API_KEY: undefined } });
    expect(keyed.code).toBe(5);
    expect(server.fake.batches[0]!.polls).toBe(polls + 1);
    expect(keyed.stdout + keyed.stderr).not.toContain("test-key");
    // A service that cannot be reached leaves the run as recorded, and says so in one line.
    await server.fake.stop();
    const unreachable = await runCli(["status", id], { cwd });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr.trim().split("\n")).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/^batches shown as recorded at .* UTC: cannot reach the API at /);
  });

  test("a run another process holds the lock of is not asked about: its driver does that", async () => {
    const { cwd, runDir, id } = await detachedRun();
    const polls = server.fake.batches[0]!.polls;
    const lock = tryLock(join(runDir, ".lock"));
    if (!("release" in lock)) throw new Error("the run's lock is held");
    try {
      const status = await runCli(["status", id], { cwd });
      expect(status.code).toBe(5);
      expect(status.stderr).toContain(`run is driven by process ${process.pid}: batches shown as recorded`);
      expect(server.fake.batches[0]!.polls).toBe(polls);
    } finally {
      lock.release();
    }
  });
});
