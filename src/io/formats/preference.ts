// Preference pairs, in the two shapes their trainers document: TRL's conversational form
// (`preference`: the prompt as messages, the system message included; chosen and rejected as
// the assistant's answer) and OpenAI's preference fine-tuning (`openai-preference`: `input`,
// `preferred_output`, `non_preferred_output`). The export fills three columns — the prompt's
// messages, the chosen and the rejected answer — from a stage of several models and the judge
// that says which is better; the metrics go beside as JSONL.
import { sizeOf } from "../disk.ts";
import { typedValue, type AppendOptions, type Existing, type Format } from "./index.ts";
import { MESSAGES, shapedAppender, type Shape } from "./shaped.ts";

export const PREFERENCE_COLUMNS = ["prompt", "chosen", "rejected"];

interface Pair {
  messages: unknown;
  chosen: { role: "assistant"; content: string }[];
  rejected: { role: "assistant"; content: string }[];
}

/** A row's pair, or none where an answer is missing. */
function pairOf({ columns }: AppendOptions): (row: unknown[]) => Pair | undefined {
  const at = PREFERENCE_COLUMNS.map((name) => columns.indexOf(name));
  return (row) => {
    const [prompt, chosen, rejected] = at.map((i) => row[i]);
    if (typeof chosen !== "string" || typeof rejected !== "string" || !chosen || !rejected) return undefined;
    return {
      messages: typedValue(prompt, MESSAGES),
      chosen: [{ role: "assistant", content: chosen }],
      rejected: [{ role: "assistant", content: rejected }],
    };
  };
}

const TRL: Shape = {
  columns: [
    ["prompt", MESSAGES],
    ["chosen", MESSAGES],
    ["rejected", MESSAGES],
  ],
  record(options) {
    const pair = pairOf(options);
    return (row) => {
      const p = pair(row);
      return p && { prompt: p.messages, chosen: p.chosen, rejected: p.rejected };
    };
  },
};

const OPENAI: Shape = {
  columns: [
    ["input", { struct: { messages: MESSAGES } }],
    ["preferred_output", MESSAGES],
    ["non_preferred_output", MESSAGES],
  ],
  record(options) {
    const pair = pairOf(options);
    return (row) => {
      const p = pair(row);
      return (
        p && { input: { messages: p.messages }, preferred_output: p.chosen, non_preferred_output: p.rejected }
      );
    };
  },
};

async function readExisting(path: string): Promise<Existing | undefined> {
  const size = sizeOf(path) ?? 0;
  // A pair carries no index: this run's rows count on from nothing.
  return size === 0 ? undefined : { size, delimiter: ",", lastIndex: -1 };
}

export const preference: Format = {
  extensions: [],
  writes: "jsonl",
  metricsFormat: "jsonl",
  needs: "pairs",
  shape: TRL,
  readExisting,
  appender: shapedAppender(TRL),
};

export const openaiPreference: Format = {
  extensions: [],
  writes: "jsonl",
  metricsFormat: "jsonl",
  needs: "pairs",
  shape: OPENAI,
  readExisting,
  appender: shapedAppender(OPENAI),
};
