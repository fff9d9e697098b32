// The commands, in the order help lists them, with what each does: read by \`synthai --help\`
// without loading any command (each is loaded only when it runs).
export const COMMANDS = {
  generate: "Build the requests, run them as Batch-API jobs, and write the CSV (the default command)",
  resume: "Continue a run from its manifest: nothing sent twice, nothing lost",
  status: "List runs, or show one run batch by batch (asking the service about a run nobody drives)",
  inspect: "Show a run's samples: drawn parameters, prompt, raw answer, parsed fields, tokens, cost",
  report: "Write runs/<id>/report.html: numbers, charts and a searchable table of samples, in one file",
  stats:
    "How diverse a run's texts are and how balanced its labels (give two runs to compare them side by side)",
  preview: "Print the first prompts with their drawn parameters; no API call, no run folder",
  init:
    "Scaffold a dataset: a spec module (dataset.ts) and a params.json; " +
    "--prompt: a prompt file, params and rows, no code",
  import: "Collect answers produced elsewhere (e.g. vLLM's batch runner) from the run's own request files",
  export:
    "Write a run's dataset again, judging its answers again where the spec changed " +
    "(CSV, JSONL, Parquet, chat, or a Hugging Face folder, which --push sends to the Hub); no model API call",
  cancel: "Cancel a run's batches in flight, keep what they finished; `resume` continues later",
  abandon:
    "Give a run up: cancel what is in flight, delete its files on the account; --delete its folder too",
  gc: "Delete synthai's leftover files on the account (those of batches no longer running)",
  cache:
    "The cache of answers: its size, entries, hits and money saved; `prune --older-than 30d`, `--max-size 1GB`",
  models: "List the model catalogue: prices, reasoning, shutdown dates; --check compares it with the service",
  providers:
    "List the batch services synthai knows (--provider NAME): addresses, keys, windows, discounts, limits",
  fake: "Start the fake OpenAI service on loopback and keep it up: develop a dataset offline, no key, nothing billed",
} as const;

export type CommandName = keyof typeof COMMANDS;

export function metaOf(name: CommandName): { name: string; description: string } {
  return { name, description: COMMANDS[name] };
}
