// Conversations: K turns between two sides, each turn a batch round with the whole history.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  ROOT,
  expectOneLineError,
  onlyRunDir,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const EXAMPLE = join(ROOT, "examples", "support-dialogues");
const prompts = ["scenario.md", "dialogue.md"].flatMap((f) => ["--prompt", join(EXAMPLE, f)]);
const fast = [
  "--poll-interval",
  "0.02",
  "-j",
  join(EXAMPLE, "params.json"),
  "-p",
  "dialogues.jsonl",
  "--format",
  "chat",
];

/** Every conversation whole: the agent's instructions, then four turns, the customer first. */
async function expectWholeConversations(cwd: string, samples: number) {
  const lines = await readJsonlFile(join(cwd, "dialogues.jsonl"));
  expect(lines).toHaveLength(samples);
  for (const { messages } of lines) {
    expect(messages.map((m: any) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant"]);
    expect(messages[0].content).toMatch(/^You are a support agent: .*The product you support: \S/);
    for (const m of messages) expect(m.content.length).toBeGreaterThan(0);
  }
  const manifest = await readManifest(await onlyRunDir(cwd));
  // One batch per stage (turn), chunk and attempt: no turn sent twice.
  expect(server.fake.batchesCreated).toBe(manifest.batches.filter((b: any) => b.requests > 0).length);
  expect(new Set(server.fake.uploads).size).toBe(server.fake.uploads.length);
  const asked = server.fake.requestedIds();
  return { manifest, asked };
}

describe("conversations", () => {
  test("examples/support-dialogues: four turns, each asked with the whole history, exported as chat", async () => {
    const url = await server.start({ seed: 4 });
    const cwd = await tempDir();
    const result = await runCli([...prompts, "-n", "8", "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const { manifest } = await expectWholeConversations(cwd, 8);
    expect(manifest.config.stages.map((s: any) => s.turn)).toEqual([1, 2, 3, 4]);
    // Turn 3 (the customer again) sees turn 1 as its own words and turn 2 as the other side's.
    const runDir = await onlyRunDir(cwd);
    const [turn1] = await readJsonlFile(join(runDir, "samples", "s2-c0000-a1.jsonl"));
    const turn3 = (await readJsonlFile(join(runDir, "requests", "s4-c0000-a1.jsonl"))).find(
      (r) => r.custom_id === turn1.custom_id,
    );
    expect(turn3.body.messages.map((m: any) => m.role)).toEqual(["system", "assistant", "user"]);
    expect(turn3.body.messages[1].content).toBe(turn1.fields.Turn1);
    // inspect shows the conversation turn by turn.
    const inspected = await runCli(["inspect", manifest.id, "--sample", "1"], { cwd });
    expect(inspected.stdout.match(/── sample 1 · id \d+(?: · stage \d)?/g)).toEqual([
      "── sample 1 · id 000000",
      "── sample 1 · id 000000 · stage 2",
      "── sample 1 · id 000000 · stage 3",
      "── sample 1 · id 000000 · stage 4",
      "── sample 1 · id 000000 · stage 5",
    ]);
  });

  // The other steps of a turn (a look, its results) are stopped and resumed in process in drive.test.ts.
  for (const point of ["after-create@s4"])
    test(`kill -9 in the middle of turn 3 (${point}): resume sends no turn twice, every conversation whole`, async () => {
      const url = await server.start({ seed: 6 });
      const cwd = await tempDir();
      const killed = await runCli([...prompts, "-n", "10", "-b", "2", "--base-url", url, ...fast], {
        cwd,
        env: { SYNTHAI_CRASH_AT: point },
      });
      expect(killed.signal).toBe("SIGKILL");
      const { id } = await readManifest(await onlyRunDir(cwd));
      const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      const { asked } = await expectWholeConversations(cwd, 10);
      // Each sample asked once per stage: the scenario and four turns.
      expect(asked).toHaveLength(10 * 5);
    });

  test('a turn that answers "No", "0" or "false" is a turn like any other: the conversation goes on to its last', async () => {
    // Turn 1 answers "No", turn 2 "0", turn 3 "false"; the scenario and turn 4 are made up as usual.
    const said = ["No", "0", "false"];
    const url = await server.start({
      seed: 5,
      answer: ({ messages = [] }) => {
        if (messages[0]?.role !== "system") return undefined;
        const turn = messages.at(-1)?.content === "Begin the conversation." ? 1 : messages.length;
        return said[turn - 1];
      },
    });
    const cwd = await tempDir();
    const result = await runCli([...prompts, "-n", "6", "--base-url", url, ...fast], { cwd });
    expect(result.code, result.stderr).toBe(0);
    await expectWholeConversations(cwd, 6);
    for (const { messages } of await readJsonlFile(join(cwd, "dialogues.jsonl")))
      expect(messages.slice(1, 4).map((m: any) => m.content)).toEqual(said);
    // Each sample asked once per stage: the scenario and all four turns.
    expect(server.fake.requestedIds()).toHaveLength(6 * 5);
  });

  test("a conversation given as the first prompt file is one line", async () => {
    const cwd = await tempDir();
    const result = await runCli(["--prompt", join(EXAMPLE, "dialogue.md"), "--dry-run", ...fast], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /dialogue\.md is a conversation, .* — give it as a later --prompt/);
  });
});
