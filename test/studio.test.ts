// `synthai fake`: the fake service as a process of its own, for developing a dataset offline.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  ENTRY,
  ROOT,
  PARAMS,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();

describe("synthai fake", () => {
  test("stays up on loopback, prints its URL, takes a run, a detached run resumed, and stops on Ctrl-C", async () => {
    const fake = spawn(
      process.execPath,
      [ENTRY, "fake", "--port", "0", "--malformed-rate", "0.2", "--key", "k1"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    fake.stderr.on("data", (d) => (stderr += d));
    const [url] = (await once(createInterface({ input: fake.stdout }), "line")) as [string];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    try {
      const cwd = await tempDir();
      const env = { OPENAI_API_KEY: "k1", OPENAI_BASE_URL: url };
      const run = await runCli(["-n", "12", "-j", PARAMS, "-p", "out.csv", "--poll-interval", "0.02"], {
        cwd,
        env,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/re-requested/);
      expect(await readCsv(join(cwd, "out.csv"))).toHaveLength(12);
      // Batches progress over several looks, as the service's do: a detached run is still running.
      const other = await tempDir();
      const detached = await runCli(["-n", "5", "-j", PARAMS, "-p", "out.csv", "--detach"], {
        cwd: other,
        env,
      });
      expect(detached.code, detached.stderr).toBe(0);
      const status = await runCli(["status", detached.stdout.trim()], { cwd: other });
      expect(status.code).toBe(5);
      const resumed = await runCli(["resume", detached.stdout.trim(), "--poll-interval", "0.02"], {
        cwd: other,
        env,
      });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect((await readManifest(await onlyRunDir(other))).state).toBe("done");
      expect(stderr).toContain(`export OPENAI_BASE_URL=${url} OPENAI_API_KEY=k1`);
    } finally {
      fake.kill("SIGINT");
    }
    const [code] = await once(fake, "exit");
    expect(code).toBe(0);
  });

  test("a port in use is one line with the way out", async () => {
    const first = spawn(process.execPath, [ENTRY, "fake", "--port", "0"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const [url] = (await once(createInterface({ input: first.stdout }), "line")) as [string];
    try {
      const port = new URL(url).port;
      const second = await runCli(["fake", "--port", port], { cwd: await tempDir() });
      expect(second.code).toBe(2);
      expectOneLineError(
        second.stderr,
        /the fake service cannot listen: .*EADDRINUSE.* — another process has the port/,
      );
    } finally {
      first.kill("SIGINT");
    }
  });
});

describe("synthai abandon", () => {
  test("cancels what is in flight and deletes the run's remote files; --delete removes the folder", async () => {
    const url = await server.start({ pollsPerPhase: 1_000_000 });
    const cwd = await tempDir();
    const detached = await runCli(["-n", "8", "-b", "2", "-j", PARAMS, "--detach", "--base-url", url], {
      cwd,
    });
    expect(detached.code, detached.stderr).toBe(0);
    const id = detached.stdout.trim();
    const abandoned = await runCli(["abandon", id, "--base-url", url], { cwd });
    expect(abandoned.code, abandoned.stderr).toBe(0);
    expect(abandoned.stderr).toContain(`run ${id} abandoned; its folder stays`);
    for (const stored of server.fake.batches) {
      expect(stored.batch.status).toBe("cancelling");
      expect(server.fake.files.has(stored.batch.input_file_id)).toBe(false);
    }
    const manifest = await readManifest(await onlyRunDir(cwd));
    expect(manifest).toMatchObject({ state: "stopped", reason: "abandoned" });
    const gone = await runCli(["abandon", id, "--delete", "--base-url", url], { cwd });
    expect(gone.code, gone.stderr).toBe(0);
    expect(existsSync(join(cwd, "runs", id))).toBe(false);
  });
});

describe("the fake refuses what the service refuses", () => {
  test("a schema strict mode cannot take (an object left open) is refused at the first request, before any batch", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const spec = join(ROOT, "test", "fixtures", "open-schema-spec.ts");
    const result = await runCli(["--spec", spec, "-n", "4", "-j", PARAMS, "--base-url", url, "--yes"], {
      cwd,
    });
    expect(result.code).not.toBe(0);
    expectOneLineError(result.stderr, /additionalProperties' is required to be supplied and to be false/);
    expect(server.fake.batches).toHaveLength(0);
  });
});
