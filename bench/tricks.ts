// `npm run bench:tricks`: what each of synthai's Node tricks buys. The build and the collect
// (`synthai export`) at 1,000,000 samples and the whole pipeline at 200,000 (against the fake
// server, by CPU time, as `npm run bench` compares it) run with every trick, then once with each
// left out, then with every trick again (the control: how much the machine itself moved).
// BENCH_SIZES=100000 BENCH_PIPELINE=20000 for a quick run. A trick stays where it buys at
// least 10% of a stage's time or 30 MB of peak RSS.
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const NODE = process.execPath;
const ENTRY = here("../src/synthai.ts");
const PARAMS = here("../src/dataset/builtin/params.json");
const RSS = here("./rss.ts");
const samples = Number(process.env.BENCH_SIZES?.split(",").at(-1) ?? 1_000_000);
const pipelineSize = Number(process.env.BENCH_PIPELINE ?? 200_000);

// What bin/synthai passes (bin/runtime.cjs); each variant leaves one out.
const runtime: { NODE_FLAGS: string[]; tunedEnv: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv } =
  createRequire(import.meta.url)("../bin/runtime.cjs");
const FLAGS = runtime.NODE_FLAGS;
type Variant = { name: string; flags: string[]; malloc: boolean };
const variants: Variant[] = [
  { name: "all tricks", flags: FLAGS, malloc: true },
  ...FLAGS.map((flag) => ({
    name: `without ${flag.split("=")[0]}`,
    flags: FLAGS.filter((f) => f !== flag),
    malloc: true,
  })),
  { name: "without MALLOC_MMAP_THRESHOLD_ and MALLOC_ARENA_MAX", flags: FLAGS, malloc: false },
  { name: "all tricks again (control)", flags: FLAGS, malloc: true },
];

const work = await mkdtemp(join(tmpdir(), "synthai-tricks-"));
const cache = join(work, "compile-cache");

async function run(
  args: string[],
  variant: Variant,
): Promise<{ seconds: number; maxRssMb: number; cpuSeconds: number }> {
  const report = join(work, `report-${Math.random().toString(36).slice(2)}.jsonl`);
  spawnSync("sync");
  // SYNTHAI_TUNED (in tunedEnv) keeps the entry from starting again with every trick.
  const env: Record<string, string | undefined> = {
    ...runtime.tunedEnv(process.env),
    BENCH_REPORT: report,
    NODE_COMPILE_CACHE: cache,
    OPENAI_API_KEY: "bench",
  };
  if (!variant.malloc) {
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.MALLOC_ARENA_MAX;
  }
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(NODE, [...variant.flags, "--import", pathToFileURL(RSS).href, ENTRY, ...args], {
      stdio: ["ignore", "ignore", "inherit"],
      env,
    });
    child.on("close", resolve);
  });
  if (code !== 0) throw new Error(`synthai ${args[0]} exited with ${code}`);
  const seconds = (performance.now() - started) / 1000;
  const { maxRssKb, cpuSeconds } = JSON.parse((await readFile(report, "utf8")).trim().split("\n").at(-1)!);
  return { seconds, maxRssMb: maxRssKb / 1024, cpuSeconds };
}

const outputs = (dir: string) => ["--runs-dir", join(dir, "runs"), "-p", join(dir, "out.csv")];
const build = (dir: string) => [
  "generate",
  "-n",
  String(samples),
  "-j",
  PARAMS,
  "--seed",
  "1",
  "--dry-run",
  ...outputs(dir),
];

// One run folder with answers for every request, collected by each variant in turn.
const shared = join(work, "collect");
await mkdir(shared, { recursive: true });
await run(build(shared), variants[0]!);
const [id] = await readdir(join(shared, "runs"));
spawnSync(NODE, [here("./make-outputs.ts"), join(shared, "runs", id!), join(shared, "out.csv")], {
  stdio: "inherit",
});

// The fake OpenAI in a process of its own, as `npm run bench` runs it.
const server = spawn(NODE, [here("./fake-server.ts")], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, FAKE_API_KEY: "bench" },
});
const baseURL = await new Promise<string>((resolve) =>
  server.stdout!.once("data", (d) => resolve(String(d).trim())),
);
const pipeline = (dir: string) => [
  "generate",
  "-n",
  String(pipelineSize),
  "-b",
  "4",
  "-j",
  PARAMS,
  "--seed",
  "1",
  "--base-url",
  baseURL,
  "--poll-interval",
  "0.5",
  ...outputs(dir),
];

const rows: string[] = [];
try {
  for (const variant of variants) {
    const fresh = async (name: string) => {
      const dir = join(work, name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    };
    const b = await run(build(await fresh("build")), variant);
    const c = await run(["export", id!, "--runs-dir", join(shared, "runs")], variant);
    const p = await run(pipeline(await fresh("pipeline")), variant);
    const cells = [b.seconds, b.maxRssMb, c.seconds, c.maxRssMb, p.cpuSeconds, p.maxRssMb].map((n, i) =>
      n.toFixed(i % 2 ? 0 : 1),
    );
    rows.push(`| ${variant.name} | ${cells.join(" | ")} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  }
} finally {
  server.kill();
  await rm(work, { recursive: true, force: true });
}
console.log(
  `\nbuild and collect: ${samples.toLocaleString("en")} samples; pipeline: ${pipelineSize.toLocaleString("en")}\n\n` +
    "| variant | build s | build MB | collect s | collect MB | pipeline CPU s | pipeline MB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
    rows.join("\n"),
);
