import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Two files share the cores: a test that takes 40 s alone on a busy machine may take twice that.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // A test file mostly waits on the CLI it started, so a file per core keeps every core busy
    // (vitest's default leaves one free: on two cores, one file at a time). Forks, not threads:
    // each file sets its own process.env (helpers.ts: XDG_CACHE_HOME, the fakes' addresses).
    pool: "forks",
    maxWorkers: availableParallelism(),
  },
});
