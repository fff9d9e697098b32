#!/usr/bin/env node
// synthai: synthetic, labelled datasets through the OpenAI Batch API.
// This file only reads the command line and hands it to the pipeline (see run.ts).
// bin/synthai starts it on the bundled Node 24 with its flags and environment.
import { basename, resolve } from "node:path";
import { defineCommand, runCommand, runMain, type ArgDef, type ArgsDef } from "citty";
import { UserError, redact } from "./errors.ts";
import { stderrLog } from "./io/log.ts";
import { findRunDir, loadManifest, type Manifest } from "./run/manifest.ts";
import { baseUrl, number, parseSampling, toRunConfig } from "./commands/options.ts";
import { importResults } from "./pipeline/import.ts";
import { collectGarbage } from "./api/remote-files.ts";
import { makeClient } from "./api/client.ts";
import { formatRunDetail, formatRunList, listRuns, statusExitCode } from "./views/status.ts";
import { summarize } from "./run/totals.ts";
import { formatSample, inspectRun } from "./views/inspect.ts";
import { writeReport } from "./views/report.ts";
import { loadDataset, loadParams } from "./dataset/spec.ts";
import { previewSamples, scaffold } from "./views/preview.ts";
import { reexport } from "./pipeline/finish.ts";
import { generate, resume } from "./pipeline/generate.ts";
import { cancel } from "./pipeline/cancel.ts";

const connectionArgs = {
  "api-key": { type: "string", alias: "k", description: "OpenAI API key (default: $OPENAI_API_KEY)", valueHint: "key" },
  "base-url": { type: "string", description: "API base URL (default: $OPENAI_BASE_URL, else OpenAI)", valueHint: "url" },
  "runs-dir": { type: "string", description: "Folder of run folders", default: "runs", valueHint: "dir" },
} as const satisfies ArgsDef;

const datasetArgs = {
  sampling: { type: "string", description: "random (with replacement, as the seed), unique (no combination twice) or stratified (each value's share balanced)", default: "random" },
    params: { type: "string", alias: "j", description: "Parameter JSON: field → parameter → values", default: "params.json", valueHint: "path" },
    spec: { type: "string", description: "Dataset spec module (.ts): prompt and parser (default: the built-in customer-service calls)", valueHint: "file.ts" },
    locale: { type: "string", description: "Locale of generated values (faker's: en, de, fr, es, …)", default: "en" },
} as const satisfies ArgsDef;

const waitArgs = {
  "on-done": { type: "string", description: "Shell command to run when the run ends ($SYNTHAI_RUN_ID, $SYNTHAI_RUN_STATE, $SYNTHAI_OUTPUT are set)", valueHint: "command" },
  "keep-remote": { type: "boolean", description: "Keep the request, output and error files on the account after collecting them" },
  detach: { type: "boolean", description: "Submit, print the run id and exit; continue with `synthai resume`" },
  "poll-interval": { type: "string", description: "Seconds between status checks (backs off while nothing changes)", valueHint: "seconds" },
} as const satisfies ArgsDef;

const generateCommand = defineCommand({
  meta: { name: "generate", description: "Build the requests, run them as Batch-API jobs, and write the CSV (the default command)" },
  args: {
    ...connectionArgs,
    ...datasetArgs,
    samples: { type: "string", alias: "n", description: "Number of samples to generate", default: "10", valueHint: "n" },
    batches: { type: "string", alias: "b", description: "Number of Batch-API jobs to split into (more if a file would pass 50,000 requests or 200 MB)", default: "1", valueHint: "n" },
    output: { type: "string", alias: "p", description: "Output CSV; an existing one with the same columns is appended to", default: "dataset.csv", valueHint: "path" },
    budget: { type: "string", alias: "l", description: "Budget limit in USD; never exceeded, even in the worst case", valueHint: "usd" },
    metrics: { type: "boolean", alias: "m", description: "Write <output>_metrics.csv (tokens, cost, time, sample, batch)", default: true, negativeDescription: "Do not write the metrics CSV" },
    model: { type: "string", description: "Model", default: "gpt-4o-mini" },
    seed: { type: "string", description: "Seed of the random draws (default: random, recorded in the manifest)" },
    "max-tokens": { type: "string", description: "max_completion_tokens per answer", default: "1024" },
    temperature: { type: "string", description: "Sampling temperature" },
    "max-attempts": { type: "string", description: "Tries per sample before it is given up", default: "10" },
    delimiter: { type: "string", description: "CSV delimiter for a new file (an existing file keeps its own)", valueHint: "char" },
    "input-price": { type: "string", description: "Batch price of input tokens, USD per 1M (overrides the table)" },
    "output-price": { type: "string", description: "Batch price of output tokens, USD per 1M (overrides the table)" },
    mode: { type: "string", description: "batch (the Batch API, half price) or sync (direct chat completions: small runs, servers without a Batch API)", default: "batch" },
    concurrency: { type: "string", description: "--mode sync: requests at once", default: "8" },
    rpm: { type: "string", description: "--mode sync: at most this many requests a minute" },
    tpm: { type: "string", description: "--mode sync: at most this many tokens (prompt + max tokens) a minute" },
    "max-in-flight": { type: "string", description: "At most this many batches submitted at once" },
    "max-enqueued-tokens": { type: "string", description: "At most this many prompt tokens enqueued at once (your organisation's batch queue limit)" },
    pilot: { type: "string", description: "First send this many requests directly, show them and the projected cost, and ask before the batch" },
    yes: { type: "boolean", alias: "y", description: "Go on without asking: after --pilot, and past the check that the disk can hold the build" },
    "dry-run": { type: "boolean", description: "Build the request files and print the cost estimate; submit nothing" },
    ...waitArgs,
  },
  async run({ args }) {
    const config = toRunConfig(
      { ...args, "base-url": args["base-url"] ?? process.env.OPENAI_BASE_URL },
      () => Math.floor(Math.random() * 2 ** 31),
    );
    const manifest = await generate(config, resolve(args["runs-dir"]), connection(args), {
      log: stderrLog,
      dryRun: Boolean(args["dry-run"]),
      yes: Boolean(args.yes),
      ...(args.pilot ? { pilot: number(args.pilot, "--pilot", { integer: true, positive: true })! } : {}),
      detach: Boolean(args.detach),
      onRun: (id) => (activeRun = id),
    });
    if (args.detach) console.log(manifest.id);
    exitWhenStopped(manifest);
  },
});

const resumeCommand = defineCommand({
  meta: { name: "resume", description: "Continue a run from its manifest: nothing sent twice, nothing lost" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    ...connectionArgs,
    budget: { type: "string", alias: "l", description: "New budget limit in USD", valueHint: "usd" },
    "top-up": { type: "string", description: "Add this many new samples to a finished run, continuing its random stream", valueHint: "n" },
    ...waitArgs,
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const budgetUsd = number(args.budget, "-l/--budget", { positive: true });
    const manifest = await resume(runDir, connection(args), {
      log: stderrLog,
      keepRemote: Boolean(args["keep-remote"]),
      ...(args["on-done"] ? { onDone: args["on-done"] } : {}),
      ...(args["top-up"] ? { topUp: number(args["top-up"], "--top-up", { integer: true, positive: true })! } : {}),
      detach: Boolean(args.detach),
      ...(budgetUsd !== undefined ? { budgetUsd } : {}),
      ...(args["poll-interval"] ? { pollIntervalSeconds: number(args["poll-interval"], "--poll-interval", { positive: true })! } : {}),
    });
    exitWhenStopped(manifest);
  },
});

const statusCommand = defineCommand({
  meta: { name: "status", description: "List runs, or show one run batch by batch" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: false },
    "runs-dir": connectionArgs["runs-dir"],
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const runsDir = resolve(args["runs-dir"]);
    if (!args.run) {
      const runs = await listRuns(runsDir);
      console.log(args.json ? JSON.stringify(runs, null, 2) : formatRunList(runs));
      return;
    }
    const manifest = loadManifest(await findRunDir(runsDir, args.run));
    console.log(args.json ? JSON.stringify({ ...summarize(manifest), batches: manifest.batches }, null, 2) : formatRunDetail(manifest));
    process.exitCode = statusExitCode(summarize(manifest));
  },
});

const inspectCommand = defineCommand({
  meta: { name: "inspect", description: "Show a run's samples: drawn parameters, prompt, raw answer, parsed fields, tokens, cost" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    failed: { type: "boolean", description: "Only answers that were malformed, failed or given up, with the reason" },
    sample: { type: "string", description: "Only this sample number (1-based, as in the metrics CSV)" },
    id: { type: "string", description: "Only this custom_id" },
    limit: { type: "string", description: "Show at most this many (0: all)", default: "20" },
    json: { type: "boolean", description: "One JSON object per line" },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const manifest = loadManifest(runDir);
    const filter = {
      failed: Boolean(args.failed),
      ...(args.sample ? { sample: number(args.sample, "--sample", { integer: true, positive: true })! } : {}),
      ...(args.id ? { id: args.id } : {}),
      limit: number(args.limit, "--limit", { integer: true, min: 0 }) ?? 20,
    };
    let shown = 0;
    for await (const sample of inspectRun(runDir, manifest, filter)) {
      process.stdout.write(args.json ? `${JSON.stringify(sample)}\n` : `${formatSample(sample)}\n\n`);
      shown++;
    }
    if (!shown && !args.json) console.log(`no sample matches in run ${manifest.id} (${summarize(manifest).valid} valid so far)`);
  },
});

const exportCommand = defineCommand({
  meta: { name: "export", description: "Re-parse a run's downloaded answers and rewrite its CSV and metrics; no API call" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    output: { type: "string", alias: "p", description: "Write to this CSV instead of the run's own", valueHint: "path" },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    await reexport(runDir, { log: stderrLog, ...(args.output ? { output: resolve(args.output) } : {}) });
  },
});

const cancelCommand = defineCommand({
  meta: { name: "cancel", description: "Cancel a run's batches in flight, keep what they finished; `resume` continues later" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    ...connectionArgs,
    "poll-interval": waitArgs["poll-interval"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const pollIntervalSeconds = number(args["poll-interval"], "--poll-interval", { positive: true });
    await cancel(runDir, connection(args), { log: stderrLog, ...(pollIntervalSeconds !== undefined ? { pollIntervalSeconds } : {}) });
  },
});

const gcCommand = defineCommand({
  meta: { name: "gc", description: "Delete synthai's leftover files on the OpenAI account (those of batches no longer running)" },
  args: {
    "api-key": connectionArgs["api-key"],
    "base-url": connectionArgs["base-url"],
    "dry-run": { type: "boolean", description: "Only list them" },
  },
  async run({ args }) {
    await collectGarbage(await makeClient(connection(args)), { dryRun: Boolean(args["dry-run"]), log: stderrLog });
  },
});

const reportCommand = defineCommand({
  meta: { name: "report", description: "Write runs/<id>/report.html: numbers, charts and a searchable table of samples, in one file" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const manifest = loadManifest(runDir);
    const params = await loadParams(manifest.config.paramsFile).catch(() => undefined);
    console.log(await writeReport(runDir, manifest, params));
  },
});

const previewCommand = defineCommand({
  meta: { name: "preview", description: "Print the first prompts with their drawn parameters; no API call, no run folder" },
  args: {
    samples: { type: "string", alias: "n", description: "How many", default: "5" },
    ...datasetArgs,
    seed: { type: "string", description: "Seed of the random draws", default: "1" },
  },
  async run({ args }) {
    const params = await loadParams(resolve(args.params ?? "params.json"));
    const dataset = await loadDataset(args.spec ? resolve(args.spec) : undefined);
    const count = number(args.samples, "-n/--samples", { integer: true, positive: true })!;
    console.log(await previewSamples(params, dataset, number(args.seed, "--seed", { integer: true, min: 0 })!, count, args.locale, parseSampling(args.sampling)));
  },
});

const initCommand = defineCommand({
  meta: { name: "init", description: "Scaffold a dataset: a spec module (dataset.ts) and a params.json" },
  args: { dir: { type: "positional", description: "Folder to create them in", required: true } },
  async run({ args }) {
    const files = await scaffold(args.dir);
    console.log(`wrote ${files.join(" and ")}\nnext: synthai preview --spec ${files[0]} -j ${files[1]}`);
  },
});

const importCommand = defineCommand({
  meta: { name: "import", description: "Collect answers produced elsewhere (e.g. vLLM's batch runner) from the run's own request files" },
  args: {
    run: { type: "positional", description: "Run id (or a unique part of it)", required: true },
    results: { type: "positional", description: "Output JSONL in the Batch-API format", required: true },
    "runs-dir": connectionArgs["runs-dir"],
  },
  async run({ args }) {
    const runDir = await runDirOf(args);
    const manifest = await importResults(runDir, resolve(args.results), { log: stderrLog });
    exitWhenStopped(manifest);
  },
});

const subCommands = { generate: generateCommand, resume: resumeCommand, status: statusCommand, inspect: inspectCommand, report: reportCommand, preview: previewCommand, init: initCommand, import: importCommand, export: exportCommand, cancel: cancelCommand, gc: gcCommand };

const main = defineCommand({
  meta: { name: "synthai", version: "0.1.0", description: "Synthetic, labelled datasets through the OpenAI Batch API" },
  subCommands,
});

/** The run being driven, named when it is interrupted or fails. */
let activeRun: string | undefined;

/**
 * Tells scripts what a run made: 4 stopped (budget, cancel; resumable), 6 finished without a
 * single valid sample.
 */
function exitWhenStopped(manifest: Manifest): void {
  if (manifest.state === "stopped") process.exitCode = 4;
  else if (manifest.state === "done" && summarize(manifest).valid === 0) process.exitCode = 6;
}

/** Finds a run by (part of) its id, and remembers it as the one being driven. */
async function runDirOf(args: { "runs-dir": string; run: string }): Promise<string> {
  const runDir = await findRunDir(resolve(args["runs-dir"]), args.run);
  activeRun = basename(runDir);
  return runDir;
}

function connection(args: { "api-key"?: string; "base-url"?: string }) {
  return { apiKey: args["api-key"] || process.env.OPENAI_API_KEY, baseURL: baseUrl(args["base-url"] || process.env.OPENAI_BASE_URL) };
}

/** citty accepts any flag; a typo like `--sample 10` must not silently run with defaults. */
function checkArgs(rawArgs: string[], def: ArgsDef): void {
  const names = (name: string, arg: ArgDef) => [name, ...[("alias" in arg && arg.alias) || []].flat()];
  const entries = Object.entries(def);
  const positionals = entries.filter(([, a]) => a.type === "positional").length;
  const known = new Set(entries.filter(([, a]) => a.type !== "positional").flatMap(([n, a]) => names(n, a)));
  const flagsWithValue = new Set(entries.filter(([, a]) => a.type === "string").flatMap(([n, a]) => names(n, a)));
  let seenPositionals = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") {
      if (++seenPositionals > positionals) throw new UserError(`unexpected argument "${arg}"`, "see `synthai --help`");
      continue;
    }
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    const bare = name.startsWith("no-") && !known.has(name) ? name.slice(3) : name;
    if (!known.has(bare)) throw new UserError(`unknown option ${arg.split("=")[0]}`, "see `synthai --help` for the options");
    if (flagsWithValue.has(bare) && !arg.includes("=")) i++;
  }
}

for (const command of Object.values(subCommands)) {
  command.setup = ({ rawArgs }: { rawArgs: string[] }) => checkArgs(rawArgs, command.args as ArgsDef);
}

const rawArgs = process.argv.slice(2);
// A bare `synthai -n 10` means `synthai generate -n 10`, as the seed's single command did.
if (!rawArgs[0] || rawArgs[0].startsWith("-")) {
  if (!["-h", "--help", "-v", "--version"].includes(rawArgs[0] ?? "")) rawArgs.unshift("generate");
}

process.on("SIGINT", () => {
  process.stderr.write(
    activeRun
      ? `\ninterrupted — nothing is lost: \`synthai resume ${activeRun}\` continues run ${activeRun}\n`
      : "\ninterrupted before a run was made; nothing was sent\n",
  );
  process.exit(130);
});

if (rawArgs.some((arg) => arg === "-h" || arg === "--help") || rawArgs[0] === "-v" || rawArgs[0] === "--version") {
  await runMain(main, { rawArgs });
} else {
  try {
    if (!(rawArgs[0]! in subCommands)) throw new UserError(`unknown command "${rawArgs[0]}"`, `the commands are ${Object.keys(subCommands).join(", ")}; see \`synthai --help\``);
    await runCommand(main, { rawArgs });
  } catch (error) {
    if (error instanceof UserError) {
      // An API failure during a run leaves the run as it was: say how to go on with it.
      const goOn = activeRun && error.exitCode === 3 ? `; the run is kept: \`synthai resume ${activeRun}\` continues it` : "";
      process.stderr.write(`${redact(error.toLine() + goOn, [process.env.OPENAI_API_KEY])}\n`);
      process.exit(error.exitCode);
    }
    const system = error as NodeJS.ErrnoException;
    if (system?.syscall && system.code) {
      // The disk, not synthai: full, read-only, no permission. What was written before stays.
      const where = system.path && !system.message.includes(system.path) ? ` (${system.path})` : "";
      process.stderr.write(`error: ${system.message}${where} — free space or fix permissions, then run the command again (\`synthai resume\` for a run)\n`);
      process.exit(1);
    }
    if ((error as { name?: string }).name === "CLIError") {
      process.stderr.write(`error: ${(error as Error).message} — see \`synthai --help\`\n`);
      process.exit(2);
    }
    process.stderr.write(`synthai: internal error (a bug — please report it):\n${redact(String((error as Error)?.stack ?? error), [process.env.OPENAI_API_KEY])}\n`);
    process.exit(1);
  }
}
