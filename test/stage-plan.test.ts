// The plan of stages as plain functions: each stage, the first included, is one entry with its
// prompt, model, limits, keep/when, and its conversation turn or its model among several, as
// typed fields (no hidden properties); the manifest's `turn` reads and writes as runs saved it.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { datasetOf, savedTurn, stagePlan, type PlannedStage } from "../src/dataset/spec.ts";
import { expandModels, answerAsAsked } from "../src/dataset/several-models.ts";
import { loadStageFile, previousTurnOf } from "../src/dataset/conversation.ts";
import { preferenceOf, resolveStages } from "../src/pipeline/stages.ts";
import type { RunConfig } from "../src/run/manifest.ts";
import { RUN_DEFAULTS } from "../src/run/settings.ts";
import { ROOT } from "./helpers.ts";

const PAIRS = join(ROOT, "examples", "preference-pairs");
const DIALOGUE = join(ROOT, "examples", "support-dialogues", "dialogue.md");

/** A run's config as toRunConfig makes it, with only what stage planning reads. */
function runConfig(stages: { promptFile: string; turn?: number }[], promptFile: string): RunConfig {
  return {
    ...RUN_DEFAULTS,
    model: "gpt-6-luna",
    samples: 10,
    batches: 1,
    output: "out.csv",
    paramsFile: join(PAIRS, "params.json"),
    seed: 1,
    maxTokens: 1024,
    price: { input: 0.05, output: 0.25 },
    metrics: true,
    maxAttempts: 10,
    pollIntervalSeconds: 30,
    promptFile,
    stages: stages.map((s) => ({
      ...s,
      model: "gpt-6-luna",
      maxTokens: 1024,
      price: { input: 0, output: 0 },
    })),
  };
}

/** examples/preference-pairs: a question, two models' answers, a judge that prefers one. */
const pairsRun = () =>
  runConfig(
    [{ promptFile: join(PAIRS, "answer.md") }, { promptFile: join(PAIRS, "judge.md") }],
    join(PAIRS, "ask.md"),
  );

describe("a stage of several models", () => {
  const stage: PlannedStage = {
    fields: ["Answer"],
    prompt: () => "Answer it",
    models: ["gpt-6-luna", "gpt-6.1-terra"],
    keep: "Answer != ''",
    source: "prompt file answer.md",
  };

  test("is one entry per model: its model, its fields named after it, keep once all have answered", () => {
    const planned = expandModels(stage);
    expect(planned.map((s) => s.model)).toEqual(["gpt-6-luna", "gpt-6.1-terra"]);
    expect(planned.map((s) => s.fields)).toEqual([["Answer_gpt-6-luna"], ["Answer_gpt-6-1-terra"]]);
    expect(planned.map((s) => s.keep)).toEqual([undefined, "Answer != ''"]);
    expect(planned.map((s) => s.source)).toEqual([
      "prompt file answer.md (gpt-6-luna)",
      "prompt file answer.md (gpt-6.1-terra)",
    ]);
    expect(planned[1]!.parse!("[Answer] Yes.", ["Answer"])).toEqual({
      ok: true,
      fields: { "Answer_gpt-6-1-terra": "Yes." },
    });
  });

  test("says which model it is among them, as a field of its own, not a turn; the manifest saves its place", () => {
    const planned = expandModels(stage);
    expect(planned.map((s) => s.among?.index)).toEqual([0, 1]);
    expect(planned.map((s) => s.turn)).toEqual([undefined, undefined]);
    expect(planned.every((s) => Object.keys(s).includes("among") && Object.keys(s).includes("source"))).toBe(
      true,
    );
    expect(planned.map(savedTurn)).toEqual([1, 2]);
    expect(answerAsAsked(planned[0]!, "gpt-6.1-terra", { "Answer_gpt-6-1-terra": "Yes." })).toBe(
      "[Answer] Yes.",
    );
  });
});

describe("a conversation", () => {
  test("is one entry per turn: its turn of how many, the field of the turn before, its own source", () => {
    const turns = loadStageFile(DIALOGUE);
    expect(turns.map((s) => s.turn)).toEqual([1, 2, 3, 4].map((number) => ({ number, of: 4 })));
    expect(turns.map((s) => s.fields)).toEqual([["Turn1"], ["Turn2"], ["Turn3"], ["Turn4"]]);
    expect(turns.map(previousTurnOf)).toEqual([undefined, "Turn1", "Turn2", "Turn3"]);
    expect(turns.map((s) => s.among)).toEqual([undefined, undefined, undefined, undefined]);
    expect(turns[2]!.source).toBe(`prompt file ${DIALOGUE} (turn 3)`);
    expect(turns.map(savedTurn)).toEqual([1, 2, 3, 4]);
  });
});

describe("the plan of a run", () => {
  test("the first stage is the first entry; later ones follow, each with its file", async () => {
    const dataset = await datasetOf(pairsRun());
    const plan = stagePlan(dataset);
    expect(plan[0]).toBe(dataset);
    expect(plan.map((s) => s.fields)).toEqual([
      ["Question"],
      ["Answer_gpt-6-luna"],
      ["Answer_claude-haiku-5-5"],
      ["Better", "Why"],
    ]);
    expect(plan.map((s) => s.file)).toEqual([
      undefined,
      join(PAIRS, "answer.md"),
      join(PAIRS, "answer.md"),
      join(PAIRS, "judge.md"),
    ]);
  });

  test("a saved turn picks a model of several, or a conversation's turn, as runs saved it", async () => {
    const dataset = await datasetOf(
      runConfig(
        [
          { promptFile: join(PAIRS, "answer.md"), turn: 2 },
          { promptFile: DIALOGUE, turn: 3 },
        ],
        join(PAIRS, "ask.md"),
      ),
    );
    const [, model, turn] = stagePlan(dataset);
    expect(model!.model).toBe("claude-haiku-5-5");
    expect(model!.among?.index).toBe(1);
    expect(turn!.turn).toEqual({ number: 3, of: 4 });
    expect(turn!.among).toBeUndefined();
  });

  test("resolving writes each stage's file, saved turn, what it is built after and its settings", async () => {
    const config = pairsRun();
    resolveStages(config, await datasetOf(config));
    expect(
      config.stages!.map(({ promptFile, turn, after, model, maxTokens }) => ({
        promptFile,
        turn,
        after,
        model,
        maxTokens,
      })),
    ).toEqual([
      {
        promptFile: join(PAIRS, "answer.md"),
        turn: 1,
        after: undefined,
        model: "gpt-6-luna",
        maxTokens: 400,
      },
      { promptFile: join(PAIRS, "answer.md"), turn: 2, after: 1, model: "claude-haiku-5-5", maxTokens: 400 },
      {
        promptFile: join(PAIRS, "judge.md"),
        turn: undefined,
        after: undefined,
        model: "gpt-6.1-terra",
        maxTokens: 200,
      },
    ]);
  });

  test("preference pairs are planned from the stage of several models and the judge that prefers", async () => {
    const dataset = await datasetOf(pairsRun());
    const preference = preferenceOf(dataset);
    expect(preference.models).toEqual(["gpt-6-luna", "claude-haiku-5-5"]);
    expect(preference.field).toBe("Answer");
    expect(preference.choice).toBe("Better");
    expect(preference.answers.among?.index).toBe(1);
  });
});
