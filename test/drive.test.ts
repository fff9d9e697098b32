// The drive logic as plain functions: a run made with `generate` and continued with `resume`, in
// this process, against the in-process service double (no child process, no HTTP). Each test
// scripts the service's answers and asserts what the run produced and what went to which stage.
import { readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { RunOptions } from "../src/commands/options.ts";
import { costUsd } from "../src/api/pricing.ts";
import { stageSettings } from "../src/run/config.ts";
import { datasetOf } from "../src/dataset/spec.ts";
import { runView } from "../src/pipeline/context.ts";
import { exportDataset, outcomesOf } from "../src/pipeline/stages.ts";
import type { Manifest } from "../src/run/manifest.ts";
import { API_KEY, ROOT, readCsv, readJsonlFile, runCli, tempDir } from "./helpers.ts";
import { resume } from "../src/pipeline/resume.ts";
import { UserError } from "../src/errors.ts";
import {
  Crash,
  driveAgain,
  driveNew,
  serviceDouble,
  type Asked,
  type ServiceDouble,
} from "./service-double.ts";

const CALLS = join(ROOT, "examples", "judged-calls");
const PAIRS = join(ROOT, "examples", "preference-pairs");
const DIALOGUES = join(ROOT, "examples", "support-dialogues");

/** How often each sample was asked in each stage: `stage:custom_id` → count. */
function askedPerStage(double: ServiceDouble): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of double.asked)
    counts.set(`${a.stage}:${a.custom_id}`, (counts.get(`${a.stage}:${a.custom_id}`) ?? 0) + 1);
  return counts;
}

/**
 * Nothing went twice: every batch the run records was created once, every upload made once, and
 * what the run says it spent is what the service billed, at each stage's price (counted once).
 */
function expectNothingSentTwice(double: ServiceDouble, manifest: Manifest): void {
  const recorded = manifest.batches.filter((b) => b.batchId).map((b) => b.batchId);
  expect(double.created.map((b) => b.id).sort()).toEqual([...new Set(recorded)].sort());
  expect(new Set(double.uploads).size).toBe(double.uploads.length);
  const spent = manifest.batches.reduce((sum, b) => sum + (b.collected?.costUsd ?? 0), 0);
  let billed = 0;
  for (const [stage, tokens] of double.billed)
    billed += costUsd(stageSettings(manifest.config, stage).price, tokens.prompt, tokens.completion);
  expect(billed).toBeGreaterThan(0);
  expect(spent).toBeCloseTo(billed, 12);
}

/** A sample's number, from its custom id (its index in the run, zero-padded). */
const sampleOf = (asked: Asked) => Number(asked.custom_id);

/** A copy of the example's prompt file with some of its front matter lines replaced. */
async function promptFile(cwd: string, from: string, lines: Record<string, string>): Promise<string> {
  let text = await readFile(from, "utf8");
  for (const [key, value] of Object.entries(lines))
    text = text.replace(new RegExp(`^${key}: .*$`, "m"), `${key}: ${value}`);
  const path = join(cwd, from.split("/").at(-1)!);
  await writeFile(path, text);
  return path;
}

/**
 * examples/judged-calls on one service: write, judge (a score by the sample's number: 1 to 5 in
 * turn), rewrite where the score is low. Sample 3's first draft misses its summary (asked again).
 */
function judgedCalls(): ServiceDouble {
  const drafts = new Map<number, number>();
  return serviceDouble((asked) => {
    const n = sampleOf(asked);
    if (asked.stage === 1) {
      const tries = (drafts.get(n) ?? 0) + 1;
      drafts.set(n, tries);
      return n === 3 && tries === 1
        ? `[Call] draft ${n}, no summary`
        : `[Call] draft ${n}\n[Summary] summary ${n}`;
    }
    if (asked.stage === 2) return JSON.stringify({ Score: (n % 5) + 1, Critique: `critique ${n}` });
    return `[Call] rewrite ${n}\n[Summary] summary of rewrite ${n}`;
  });
}

/** The judged example's three prompt files, every stage on an OpenAI model, the judge keeping `keep`. */
async function judgedPrompts(cwd: string, keep: string, rewrite = true): Promise<string[]> {
  return [
    join(CALLS, "write.md"),
    await promptFile(cwd, join(CALLS, "judge.md"), { model: "gpt-6.1-terra", keep }),
    ...(rewrite ? [await promptFile(cwd, join(CALLS, "rewrite.md"), { model: "gpt-6-luna" })] : []),
  ];
}

describe("a staged run, driven in process", () => {
  test("write, judge with keep, rewrite with when: each stage asks what its conditions say, once", async () => {
    const double = judgedCalls();
    const cwd = await tempDir();
    const prompts = await judgedPrompts(cwd, "Score >= 3");
    const made = await driveNew(
      double,
      { prompts, params: join(CALLS, "params.json"), samples: 10, batches: 2 },
      cwd,
    );
    expect(made.manifest.state).toBe("done");

    // Stage 1 asks every sample (sample 3 twice: its first draft was malformed); the judge every
    // sample once, with its valid draft; the rewrite only those kept whose score is under 4.
    const asked = askedPerStage(double);
    const ids = (stage: number) =>
      double.asked
        .filter((a) => a.stage === stage)
        .map(sampleOf)
        .sort((a, b) => a - b);
    expect(ids(1)).toEqual([0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]);
    expect(ids(2)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ids(3)).toEqual([2, 7]); // score 3: kept (>= 3) and weak (< 4)
    expect([...asked].filter(([key, count]) => count > 1 && key !== "1:000003")).toEqual([]);
    for (const judged of double.asked.filter((a) => a.stage === 2)) {
      expect(judged.model).toBe("gpt-6.1-terra");
      expect(judged.last).toContain(`draft ${sampleOf(judged)}\n`);
      expect(judged.last).toContain(`summary ${sampleOf(judged)}`);
      expect(judged.schema).toMatchObject({ required: ["Score", "Critique"] });
    }
    for (const rewritten of double.asked.filter((a) => a.stage === 3)) {
      expect(rewritten.model).toBe("gpt-6-luna");
      expect(rewritten.last).toContain(`Rated 3 of 5: "critique ${sampleOf(rewritten)}"`);
    }

    // The rows: the kept samples, each with its judge's fields and the rewrite's call where there was one.
    const rows = await readCsv(join(cwd, "out.csv"));
    expect(rows.map((r) => [Number(r.sample_id), r.Score, r.Call])).toEqual([
      [2, "3", "rewrite 2"],
      [3, "4", "draft 3"],
      [4, "5", "draft 4"],
      [7, "3", "rewrite 7"],
      [8, "4", "draft 8"],
      [9, "5", "draft 9"],
    ]);
    expect(made.manifest.stageCounts).toMatchObject({ kept: 6 });
    expectNothingSentTwice(double, made.manifest);

    // Driven again once done: nothing more is asked, and the rows stay.
    const before = double.asked.length;
    const again = await driveAgain(double, made);
    expect(again.log).toContain(`run ${made.manifest.id} is already done`);
    expect(double.asked).toHaveLength(before);
    expect(await readCsv(join(cwd, "out.csv"))).toEqual(rows);
  });

  test("a chunk's outcomes worked out a few samples at a time are those worked out whole", async () => {
    // A judge keeping Score >= 3, a rewrite where it is under 4, sample 3's draft asked twice.
    const double = judgedCalls();
    const cwd = await tempDir();
    const prompts = await judgedPrompts(cwd, "Score >= 3");
    const made = await driveNew(
      double,
      { prompts, params: join(CALLS, "params.json"), samples: 14, batches: 2 },
      cwd,
    );
    const view = runView(made.runDir, made.manifest, exportDataset(await datasetOf(made.manifest.config)));
    const flat = async (perSlice: number) => {
      const all: unknown[] = [];
      for (const chunk of made.manifest.chunks)
        for await (const { from, labels, outcomes } of outcomesOf(view, chunk, 3, perSlice))
          for (const [i, outcome] of outcomes.entries())
            all.push({ sample: chunk.firstSample + from + i, labels: labels[i], outcome });
      return all;
    };
    const openFiles = () => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    const whole = await flat(Infinity);
    expect(openFiles(), "every file it read is closed").toBe(before);
    expect(whole).toHaveLength(14);
    expect(whole.filter((s: any) => !s.outcome.droppedBy)).toHaveLength(8);
    expect(whole.filter((s: any) => s.outcome.fields.Call?.startsWith("rewrite"))).toHaveLength(3);
    for (const perSlice of [1, 2, 3, 5]) expect(await flat(perSlice), `${perSlice} at a time`).toEqual(whole);
    expect(openFiles(), "every file it read is closed").toBe(before);
  });

  test("a when that holds for no sample sends nothing to its stage; the run still ends with every kept row", async () => {
    const double = judgedCalls();
    const cwd = await tempDir();
    const prompts = await judgedPrompts(cwd, "Score >= 1");
    prompts[2] = await promptFile(cwd, prompts[2]!, { when: "Score > 5" });
    const made = await driveNew(double, { prompts, params: join(CALLS, "params.json"), samples: 5 }, cwd);
    expect(made.manifest.state).toBe("done");
    expect(double.asked.filter((a) => a.stage === 3)).toEqual([]);
    expect(made.manifest.batches.filter((b) => b.stage === 3 && b.requests > 0)).toEqual([]);
    expect((await readCsv(join(cwd, "out.csv"))).map((r) => r.Call)).toEqual(
      [0, 1, 2, 3, 4].map((n) => `draft ${n}`),
    );
  });

  for (const [point, stage] of [
    ["after-upload", 2],
    ["after-create", 2],
    ["look", 2],
    ["look", 3],
    ["after-results", 2],
  ] as const)
    test(`stopped ${point} in stage ${stage}, resumed: the same rows as a run never stopped, nothing asked twice`, async () => {
      const whole = await driveNew(judgedCalls(), {
        prompts: await judgedPrompts(await tempDir(), "Score >= 3"),
        params: join(CALLS, "params.json"),
        samples: 10,
        batches: 2,
      });
      const double = judgedCalls();
      double.crashAt(point, stage);
      const cwd = await tempDir();
      const options = {
        prompts: await judgedPrompts(cwd, "Score >= 3"),
        params: join(CALLS, "params.json"),
        samples: 10,
        batches: 2,
      };
      const stopped = await driveNew(double, options, cwd);
      expect(stopped.thrown).toBeInstanceOf(Crash);
      expect(stopped.manifest.state).toBe("running");

      const resumed = await driveAgain(double, stopped);
      expect(resumed.manifest.state).toBe("done");
      expect(await readCsv(join(cwd, "out.csv"))).toEqual(await readCsv(join(whole.cwd, "out.csv")));
      expect([...askedPerStage(double)].filter(([key, count]) => count > 1 && key !== "1:000003")).toEqual(
        [],
      );
      expectNothingSentTwice(double, resumed.manifest);
    });
});

describe("a conversation, driven in process", () => {
  /** examples/support-dialogues: a scenario, then four turns, each answered by its turn and sample. */
  const dialogues = () =>
    serviceDouble((asked) =>
      asked.stage === 1
        ? `[Persona] persona ${sampleOf(asked)}\n[Issue] issue ${sampleOf(asked)}`
        : `turn ${asked.stage - 1} of ${sampleOf(asked)}`,
    );
  const options = (cwd: string): RunOptions => ({
    prompts: [join(DIALOGUES, "scenario.md"), join(DIALOGUES, "dialogue.md")],
    params: join(DIALOGUES, "params.json"),
    samples: 4,
    batches: 2,
    output: join(cwd, "dialogues.jsonl"),
    format: "chat",
  });

  test("each turn is asked with the whole history, the sides taking turns; the export is every conversation whole", async () => {
    const double = dialogues();
    const cwd = await tempDir();
    const made = await driveNew(double, options(cwd), cwd);
    expect(made.manifest.state).toBe("done");
    expect(made.manifest.config.stages!.map((s) => s.turn)).toEqual([1, 2, 3, 4]);
    // Turn k is asked with the k-1 turns before it, each side seeing its own words as the assistant's.
    for (const asked of double.asked.filter((a) => a.stage > 1)) {
      const turn = asked.stage - 1;
      const n = sampleOf(asked);
      const history = asked.messages.slice(1).map((m) => [m.role, m.content]);
      const said = Array.from({ length: turn - 1 }, (_, i) => [
        (turn - 1 - i) % 2 ? "user" : "assistant",
        `turn ${i + 1} of ${n}`,
      ]);
      expect(history.slice(turn === 1 ? 1 : 0)).toEqual(said);
      expect(asked.messages[0]!.content).toContain(
        turn % 2 ? `You are persona ${n}` : "You are a support agent",
      );
    }
    const lines = await readJsonlFile(join(cwd, "dialogues.jsonl"));
    expect(lines.map((l) => l.messages.slice(1).map((m: any) => m.content))).toEqual(
      [0, 1, 2, 3].map((n) => [1, 2, 3, 4].map((t) => `turn ${t} of ${n}`)),
    );
    expect(lines.map((l) => l.messages.map((m: any) => m.role))).toEqual(
      Array(4).fill(["system", "user", "assistant", "user", "assistant"]),
    );
  });

  for (const point of ["after-create", "look", "after-results"] as const)
    test(`stopped in turn 3 (${point}) and resumed: every turn asked once per sample, every conversation whole`, async () => {
      const double = dialogues();
      double.crashAt(point, 4);
      const cwd = await tempDir();
      const stopped = await driveNew(double, options(cwd), cwd);
      expect(stopped.thrown).toBeInstanceOf(Crash);
      const resumed = await driveAgain(double, stopped);
      expect(resumed.manifest.state).toBe("done");
      expect([...askedPerStage(double).values()]).toEqual(Array(4 * 5).fill(1));
      expectNothingSentTwice(double, resumed.manifest);
      const lines = await readJsonlFile(join(cwd, "dialogues.jsonl"));
      expect(lines.map((l) => l.messages.at(-1).content)).toEqual([0, 1, 2, 3].map((n) => `turn 4 of ${n}`));
    });
});

describe("preference pairs across two models, driven in process", () => {
  for (const crash of [undefined, ["after-results", 3], ["after-create", 4]] as const)
    test(`each model answers every question once${crash ? `, stopped ${crash[0]} in stage ${crash[1]} and resumed` : ""}; the judge sees both; each pair is the answer it preferred against the other`, async () => {
      const double = serviceDouble((asked) => {
        const n = sampleOf(asked);
        if (asked.stage === 1) return `[Question] question ${n}?`;
        if (asked.stage === 4) return JSON.stringify({ Better: n % 3 ? "A" : "B", Why: `why ${n}` });
        return `[Answer] ${asked.model} answers ${n}`;
      });
      if (crash) double.crashAt(crash[0], crash[1]);
      const cwd = await tempDir();
      const answer = await promptFile(cwd, join(PAIRS, "answer.md"), {
        models: "[gpt-6-luna, gpt-6.1-terra]",
      });
      const judge = (await readFile(join(PAIRS, "judge.md"), "utf8")).replaceAll(
        "claude-haiku-5-5",
        "gpt-6-1-terra",
      );
      await writeFile(join(cwd, "judge.md"), judge);
      const made = await driveNew(
        double,
        {
          prompts: [join(PAIRS, "ask.md"), answer, join(cwd, "judge.md")],
          params: join(PAIRS, "params.json"),
          samples: 6,
          output: join(cwd, "pairs.jsonl"),
          format: "preference",
        },
        cwd,
      ).then((made) => {
        expect(made.thrown).toEqual(crash ? expect.any(Crash) : undefined);
        return crash ? driveAgain(double, made) : made;
      });
      expect(made.manifest.state).toBe("done");
      expectNothingSentTwice(double, made.manifest);
      const models = (stage: number) => [
        ...new Set(double.asked.filter((a) => a.stage === stage).map((a) => a.model)),
      ];
      expect([models(2), models(3), models(4)]).toEqual([
        ["gpt-6-luna"],
        ["gpt-6.1-terra"],
        ["gpt-6.1-terra"],
      ]);
      expect([...askedPerStage(double).values()]).toEqual(Array(6 * 4).fill(1));
      for (const judged of double.asked.filter((a) => a.stage === 4)) {
        const n = sampleOf(judged);
        expect(judged.last).toContain(`Answer A: gpt-6-luna answers ${n}\n`);
        expect(judged.last).toContain(`Answer B: gpt-6.1-terra answers ${n}`);
      }
      const pairs = await readJsonlFile(join(cwd, "pairs.jsonl"));
      const said = (model: string, n: number) => [
        { role: "assistant", content: `[Answer] ${model} answers ${n}` },
      ];
      expect(pairs.map((p) => [p.chosen, p.rejected])).toEqual(
        [0, 1, 2, 3, 4, 5].map((n) => {
          const [a, b] = [said("gpt-6-luna", n), said("gpt-6.1-terra", n)];
          return n % 3 ? [a, b] : [b, a];
        }),
      );
      for (const [n, pair] of pairs.entries()) expect(pair.prompt[0].content).toContain(`question ${n}?`);
    });
});

describe("a run whose stages keep nothing", () => {
  test("its export says what dropped every sample and how to see them, not to look for failed answers", async () => {
    const cwd = await tempDir();
    const options = {
      prompts: await judgedPrompts(cwd, "Score > 5", false),
      params: join(CALLS, "params.json"),
    };
    const made = await driveNew(judgedCalls(), { ...options, samples: 4 }, cwd);
    expect(made.log.at(-1)).toMatch(/^done: 0 of 4 samples .*kept 0, dropped 4 \(stage 2: keep Score > 5\)$/);
    const exported = await runCli(["export", made.manifest.id, "-p", "again.csv"], { cwd });
    expect(exported.code).toBe(6);
    expect(exported.stderr.trim().split("\n").at(-1)).toBe(
      `error: run ${made.manifest.id} kept no sample: 4 dropped (stage 2: keep Score > 5) — loosen the ` +
        `condition, or \`synthai export ${made.manifest.id} --include-dropped\` writes them with what dropped them`,
    );
  });
});

describe("--fill, driven in process", () => {
  const fill = async (cwd: string, maxDraws?: number): Promise<RunOptions> => ({
    prompts: await judgedPrompts(cwd, "Score >= 4", false),
    params: join(CALLS, "params.json"),
    samples: 5,
    fill: true,
    ...(maxDraws ? { maxDraws } : {}),
  });
  /** Samples the judge scores 4 or 5 (judgedCalls: the sample's number mod 5, plus 1). */
  const keptOf = (samples: number[]) => samples.filter((n) => (n % 5) + 1 >= 4);

  test("draws new samples until exactly n are kept, never asking an old one again", async () => {
    const double = judgedCalls();
    const cwd = await tempDir();
    const made = await driveNew(double, await fill(cwd), cwd);
    expect(made.manifest.state).toBe("done");
    expect(made.log.some((l) => /^--fill: 2 of 5 kept so far \(40%\); drawing \d+ more$/.test(l))).toBe(true);
    const drawn = made.manifest.config.samples;
    expect(drawn).toBeGreaterThan(5);
    // A judge that keeps none: the line says 0%, as it is, though the plan assumes some will be kept.
    const other = await tempDir();
    const keepingNone = {
      ...(await fill(other, 12)),
      prompts: await judgedPrompts(other, "Score > 5", false),
    };
    const none = await driveNew(judgedCalls(), keepingNone, other);
    expect(
      none.log.some((l) => /^--fill: 0 of 5 kept so far \(0%\); drawing 7 more$/.test(l)),
      none.log.join("\n"),
    ).toBe(true);
    const rows = await readCsv(join(cwd, "out.csv"));
    const samples = Array.from({ length: drawn }, (_, n) => n);
    expect(rows.map((r) => Number(r.sample_id))).toEqual(keptOf(samples).slice(0, 5));
    expect([...askedPerStage(double)].filter(([key, count]) => count > 1 && key !== "1:000003")).toEqual([]);
    expect(double.asked.filter((a) => a.stage === 2).map(sampleOf)).toEqual(samples);
  });

  test("a --fill run is not topped up: refused before anything is built or paid", async () => {
    const double = judgedCalls();
    const cwd = await tempDir();
    const made = await driveNew(double, await fill(cwd), cwd);
    const [asked, drawn] = [double.asked.length, made.manifest.config.samples];
    const topUp = resume(
      made.runDir,
      { apiKey: API_KEY, baseURL: undefined },
      {
        log: () => {},
        topUp: 4,
        services: double.services,
      },
    );
    await expect(topUp).rejects.toThrow(
      new UserError(
        `run ${made.manifest.id} keeps exactly 5 samples (--fill): --top-up would pay for new samples its target then leaves out`,
        "start a new run with a larger -n (and --fill) for more",
      ),
    );
    expect(double.asked).toHaveLength(asked);
    const after = JSON.parse(await readFile(join(made.runDir, "manifest.json"), "utf8"));
    expect([after.state, after.config.samples]).toEqual(["done", drawn]);
  });

  test("stops at --max-draws short of n, and resume with a higher limit goes on to n without asking again", async () => {
    const double = judgedCalls();
    const cwd = await tempDir();
    const made = await driveNew(double, await fill(cwd, 8), cwd);
    expect(made.manifest.config.samples).toBe(8);
    expect(made.log).toContain(
      `--fill: 2 of 5 kept after 8 draws, the --max-draws limit; \`synthai resume ${made.manifest.id} --max-draws N\` draws more`,
    );
    expect((await readCsv(join(cwd, "out.csv"))).map((r) => Number(r.sample_id))).toEqual([3, 4]);
    const resumed = await driveAgain(double, made, { maxDraws: 40 });
    expect(resumed.manifest.state).toBe("done");
    expect((await readCsv(join(cwd, "out.csv"))).map((r) => Number(r.sample_id))).toEqual([3, 4, 8, 9, 13]);
    expect([...askedPerStage(double)].filter(([key, count]) => count > 1 && key !== "1:000003")).toEqual([]);
    expectNothingSentTwice(double, resumed.manifest);
  });
});
