// A newcomer's first hour: waiting that can be made short, messages that name what is meant.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { PARAMS, onlyRunDir, readManifest, runCli, tempDir, useFake } from "./helpers.ts";

const server = useFake();

describe("--poll-interval wherever synthai waits on batches", () => {
  test("export --dedup semantic takes it for its embeddings' batches, and the run records it", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    // Made without a batch to wait for, with a look every hour recorded in the run.
    const made = await runCli(
      ["-n", "4", "-j", PARAMS, "--base-url", url, "--mode", "sync", "--poll-interval", "3600"],
      { cwd },
    );
    expect(made.code, made.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    const { id } = await readManifest(runDir);
    const semantic = await runCli(
      ["export", id, "-p", "s.csv", "--dedup", "semantic", "--poll-interval", "0.02", "--base-url", url],
      { cwd },
    );
    expect(semantic.code, semantic.stderr).toBe(0);
    expect(server.fake.batches.map((b) => b.batch.endpoint)).toEqual(["/v1/embeddings"]);
    expect((await readManifest(runDir)).config.pollIntervalSeconds).toBe(0.02);
    const bad = await runCli(["export", id, "--poll-interval", "soon"], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --poll-interval/m);
  });
});
