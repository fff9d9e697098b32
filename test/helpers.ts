import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, afterEach, expect } from "vitest";
import { FakeOpenAI, type FakeOptions } from "../src/fake/server.ts";

export const ROOT = resolve(import.meta.dirname, "..");
export const ENTRY = join(ROOT, "src", "synthai.ts");
/** The launcher on the bin path (`npx synthai` and `bin/synthai` run it). */
export const LAUNCHER = join(ROOT, "bin", "synthai");
/** The built-in dataset's params.json (the seed's). */
export const PARAMS = join(ROOT, "params.json");
export const API_KEY = "test-key";

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
 */
export function runCli(
  args: string[],
  options: {
    cwd: string;
    env?: Record<string, string | undefined>;
    asExecutable?: boolean;
    /** Told all of stderr so far, as it comes: to act at a line while the process runs. */
    onStderr?: (stderr: string) => void;
  },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: undefined,
      SYNTHAI_CRASH_AT: undefined,
      ...options.env,
    };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    // npm scripts put node_modules' Node 24 first on the PATH; a user's shell does not.
    if (options.asExecutable)
      env.PATH = (env.PATH ?? "")
        .split(delimiter)
        .filter((dir) => !dir.includes("node_modules"))
        .join(delimiter);
    const [command, argv] = options.asExecutable ? [LAUNCHER, args] : [process.execPath, [ENTRY, ...args]];
    const child = spawn(command, argv, { cwd: options.cwd, env: env as NodeJS.ProcessEnv });
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

/** The temp folders this test file made: removed once its tests are done, so `npm test` leaves none behind. */
const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The cache of answers of this test file's runs: a fresh one, never the user's (removed with the temp folders). */
export const CACHE_HOME = mkdtempSync(join(tmpdir(), "synthai-cache-"));
tempDirs.push(CACHE_HOME);
process.env.XDG_CACHE_HOME = CACHE_HOME;

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

/** A fake OpenAI per test, stopped after it; `start` returns its base URL. */
export function useFake() {
  let current: FakeOpenAI | undefined;
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  return {
    async start(options: FakeOptions = {}): Promise<string> {
      current = new FakeOpenAI({ apiKey: API_KEY, ...options });
      return current.start();
    },
    get fake(): FakeOpenAI {
      if (!current) throw new Error("no fake server started in this test");
      return current;
    },
  };
}

/** Batch prices per 1M tokens (half the list price) of the models the tests run. */
const BATCH_PRICE: Record<string, [number, number]> = {
  "gpt-6-luna": [0.05, 0.25],
  "gpt-6.1-terra": [0.5, 2.5],
};

/** What the fake billed for every batch, at its model's batch price. */
export function billedAtModelPrices(fake: FakeOpenAI): number {
  return fake.batches.reduce((s, b) => {
    const [input, output] = BATCH_PRICE[b.batch.model]!;
    return (
      s + ((b.batch.usage?.input_tokens ?? 0) * input + (b.batch.usage?.output_tokens ?? 0) * output) / 1e6
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
