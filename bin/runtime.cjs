// How synthai's Node runs: the V8 flags and glibc malloc settings that keep a run of 1,000,000
// samples under 200 MB, and Node's compile cache. bin/synthai starts synthai with them;
// src/synthai.ts started by hand (`node src/synthai.ts generate …`) starts itself again with
// them. Plain CommonJS, so that any Node can load it.
"use strict";
const { homedir, tmpdir } = require("node:os");
const { join } = require("node:path");

// V8 flags that keep the heap small while synthai streams; what each buys in peak RSS at
// 1,000,000 samples is in BENCHMARKS.md (`npm run bench:tricks`). `--expose-gc` lets a download
// free its buffers as it goes (src/pipeline/download.ts), which keeps the pipeline under 200 MB.
const NODE_FLAGS = [
  "--max-semi-space-size=8",
  "--no-allocation-site-pretenuring",
  "--heap-growing-percent=30",
  "--expose-gc",
];

/** The environment synthai runs in: `env` with the settings below, where it sets none. */
function tunedEnv(env) {
  return {
    ...env,
    // glibc maps transfer buffers of 32 KB and more apart, so freed ones go back to the system
    // instead of fragmenting a heap that never shrinks (44 MB less in the pipeline); others ignore it.
    MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ || "32768",
    // The token counter's thread frees its memory into a malloc arena of its own, which glibc
    // keeps; with two arenas the main thread reuses it (pipeline peak 230 -> 191-204 MB).
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX || "2",
    // Node's compile cache: every run after the first loads modules without stripping types
    // again, and without the stripper's memory (18 MB more in a build at 1,000,000 without it).
    NODE_COMPILE_CACHE: env.NODE_COMPILE_CACHE || join(homeOrTemp(), ".cache", "synthai"),
    // Says the settings are made: synthai does not start itself again (`npm run bench:tricks`
    // sets it to measure synthai without one of them).
    SYNTHAI_TUNED: "1",
  };
}

function homeOrTemp() {
  try {
    return homedir() || tmpdir();
  } catch {
    return tmpdir();
  }
}

module.exports = { NODE_FLAGS, tunedEnv };
