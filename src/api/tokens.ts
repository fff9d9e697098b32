// Counting prompt tokens: for the cost estimate and the budget before anything is sent, and
// for the enqueued-token and sync-mode rate limits. Exact, with the o200k tokenizer, as the
// chat format counts them (content plus a few tokens per message), plus the response
// format's schema, which is sent with every request and billed as prompt.
//
// The counting runs on a worker thread, beside the build that draws and writes the requests:
// it is half a build's work, and a machine has two cores (BENCHMARKS.md: the build takes
// 0.55 of the time it took counting on the main thread). The tokenizer's 50–60 MB of tables
// live in the worker, and go with it when the counting is done (after a small count, 2 s later:
// the next count may want it).
import { siblingModule } from "../io/sibling-module.ts";
import { UserError } from "../errors.ts";
import { Worker } from "node:worker_threads";
import type { Message } from "./endpoints/index.ts";

export interface Prompt {
  messages: Message[];
  schema?: unknown;
}

export interface TokenCounter {
  /**
   * Counts a prompt toward the next tally, in the background. When the worker is behind, it
   * returns a promise to wait for, so prompts do not pile up in memory.
   */
  add(prompt: Prompt): Promise<void> | undefined;
  /** The tokens of every prompt added since the last tally. */
  tally(): Promise<number>;
  /** One prompt's tokens, apart from any tally. */
  count(prompt: Prompt): Promise<number>;
}

/**
 * Prompts sent to the worker at a time, and batches it may be behind before the build waits:
 * few prompts wait in either thread (a 1,000,000-sample build peaks at 163 MB, against 185 MB
 * with 256 and 16; BENCHMARKS.md).
 */
const BATCH = 32;
const MAX_BEHIND = 4;

/**
 * A worker kept for a moment after a small count, for the next: a run's steps count one after
 * another (a stage's build, the dry run's estimate, the next stage's), and each new worker loads
 * the tokenizer again, 0.3–0.4 s of CPU. After a large count the worker ends at once, so a big
 * run's memory goes back as the counting ends.
 */
let idle: { worker: Worker; timer: NodeJS.Timeout } | undefined;
const KEEP_MS = 2_000;
const SMALL = 10_000;
/** What the worker was last sent as the schema, before this counter sent any. */
const UNSENT = Symbol("unsent");

function takeWorker(): Worker {
  const kept = idle;
  idle = undefined;
  if (kept) {
    clearTimeout(kept.timer);
    kept.worker.removeAllListeners("error");
    // Still running (not ended by an error while it waited): it is this counter's.
    if (kept.worker.threadId !== -1) {
      kept.worker.ref();
      return kept.worker;
    }
  }
  return new Worker(siblingModule("./token-worker.ts", import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
}

/** Keeps `worker` for the next count (one at most), unreferenced: it never holds the process open. */
async function putBack(worker: Worker): Promise<void> {
  if (idle) return void (await worker.terminate());
  worker.unref();
  worker.on("error", () => {}); // one that fails while it waits is not taken again
  const timer = setTimeout(() => {
    if (idle?.worker === worker) idle = undefined;
    void worker.terminate();
  }, KEEP_MS).unref();
  idle = { worker, timer };
}

/**
 * Lends `use` a counter for as long as it runs; the worker ends with it, or waits for the next.
 * The worker starts with the first prompt: a counter given none (a build the cache answered
 * wholly) tallies 0 without loading the tokenizer.
 */
export async function withTokenCounter<T>(use: (counter: TokenCounter) => Promise<T>): Promise<T> {
  let worker: Worker | undefined;
  const waiting: { resolve: (tokens: number) => void; reject: (error: unknown) => void }[] = [];
  let failure: unknown;
  // A dying worker (out of memory, killed) is a clean error, not a bug report.
  const fail = (error: unknown) => {
    failure ??= new UserError(
      `the token counter stopped: ${(error as Error)?.message ?? error}`,
      "run the command again (`synthai resume <run-id>` continues a run it had made)",
    );
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  const started = () => {
    if (worker) return worker;
    worker = takeWorker();
    worker.on("message", (tokens: number) => waiting.shift()?.resolve(tokens));
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`its thread exited with code ${code}`)));
    return worker;
  };
  let batch: Message[][] = [];
  let counted = 0;
  // The schema goes to the worker when it changes, not with every prompt (a run has one); the
  // first message starts the worker afresh (its tally and schema may be an earlier counter's).
  let schema: unknown;
  let sentSchema: unknown = UNSENT;
  // Every message is answered, in order: a batch with 0, a tally or count with its tokens.
  const send = (message: { prompts: Message[][]; reply: "tally" | "count" | "none" }) => {
    if (failure) throw failure;
    counted += message.prompts.length;
    const fresh = sentSchema === UNSENT ? { fresh: true } : {};
    started().postMessage(
      schema === sentSchema ? message : { ...message, ...fresh, schema: (sentSchema = schema) ?? null },
    );
    return new Promise<number>((resolve, reject) => waiting.push({ resolve, reject }));
  };
  const flush = () => {
    const answered = send({ prompts: batch, reply: "none" });
    batch = [];
    // Nobody may wait for this answer; a dying worker is remembered in `failure` and thrown by
    // the next send or tally, so it never surfaces as an unhandled rejection.
    answered.catch(() => {});
    return answered;
  };
  const counter: TokenCounter = {
    add(prompt) {
      if (prompt.schema !== schema && batch.length) flush();
      schema = prompt.schema;
      batch.push(prompt.messages);
      if (batch.length < BATCH) return undefined;
      const answered = flush();
      return waiting.length > MAX_BEHIND ? answered.then(() => {}) : undefined;
    },
    tally() {
      const prompts = batch;
      batch = [];
      return worker || prompts.length ? send({ prompts, reply: "tally" }) : Promise.resolve(0);
    },
    count(prompt) {
      if (prompt.schema !== schema && batch.length) flush();
      schema = prompt.schema;
      return send({ prompts: [prompt.messages], reply: "count" });
    },
  };
  try {
    return await use(counter);
  } finally {
    if (worker) await giveBack(worker, failure || waiting.length || counted >= SMALL);
  }
}

/** A counter's worker when it is done: ended (it failed, still owes an answer, or counted much), or kept for the next. */
async function giveBack(worker: Worker, end: unknown): Promise<void> {
  for (const event of ["message", "error", "exit"]) worker.removeAllListeners(event);
  // Kept only when nothing is owed: an answer still on its way would reach the next counter.
  if (end) await worker.terminate();
  else await putBack(worker);
}
