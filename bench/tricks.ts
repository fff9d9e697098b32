// `npm run bench:tricks`: what each of synthai's Node tricks buys at 1,000,000 samples. The
// build and the collect (`synthai export`) run with every trick, then once with each left out,
// and the table says what leaving it out costs in time and peak RSS. BENCH_SIZES=100000 for a
// quick run. A trick stays where it buys at least 10% of a stage's time or 30 MB of peak RSS.
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const NODE = process.execPath;
const ENTRY = here("../src/synthai.ts");
const PARAMS = here("../params.json");
const RSS = here("./rss.ts");
const samples = Number(process.env.BENCH_SIZES?.split(",").at(-1) ?? 1_000_000);

// What bin/synthai passes; each variant leaves one out.
const FLAGS = [
  "--max-semi-space-size=8",
  "--no-allocation-site-pretenuring",
  "--heap-growing-percent=30",
  "--expose-gc",
];
const variants: { name: string; flags: string[]; malloc: boolean }[] = [
  { name: "all tricks", flags: FLAGS, malloc: true },
  ...FLAGS.map((flag) => ({
    name: `without ${flag.split("=")[0]}`,
    flags: FLAGS.filter((f) => f !== flag),
    malloc: true,
  })),
  { name: "without MALLOC_MMAP_THRESHOLD_", flags: FLAGS, malloc: false },
];

const work = await mkdtemp(join(tmpdir(), "synthai-tricks-"));
const cache = join(work, "compile-cache");

async function run(
  args: string[],
  variant: (typeof variants)[number],
): Promise<{ seconds: number; maxRssMb: number }> {
  const report = join(work, `report-${Math.random().toString(36).slice(2)}.jsonl`);
  spawnSync("sync");
  const env: Record<string, string | undefined> = {
    ...process.env,
    BENCH_REPORT: report,
    NODE_COMPILE_CACHE: cache,
    OPENAI_API_KEY: "bench",
  };
  if (variant.malloc) env.MALLOC_MMAP_THRESHOLD_ = "32768";
  else delete env.MALLOC_MMAP_THRESHOLD_;
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
  const { maxRssKb } = JSON.parse((await readFile(report, "utf8")).trim().split("\n").at(-1)!);
  return { seconds, maxRssMb: maxRssKb / 1024 };
}

const build = (dir: string) => [
  "generate",
  "-n",
  String(samples),
  "-j",
  PARAMS,
  "--seed",
  "1",
  "--dry-run",
  "--runs-dir",
  join(dir, "runs"),
  "-p",
  join(dir, "out.csv"),
];

// One run folder with answers for every request, collected by each variant in turn.
const shared = join(work, "collect");
await mkdir(shared, { recursive: true });
await run(build(shared), variants[0]!);
const [id] = await readdir(join(shared, "runs"));
spawnSync(NODE, [here("./make-outputs.ts"), join(shared, "runs", id!), join(shared, "out.csv")], {
  stdio: "inherit",
});

const rows: string[] = [];
for (const variant of variants) {
  const dir = join(work, "build");
  await mkdir(dir, { recursive: true });
  const b = await run(build(dir), variant);
  await rm(dir, { recursive: true, force: true });
  const c = await run(["export", id!, "--runs-dir", join(shared, "runs")], variant);
  rows.push(
    `| ${variant.name} | ${b.seconds.toFixed(1)} | ${b.maxRssMb.toFixed(0)} | ${c.seconds.toFixed(1)} | ${c.maxRssMb.toFixed(0)} |`,
  );
  process.stderr.write(`${rows.at(-1)}\n`);
}
await rm(work, { recursive: true, force: true });
console.log(
  `\n${samples.toLocaleString("en")} samples\n\n| variant | build s | build MB | collect s | collect MB |\n| --- | ---: | ---: | ---: | ---: |\n${rows.join("\n")}`,
);
