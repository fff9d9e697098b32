import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { Console } from "node:console";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, afterEach, expect } from "vitest";
import { FakeAnthropic, type FakeAnthropicOptions } from "../src/fake/anthropic.ts";
import { FakeGemini, type GeminiFakeOptions } from "../src/fake/gemini.ts";
import { FakeOpenAI, type FakeOptions } from "../src/fake/server.ts";
import { isAlive } from "../src/io/lock.ts";

export const ROOT = resolve(import.meta.dirname, "..");
export const ENTRY = join(ROOT, "src", "synthai.ts");
/** The launcher on the bin path (`npx synthai` and `bin/synthai` run it). */
export const LAUNCHER = join(ROOT, "bin", "synthai");
/** The built-in dataset's params.json (the seed's). */
export const PARAMS = join(ROOT, "params.json");
export const API_KEY = "test-key";
const runtime: { NODE_FLAGS: string[]; tunedEnv: (env: NodeJS.ProcessEnv) => NodeJS.ProcessEnv } =
  createRequire(import.meta.url)("../bin/runtime.cjs");

/** The built-in dataset's output columns, as the seed lays them out. */
export const CUSTOMER_CALL_COLUMNS = [
  "index",
  "Call",
  "Summary",
  "Attitude",
  "Conversation",
  "Problem",
  "Solved",
  "Manner",
  "Extension",
  "Phone",
  "Address",
  "Company",
  "sample_id",
];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI as a user would, in `cwd`; async, so the in-process fake keeps serving.
 * `asExecutable` runs the launcher, bin/synthai, as a user does, with the machine's own
 * `node` (not npm's Node 24) first on the PATH.
 *
 * A command that needs no process of its own runs in this one (`runHere`): the same cli() the
 * entry calls, without a second Node's start. One is started where the process is the point:
 * the launcher, a crash or hold point, a test acting on its stderr, help (citty exits), the fake
 * server, `ownProcess`, or a command started while another runs here.
 */
export function runCli(
  args: string[],
  options: {
    cwd: string;
    env?: Record<string, string | undefined>;
    asExecutable?: boolean;
    /** Told all of stderr so far, as it comes: to act at a line while the process runs. */
    onStderr?: (stderr: string) => void;
    /** In a process of its own even where it need not be. */
    ownProcess?: boolean;
  },
): Promise<CliResult> {
  const env: Record<string, string | undefined> = {
    ...testEnv,
    OPENAI_API_KEY: API_KEY,
    OPENAI_BASE_URL: undefined,
    SYNTHAI_CRASH_AT: undefined,
    ...otherVendorsEnv(),
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const byHand = options.env && "SYNTHAI_TUNED" in options.env && !options.env.SYNTHAI_TUNED;
  const needsProcess =
    options.asExecutable ||
    options.ownProcess ||
    options.onStderr ||
    byHand ||
    env.SYNTHAI_CRASH_AT ||
    env.SYNTHAI_HOLD_AT ||
    args[0] === "fake" ||
    args.some((arg) => ["-h", "--help", "-v", "--version"].includes(arg)) ||
    runningHere > 0;
  return needsProcess
    ? runInOwnProcess(args, options, env as Record<string, string>, Boolean(byHand))
    : runHere(args, options.cwd, env as Record<string, string>);
}

let runningHere = 0;
/** This process's environment, which a command run here swaps for its own while it runs. */
const testEnv = process.env;

/** One command in this process: its environment, folder, output and exit code its own while it runs. */
async function runHere(args: string[], cwd: string, env: Record<string, string>): Promise<CliResult> {
  runningHere++; // before any await: a command started meanwhile gets a process of its own
  const saved = {
    env: process.env,
    cwd: process.cwd(),
    exitCode: process.exitCode,
    console: globalThis.console,
    stdout: process.stdout.write,
    stderr: process.stderr.write,
  };
  const out = { stdout: "", stderr: "" };
  const capture = (stream: "stdout" | "stderr") =>
    ((chunk: string | Uint8Array, encoding?: unknown, done?: () => void) => {
      out[stream] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      (typeof encoding === "function" ? encoding : done)?.();
      return true;
    }) as typeof process.stdout.write;
  try {
    const { cli } = await import("../src/commands/cli.ts");
    process.env = env;
    process.chdir(cwd);
    process.exitCode = undefined;
    process.stdout.write = capture("stdout");
    process.stderr.write = capture("stderr");
    globalThis.console = new Console({ stdout: process.stdout, stderr: process.stderr });
    const failed = await cli(args);
    return { code: failed ?? Number(process.exitCode ?? 0), signal: null, ...out };
  } finally {
    process.env = saved.env;
    process.chdir(saved.cwd);
    process.exitCode = saved.exitCode;
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    globalThis.console = saved.console;
    runningHere--;
  }
}

function runInOwnProcess(
  args: string[],
  options: Parameters<typeof runCli>[1],
  env: Record<string, string>,
  byHand: boolean,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    // npm scripts put node_modules' Node 24 first on the PATH; a user's shell does not.
    if (options.asExecutable)
      env.PATH = (env.PATH ?? "")
        .split(delimiter)
        .filter((dir) => !dir.includes("node_modules"))
        .join(delimiter);
    // Started as bin/synthai starts it: one Node, with runtime.cjs's flags, settings and compile
    // cache (started bare, synthai starts itself again with them: a test that unsets
    // SYNTHAI_TUNED sees that).
    const [command, argv, childEnv] = options.asExecutable
      ? [LAUNCHER, args, env]
      : byHand
        ? [process.execPath, [ENTRY, ...args], env]
        : [process.execPath, [...runtime.NODE_FLAGS, ENTRY, ...args], runtime.tunedEnv(env)];
    const child = spawn(command, argv, { cwd: options.cwd, env: childEnv as NodeJS.ProcessEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      options.onStderr?.(stderr);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

/** Waits for a file another process writes (its way of saying it got somewhere). */
export async function fileAppears(path: string): Promise<void> {
  for (let waited = 0; !existsSync(path); waited += 20) {
    if (waited > 60_000) throw new Error(`${path} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until a process killed with SIGKILL is gone (a signal is delivered, not awaited). */
export async function processGone(pid: number): Promise<void> {
  for (let waited = 0; isAlive({ pid }); waited += 20) {
    if (waited > 60_000) throw new Error(`process ${pid} never ended`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The temp folders this test file made: removed once its tests are done, so `npm test` leaves none behind. */
const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * A fresh cache of answers for the runs that follow, never the user's (removed with the temp
 * folders). Each test with a fake gets its own: a fake started in a later test may get a port an
 * earlier one had, and the cache keys on the service's address, so a shared cache would answer it.
 */
function freshCacheHome(): void {
  const dir = mkdtempSync(join(tmpdir(), "synthai-cache-"));
  tempDirs.push(dir);
  process.env.XDG_CACHE_HOME = dir;
}
freshCacheHome();

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "synthai-test-"));
  tempDirs.push(dir);
  return dir;
}

export async function readCsv(path: string, delimiter = ","): Promise<Record<string, string>[]> {
  return parse(await readFile(path, "utf8"), { columns: true, delimiter });
}

export async function onlyRunDir(cwd: string): Promise<string> {
  const ids = await readdir(join(cwd, "runs"));
  if (ids.length !== 1) throw new Error(`expected one run, found ${ids.length}`);
  return join(cwd, "runs", ids[0]!);
}

/** The run folders under `cwd`, oldest first (two runs of one second have ids in no order). */
export async function runDirsByAge(cwd: string): Promise<string[]> {
  const dirs = (await readdir(join(cwd, "runs"))).map((id) => join(cwd, "runs", id));
  const made = new Map(
    await Promise.all(dirs.map(async (dir) => [dir, (await readManifest(dir)).createdAt] as const)),
  );
  return dirs.sort((a, b) => String(made.get(a)).localeCompare(String(made.get(b))));
}

export async function readManifest(runDir: string) {
  return JSON.parse(await readFile(join(runDir, "manifest.json"), "utf8"));
}

export async function readJsonlFile<T = any>(path: string): Promise<T[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** One `error: … — how to fix` line last, matching `message`, and no stack trace. */
export function expectOneLineError(stderr: string, message: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines.at(-1)).toMatch(/^error: .+ — .+/);
  expect(lines.at(-1)).toMatch(message);
  expect(stderr).not.toMatch(/\n\s+at /);
}

/**
 * Anthropic's and Gemini's variables for the CLI: this test's fakes and the test key while
 * `useFake` started them; else none of the machine's, so no test reaches a real service.
 */
let vendorsEnv: Record<string, string> = {};
function otherVendorsEnv(): Record<string, string | undefined> {
  const none = {
    ANTHROPIC_BASE_URL: undefined,
    GOOGLE_GEMINI_BASE_URL: undefined,
    GOOGLE_API_KEY: undefined,
  };
  return { ANTHROPIC_API_KEY: undefined, GEMINI_API_KEY: undefined, ...none, ...vendorsEnv };
}

export interface VendorFakeOptions {
  anthropic?: FakeAnthropicOptions;
  gemini?: GeminiFakeOptions;
}

/**
 * The fakes of the three vendors per test, stopped after it; `start` returns OpenAI's base URL
 * (for --base-url) and also starts a fake Anthropic and a fake Gemini, whose addresses and key
 * `runCli` passes in their variables: an example naming a Claude or Gemini model just runs.
 */
export function useFake() {
  let current: { openai: FakeOpenAI; anthropic: FakeAnthropic; gemini: FakeGemini } | undefined;
  afterEach(async () => {
    const fakes = current;
    current = undefined;
    vendorsEnv = {};
    freshCacheHome();
    await Promise.all([fakes?.openai.stop(), fakes?.anthropic.stop(), fakes?.gemini.stop()]);
  });
  const started = () => {
    if (!current) throw new Error("no fake server started in this test");
    return current;
  };
  return {
    async start(options: FakeOptions = {}, vendors: VendorFakeOptions = {}): Promise<string> {
      // A test that starts again (a service back) gets new fakes of the other vendors too.
      await Promise.all([current?.anthropic.stop(), current?.gemini.stop()]);
      const seed = options.seed === undefined ? {} : { seed: options.seed };
      current = {
        openai: new FakeOpenAI({ apiKey: API_KEY, ...options }),
        anthropic: new FakeAnthropic({ apiKey: API_KEY, ...seed, ...vendors.anthropic }),
        gemini: new FakeGemini({ apiKey: API_KEY, ...seed, ...vendors.gemini }),
      };
      const [url, anthropic, gemini] = await Promise.all([
        current.openai.start(),
        current.anthropic.start(),
        current.gemini.start(),
      ]);
      vendorsEnv = {
        ANTHROPIC_BASE_URL: anthropic,
        ANTHROPIC_API_KEY: API_KEY,
        GOOGLE_GEMINI_BASE_URL: gemini,
        GEMINI_API_KEY: API_KEY,
      };
      return url;
    },
    get fake(): FakeOpenAI {
      return started().openai;
    },
    get anthropic(): FakeAnthropic {
      return started().anthropic;
    },
    get gemini(): FakeGemini {
      return started().gemini;
    },
  };
}

/**
 * Batch prices per 1M tokens (half the list price) of the models the tests run: input, output,
 * and where the vendor bills a cache read or write apart, each. Claude Haiku 5.5 has no cache
 * prices published: src/api/pricing.ts charges its cache writes and reads at its input price.
 */
const BATCH_PRICE: Record<
  string,
  { input: number; output: number; cacheRead?: number; write5m?: number; write1h?: number }
> = {
  "gpt-6-luna": { input: 0.05, output: 0.25, cacheRead: 0.005 },
  "gpt-6.1-terra": { input: 0.5, output: 2.5, cacheRead: 0.025 },
  "claude-haiku-5-5": { input: 0.05, output: 0.25 },
  "claude-sonnet-5-5": { input: 1, output: 5, cacheRead: 0.1, write5m: 1.25, write1h: 2 },
  "gemini-3-flash": { input: 0.25, output: 1.5, cacheRead: 0.025 },
};

/** Cache writes by lifetime, as Anthropic's usage.cache_creation splits them. */
type Writes = { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number };

function priced(model: string, input: number, output: number, cacheRead = 0, writes: Writes = {}): number {
  const price = BATCH_PRICE[model];
  if (!price) throw new Error(`no test price for ${model}`);
  const read =
    cacheRead * (price.cacheRead ?? price.input) +
    (writes.ephemeral_5m_input_tokens ?? 0) * (price.write5m ?? price.input) +
    (writes.ephemeral_1h_input_tokens ?? 0) * (price.write1h ?? price.input);
  return (input * price.input + read + output * price.output) / 1e6;
}

/** What the OpenAI fake billed for every batch, at its model's batch price (input_tokens holds the cached ones). */
function billedByOpenAI(fake: FakeOpenAI): number {
  return fake.batches.reduce((s, { batch }) => {
    const cached = batch.usage?.input_tokens_details?.cached_tokens ?? 0;
    return (
      s +
      priced(batch.model, (batch.usage?.input_tokens ?? 0) - cached, batch.usage?.output_tokens ?? 0, cached)
    );
  }, 0);
}

/** Every file under `dir`, by its path relative to it, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** What the Anthropic fake billed: each succeeded result's usage (input_tokens leaves out cache reads and writes, each write billed at its lifetime's rate). */
function billedByAnthropic(fake: FakeAnthropic): number {
  const results = fake.batches.flatMap((b) => (b.results ?? "").split("\n").filter(Boolean));
  return results.reduce((s, line) => {
    const { result } = JSON.parse(line);
    if (result.type !== "succeeded") return s;
    const u = result.message.usage;
    const cost = priced(
      result.message.model,
      u.input_tokens,
      u.output_tokens,
      u.cache_read_input_tokens ?? 0,
      u.cache_creation ?? {},
    );
    return s + cost;
  }, 0);
}

/** What the Gemini fake billed: each answered batch line, at its job's model's price (thoughts as output). */
function billedByGemini(fake: FakeGemini): number {
  return fake.batchBilled.reduce((s, { model, usage }) => {
    const cached = usage.cachedContentTokenCount ?? 0;
    const output = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0);
    return s + priced(model, (usage.promptTokenCount ?? 0) - cached, output, cached);
  }, 0);
}

/** What the fakes billed for every batch, each at its model's batch price, as each vendor bills. */
export function billedAtModelPrices(...fakes: (FakeOpenAI | FakeAnthropic | FakeGemini)[]): number {
  return fakes.reduce(
    (s, fake) =>
      s +
      (fake instanceof FakeAnthropic
        ? billedByAnthropic(fake)
        : fake instanceof FakeGemini
          ? billedByGemini(fake)
          : billedByOpenAI(fake)),
    0,
  );
}

/** The run an earlier synthai made, before runs had stages (test/fixtures/run-before-stages/README.md). */
export const OLD_RUN = {
  fixture: join(ROOT, "test", "fixtures", "run-before-stages"),
  id: "20261206-140349-0ty2",
};

/** The old run's folder copied to `cwd`'s runs/, its paths pointed at `cwd` and its service at `baseURL`. */
export async function copyOldRun(cwd: string, baseURL = "http://127.0.0.1:9"): Promise<string> {
  const runDir = join(cwd, "runs", OLD_RUN.id);
  await cp(join(OLD_RUN.fixture, OLD_RUN.id), runDir, { recursive: true });
  await cp(PARAMS, join(cwd, "params.json"));
  const manifest = join(runDir, "manifest.json");
  const text = await readFile(manifest, "utf8");
  await writeFile(manifest, text.replaceAll("__DIR__", cwd).replaceAll("__BASE_URL__", baseURL));
  return runDir;
}
