// `npm run bench`: measures synthai's stages on this machine against minimal baselines and
// prints the table recorded in BENCHMARKS.md. Each stage runs in a process of its own, whose
// peak RSS and CPU time it reports itself (bench/rss.ts). BENCH_SIZES=10000,100000 for a quick run.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { costTable, stageCosts } from "./judged-costs.ts";
import { startupTable } from "./startup.ts";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const ENTRY = here("../bin/synthai");
const PARAMS = here("../params.json");
const RSS = here("./rss.ts");
// synthai runs as users run it: through its launcher, bin/synthai (its Node flags and compile
// cache); bench/rss.ts is preloaded through NODE_OPTIONS. The baselines run with plain `node`.
const SYNTHAI = [ENTRY];
// And as someone may run it by hand on Node 24, with no launcher: it then sets its flags itself.
const BY_HAND = here("../src/synthai.ts");
const sizes = (process.env.BENCH_SIZES ?? "100000,1000000").split(",").map(Number);
const pipelineSize = Number(process.env.BENCH_PIPELINE ?? 1_000_000);

interface Measure {
  stage: string;
  samples: number;
  seconds: number;
  maxRssMb: number;
  cpuSeconds: number;
}

// `cpu`: compare CPU seconds, not wall-clock ones (the pipeline's wall clock is mostly the
// fake server's simulated waiting, and the server's own work).
const rows: { m: Measure; baseline?: Measure; cpu?: boolean }[] = [];
const work = await mkdtemp(join(tmpdir(), "synthai-bench-"));

async function measure(
  stage: string,
  samples: number,
  args: string[],
  env: Record<string, string> = {},
): Promise<Measure> {
  const report = join(work, `report-${Math.random().toString(36).slice(2)}.jsonl`);
  // Each stage starts with the page cache written back, as a real one does: a run's answers
  // are collected hours after its build. Otherwise the gigabytes the previous stage wrote are
  // written back to disk while this one runs, and slow it by a quarter at 1,000,000.
  spawnSync("sync");
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    // The launcher runs on this Node (24) whatever `node` the PATH has first, as npm scripts run it.
    const synthai = args[0] === ENTRY;
    // The baselines load their modules from a compile cache too, as synthai does (by hand, its own).
    const preload = synthai
      ? { NODE_OPTIONS: `--import=${pathToFileURL(RSS)}` }
      : args[0] === BY_HAND
        ? {}
        : { NODE_COMPILE_CACHE: join(work, "baseline-cache") };
    const child = spawn(process.execPath, synthai ? args : ["--import", RSS, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...env, ...preload, BENCH_REPORT: report },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    child.on("close", (c) => {
      if (c !== 0) process.stderr.write(stderr);
      resolve(c);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${stage} exited with ${code}`);
  const { maxRssKb, cpuSeconds } = JSON.parse((await readFile(report, "utf8")).trim().split("\n").at(-1)!);
  const m = { stage, samples, seconds, maxRssMb: maxRssKb / 1024, cpuSeconds };
  process.stderr.write(`  ${stage} ${samples}: ${seconds.toFixed(1)} s, ${m.maxRssMb.toFixed(0)} MB\n`);
  return m;
}

async function onlyRun(runsDir: string): Promise<string> {
  const [id] = await readdir(runsDir);
  return join(runsDir, id!);
}

/** A dry-run build of `samples` requests by `synthai`, through the launcher or by hand. */
function dryRun(stage: string, samples: number, synthai: string[], runsDir: string, output: string) {
  return measure(stage, samples, [
    ...synthai,
    "generate",
    "-n",
    String(samples),
    "-b",
    "1",
    "-j",
    PARAMS,
    "--seed",
    "1",
    "--dry-run",
    "--runs-dir",
    runsDir,
    "-p",
    output,
  ]);
}

/** Builds `samples` requests, answers them all (bench/make-outputs.ts) and exports them. */
async function buildAndCollect(
  samples: number,
): Promise<{ build: Measure; collect: Measure; exported: Measure; runDir: string }> {
  const dir = join(work, `s${samples}`);
  const runsDir = join(dir, "runs");
  await mkdir(dir, { recursive: true });
  const build = await dryRun("build", samples, SYNTHAI, runsDir, join(dir, "out.csv"));
  const runDir = await onlyRun(runsDir);
  await measure("prepare outputs", samples, [here("./make-outputs.ts"), runDir, join(dir, "out.csv")]);
  const exportTo = (file: string) => [
    ...SYNTHAI,
    "export",
    runDir.split("/").at(-1)!,
    "--runs-dir",
    runsDir,
    "-p",
    join(dir, file),
  ];
  // The first export judges every answer (as collecting the batches does); the next one reads
  // the judged samples back, as every export after it does.
  const collect = await measure("collect", samples, exportTo("out.csv"));
  const exported = await measure("export", samples, exportTo("again.csv"));
  return { build, collect, exported, runDir };
}

/** The build from an input file of `samples` rows through a prompt file: its memory must not grow with the rows. */
async function buildFromInput(samples: number): Promise<Measure> {
  const dir = join(work, `input${samples}`);
  await mkdir(dir, { recursive: true });
  const words = "billing account refund password app crash invoice plan tariff meter support delivery".split(
    " ",
  );
  const lines = ["id,customer,text"];
  const csv = createWriteStream(join(dir, "rows.csv"));
  for (let i = 0; i < samples; i++) {
    lines.push(
      `${i},C${i % 977},"${Array.from({ length: 20 }, (_, w) => words[(i * 7 + w * 13) % words.length]).join(" ")}"`,
    );
    if (lines.length >= 10_000) csv.write(`${lines.splice(0).join("\n")}\n`);
  }
  csv.end(`${lines.join("\n")}\n`);
  await once(csv, "finish");
  await writeFile(
    join(dir, "p.md"),
    '---\nfields: [Label]\n---\nLabel this ticket from {{customer}}: "{{text}}". Write [Label] first.\n',
  );
  const m = await measure("build from --input", samples, [
    ENTRY,
    "generate",
    "--input",
    join(dir, "rows.csv"),
    "--prompt",
    join(dir, "p.md"),
    "--dry-run",
    "--runs-dir",
    join(dir, "runs"),
    "-p",
    join(dir, "out.csv"),
  ]);
  await rm(dir, { recursive: true, force: true });
  return m;
}

async function pipeline(samples: number, baseURL: string, byHand = false): Promise<Measure> {
  const dir = join(work, `pipeline${samples}${byHand ? "-by-hand" : ""}`);
  await mkdir(dir, { recursive: true });
  const m = await measure(
    byHand ? "pipeline, node src/synthai.ts" : "pipeline",
    samples,
    [
      ...(byHand ? [BY_HAND] : SYNTHAI),
      "generate",
      "-n",
      String(samples),
      "-b",
      "4",
      "-j",
      PARAMS,
      "--seed",
      "1",
      "--runs-dir",
      join(dir, "runs"),
      "-p",
      join(dir, "out.csv"),
      "--base-url",
      baseURL,
      "--poll-interval",
      "0.5",
      // A first run, as users make it (the cache of answers on), into a cache of its own: the
      // second pipeline would otherwise be answered from the first's.
      "--cache-dir",
      join(dir, "cache"),
    ],
    { OPENAI_API_KEY: "bench-key" },
  );
  // The launcher's run folder is exported afterwards; the one run by hand is only measured.
  if (byHand) await rm(dir, { recursive: true, force: true });
  return m;
}

// The headline job: a million judged, kept samples (BENCH_JUDGED=20000 for a quick run).
const judgedSize = Number(process.env.BENCH_JUDGED ?? 1_000_000);
const JUDGED = here("../examples/judged-calls");
const judgedCosts: string[] = [];
const startup: string[] = [];

/**
 * The three vendors' fakes as a process of their own; `url` is OpenAI's once they listen, `env`
 * the other vendors' addresses and keys, as a run that names a Claude or Gemini model reads them.
 */
async function startFake(): Promise<{ url: string; env: Record<string, string>; stop: () => void }> {
  // The fake keeps every file it is sent in memory, the baseline's too (it deletes none): several GB
  // of heap holds a 1,000,000-sample pipeline and its baseline.
  const server = spawn(process.execPath, ["--max-old-space-size=8192", here("./fake-server.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const first = await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next();
  const urls = JSON.parse(first.value as string) as Record<"openai" | "anthropic" | "gemini", string>;
  const env = {
    ANTHROPIC_BASE_URL: urls.anthropic,
    ANTHROPIC_API_KEY: "bench-key",
    GOOGLE_GEMINI_BASE_URL: urls.gemini,
    GEMINI_API_KEY: "bench-key",
  };
  return { url: urls.openai, env, stop: () => server.kill() };
}

/**
 * The judged pipeline (examples/judged-calls: written by one model, judged by another that keeps
 * Score >= 2, the weak ones rewritten) with --fill, so that `samples` are kept; against a fake of
 * its own, whose memory then holds only this run's files. Each stage's cost per kept sample,
 * against its floor, goes to `judgedCosts`.
 */
async function judgedPipeline(samples: number): Promise<Measure> {
  const dir = join(work, `judged${samples}`);
  await mkdir(dir, { recursive: true });
  const fake = await startFake();
  try {
    const prompts = ["write.md", "judge.md", "rewrite.md"].flatMap((file) => [
      "--prompt",
      join(JUDGED, file),
    ]);
    const m = await measure(
      "pipeline, judged (write, judge, rewrite, --fill)",
      samples,
      [
        ...SYNTHAI,
        "generate",
        ...prompts,
        ...["-n", String(samples), "--fill", "-b", "4", "-j", join(JUDGED, "params.json"), "--seed", "1"],
        ...["--runs-dir", join(dir, "runs"), "-p", join(dir, "out.csv"), "--base-url", fake.url],
        ...["--poll-interval", "0.5", "--cache-dir", join(dir, "cache")],
      ],
      { OPENAI_API_KEY: "bench-key", ...fake.env },
    );
    judgedCosts.push(...costTable(await stageCosts(await onlyRun(join(dir, "runs")))));
    return m;
  } finally {
    fake.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const cachedSize = Number(process.env.BENCH_CACHED ?? 100_000);

/**
 * The cache of answers: a run against the fake fills a cache of its own (its CPU against the same
 * run with --no-cache), then the same command (same seed, a new output) runs entirely from the
 * cache; it is compared with a plain export of the first run.
 */
async function cachedRerun(samples: number, baseURL: string): Promise<Record<string, Measure>> {
  const dir = join(work, `cached${samples}`);
  await mkdir(dir, { recursive: true });
  const run = (output: string, runs = "runs") => [
    ...SYNTHAI,
    "generate",
    ...["-n", String(samples), "-b", "4", "-j", PARAMS, "--seed", "1", "--runs-dir", join(dir, runs)],
    ...["-p", join(dir, output), "--base-url", baseURL, "--poll-interval", "0.5"],
    ...["--cache-dir", join(dir, "cache")],
  ];
  const env = { OPENAI_API_KEY: "bench-key" };
  const filling = await measure("pipeline, filling the cache", samples, run("first.csv"), env);
  const firstId = (await onlyRun(join(dir, "runs"))).split("/").at(-1)!;
  const noCache = await measure(
    "pipeline, --no-cache",
    samples,
    [...run("plain-run.csv", "runs-no-cache"), "--no-cache"],
    env,
  );
  const rerun = await measure("rerun from the cache", samples, run("again.csv"), env);
  const exported = await measure("export", samples, [
    ...SYNTHAI,
    ...["export", firstId, "--runs-dir", join(dir, "runs"), "-p", join(dir, "plain.csv")],
  ]);
  await rm(dir, { recursive: true, force: true });
  return { filling, noCache, rerun, exported };
}

// The fake keeps every file it is sent in memory, the baseline's too (it deletes none): several GB
// of heap holds a 1,000,000-sample pipeline and its baseline.
const server = await startFake();
try {
  const baseURL = server.url;
  // The first run after installing or changing synthai compiles its modules into the compile
  // cache its launcher names (~/.cache/synthai); every later run starts from there. So does
  // the benchmark: a small run of each stage warms the cache first.
  process.stderr.write("warm-up, 100 samples\n");
  const warm = await buildAndCollect(100);
  await pipeline(100, baseURL);
  await measure("build baseline", 100, [here("./baseline-build.ts"), "100", join(work, "warm.jsonl")]);
  await measure("collect baseline", 100, [
    here("./baseline-collect.ts"),
    warm.runDir,
    join(work, "warm.csv"),
  ]);
  await mkdir(join(work, "warm-pipeline"));
  await measure(
    "pipeline baseline",
    100,
    [here("./baseline-pipeline.ts"), "100", join(work, "warm-pipeline"), baseURL],
    {
      OPENAI_API_KEY: "bench-key",
    },
  );

  for (const samples of sizes) {
    process.stderr.write(`build and collect, ${samples} samples\n`);
    const { build, collect, exported, runDir } = await buildAndCollect(samples);
    const buildBase = await measure("build baseline", samples, [
      here("./baseline-build.ts"),
      String(samples),
      join(work, "baseline.jsonl"),
    ]);
    const collectBase = await measure("collect baseline", samples, [
      here("./baseline-collect.ts"),
      runDir,
      join(work, "baseline.csv"),
    ]);
    const rawLoop = await measure("raw loop (parse, one row)", samples, [
      here("./baseline-raw-collect.ts"),
      join(runDir, "results"),
      join(work, "raw.csv"),
    ]);
    rows.push(
      { m: build, baseline: buildBase },
      { m: collect, baseline: collectBase },
      { m: exported, baseline: collectBase },
      { m: rawLoop },
    );
    await rm(join(work, `s${samples}`), { recursive: true, force: true });
    rows.push({ m: await buildFromInput(samples) });
  }
  const byHand = join(work, "by-hand");
  const largest = sizes.at(-1)!;
  const output = join(byHand, "out.csv");
  await mkdir(byHand);
  rows.push({
    m: await dryRun("build, node src/synthai.ts", largest, [BY_HAND], join(byHand, "runs"), output),
  });
  await rm(byHand, { recursive: true, force: true });

  process.stderr.write(`full pipeline, ${pipelineSize} samples against the fake server\n`);
  const full = await pipeline(pipelineSize, baseURL);
  const pipelineDir = join(work, "pipeline-baseline");
  await mkdir(pipelineDir, { recursive: true });
  const fullBase = await measure(
    "pipeline baseline",
    pipelineSize,
    [here("./baseline-pipeline.ts"), String(pipelineSize), pipelineDir, baseURL],
    { OPENAI_API_KEY: "bench-key" },
  );
  rows.push({ m: full, baseline: fullBase, cpu: true });
  rows.push({ m: await pipeline(pipelineSize, baseURL, true), cpu: true });

  // Near de-duplication of the whole run, against a plain export of the same run folder.
  process.stderr.write(`export and export --dedup near, ${pipelineSize} samples\n`);
  const fullRuns = join(work, `pipeline${pipelineSize}`, "runs");
  const fullId = (await onlyRun(fullRuns)).split("/").at(-1)!;
  const exportArgs = (file: string) => [
    ...SYNTHAI,
    "export",
    fullId,
    "--runs-dir",
    fullRuns,
    "-p",
    join(work, file),
  ];
  const plainExport = await measure("export", pipelineSize, exportArgs("plain.csv"));
  const nearExport = await measure("export --dedup near", pipelineSize, [
    ...exportArgs("near.csv"),
    "--dedup",
    "near",
  ]);
  rows.push({ m: nearExport, baseline: plainExport });

  process.stderr.write(`judged pipeline, ${judgedSize} kept samples against the fake server\n`);
  rows.push({ m: await judgedPipeline(judgedSize), cpu: true });

  process.stderr.write(`a rerun from the cache of answers, ${cachedSize} samples\n`);
  const cached = await cachedRerun(cachedSize, baseURL!);
  rows.push({ m: cached.filling!, baseline: cached.noCache!, cpu: true });
  rows.push({ m: cached.rerun!, baseline: cached.exported! });

  process.stderr.write("start-up, against node -e 0 on each Node of the PATH\n");
  startup.push(...startupTable(ENTRY, fullRuns, work));
} finally {
  server.stop();
}
await rm(work, { recursive: true, force: true });

const seconds = (m: Measure, cpu?: boolean) => (cpu ? m.cpuSeconds : m.seconds);
const rate = (m: Measure, cpu?: boolean) => m.samples / seconds(m, cpu);
const line = (m: Measure, cpu: boolean | undefined, ratio: string) =>
  `| ${m.stage} | ${m.samples} | ${seconds(m, cpu).toFixed(1)}${cpu ? " (CPU)" : ""} | ${rate(m, cpu).toFixed(0)} | ${m.maxRssMb.toFixed(0)} | ${ratio} |`;
const table = [
  "| stage | samples | seconds | samples/s | peak RSS (MB) | ratio to baseline |",
  "| --- | ---: | ---: | ---: | ---: | --- |",
  ...rows.flatMap(({ m, baseline, cpu }, i) =>
    baseline
      ? [
          line(m, cpu, (rate(m, cpu) / rate(baseline, cpu)).toFixed(2)),
          // A baseline two stages share is printed once, after the second.
          ...(rows[i + 1]?.baseline === baseline ? [] : [line(baseline, cpu, "1.00")]),
        ]
      : [line(m, cpu, "")],
  ),
];
console.log(table.join("\n"));
console.log(
  [
    "",
    `The judged pipeline's cost per kept sample (${judgedSize} kept; the floor: every drawn sample's first valid answer of every stage, at batch price, cached prompt tokens at the cached price; the fake's token counts and the catalogue's prices):`,
    "",
    ...judgedCosts,
    "",
    "Start-up: each command through bin/synthai against `node -e 0` on the same Node, run in turn; the ratio is taken pair by pair:",
    "",
    ...startup,
  ].join("\n"),
);
