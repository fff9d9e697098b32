// The cache of answers: a rerun pays only for what changed, and never gets a wrong answer.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import {
  appendFile,
  lstat,
  mkdir,
  readFile,
  readdir,
  rename,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import {
  API_KEY,
  expectOneLineError,
  PARAMS,
  ROOT,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  runDirsByAge,
  tempDir,
  useFake,
} from "./helpers.ts";
import {
  answersUnder,
  bodyHash,
  cacheKey,
  canonicalJson,
  identityOf,
  keepable,
  limitIn,
} from "../src/cache/key.ts";
import { gemini } from "../src/api/endpoints/gemini.ts";
import { AnswerCache, cacheStats, type Entry } from "../src/cache/store.ts";
import { pruneCache } from "../src/cache/prune.ts";
import { parseAge, parseSize } from "../src/commands/cache.ts";
import { generateArgs } from "../src/commands/generate.ts";
import { optionsOf } from "../src/commands/named-options.ts";
import { runConfigOf } from "../src/commands/options.ts";

const server = useFake();
let url = "";
/** Starts this test's fake; its address is `url`. */
async function start(options: Parameters<typeof server.start>[0] = {}) {
  url = await server.start(options);
}
const fast = ["--poll-interval", "0.02", "-j", PARAMS];

/** A run of the built-in dataset in `cwd`, its own cache folder, the output named `out`. */
async function run(cwd: string, cache: string, out: string, extra: string[] = [], env = {}) {
  const args = ["-n", "12", "--seed", "5", "--base-url", url, "--cache-dir", cache, "-p", out];
  return runCli([...args, ...fast, ...extra], { cwd, env });
}

/** Every request the three vendors' fakes were asked, in batches and directly. */
function asked() {
  const direct = server.fake.requests.filter(
    (r) => r.method === "POST" && /completions|responses/.test(r.path),
  );
  const toGemini = server.gemini.requests.filter(
    (r) => r.method === "POST" && /:generateContent/.test(r.path),
  );
  return (
    server.fake.requestedIds().length +
    direct.length +
    server.anthropic.requestedIds().length +
    server.gemini.batchBilled.length +
    toGemini.length
  );
}

async function runDirOf(cwd: string, index: number): Promise<string> {
  return (await runDirsByAge(cwd))[index]!;
}

/** A dataset's rows without the columns that say which run made them. */
async function rowsOf(path: string) {
  return (await readCsv(path)).map(({ index: _index, ...row }) => row);
}

describe("the same command twice", () => {
  test("with the same seed sends nothing the second time, costs $0 and writes equal rows", async () => {
    await start({ malformedRate: 0.25, seed: 3 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const first = await run(cwd, cache, "a.csv");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/\d+ re-requested/);
    const sent = asked();
    const second = await run(cwd, cache, "b.csv");
    expect(second.code, second.stderr).toBe(0);
    expect(asked()).toBe(sent);
    expect(second.stderr).toMatch(/cost \$0\.0000 .*answered from the cache \(saved \$0\.0\d+\)/);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(await rowsOf(join(cwd, "a.csv")));
    // The ledger says it in status --json: every answer of the second run (its retries too) came from the cache.
    const runId = (await readManifest(await runDirOf(cwd, 1))).id;
    const status = JSON.parse((await runCli(["status", runId, "--json"], { cwd })).stdout);
    expect(status.costUsd).toBe(0);
    const firstManifest = await readManifest(await runDirOf(cwd, 0));
    const answered = firstManifest.batches.reduce((s: number, b: any) => s + b.requests, 0);
    expect(status.fromCache.hits).toBe(answered);
    expect(status.fromCache.savedUsd).toBeGreaterThan(0);
    expect((await runCli(["status", runId], { cwd })).stdout).toMatch(/answered from the cache/);
    // And the cache's own ledger, shown by `synthai cache`.
    const shown = await runCli(["cache", "--cache-dir", cache], { cwd });
    expect(shown.stdout).toMatch(new RegExp(`hits\\s+${answered}\\b`));
  });

  test.each([
    ["gemini", "gemini-3-flash"],
    ["anthropic", "claude-haiku-5-5"],
  ])("on %s, the second run sends nothing, costs nothing and writes equal rows", async (provider, model) => {
    await start({ seed: 6 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    // The vendor's fake is at the address its environment variable gives (helpers.ts).
    const on = (out: string) =>
      runCli(
        [
          "-n",
          "12",
          "--seed",
          "5",
          "--provider",
          provider,
          "--model",
          model,
          "--cache-dir",
          cache,
          "-p",
          out,
          ...fast,
        ],
        {
          cwd,
        },
      );
    const first = await on("a.csv");
    expect(first.code, first.stderr).toBe(0);
    const sent = asked();
    expect(sent).toBeGreaterThan(0);
    const second = await on("b.csv");
    expect(second.code, second.stderr).toBe(0);
    expect(asked()).toBe(sent);
    expect(second.stderr).toMatch(/cost \$0\.0000 .*answered from the cache/);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(await rowsOf(join(cwd, "a.csv")));
  });

  test("in --mode sync, the second run sends no request either", async () => {
    await start({ seed: 4 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--mode", "sync"])).code).toBe(0);
    const sent = asked();
    expect(sent).toBe(12);
    const second = await run(cwd, cache, "b.csv", ["--mode", "sync"]);
    expect(second.code, second.stderr).toBe(0);
    expect(asked()).toBe(sent);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(await rowsOf(join(cwd, "a.csv")));
  });

  test("--no-cache sends everything, and keeps nothing", async () => {
    await start({ seed: 5 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
    const sent = asked();
    const again = await run(cwd, cache, "b.csv", ["--no-canary", "--no-cache"]);
    expect(again.code, again.stderr).toBe(0);
    expect(asked()).toBe(2 * sent);
    expect(again.stderr).not.toMatch(/from the cache/);
    // Nor does it keep its answers: those of another seed would be 12 more entries.
    expect((await run(cwd, cache, "c.csv", ["--no-canary", "--no-cache", "--seed", "9"])).code).toBe(0);
    expect(cacheStats(cache).entries).toBe(12);
  });

  test("a new seed draws new answers: nothing of the first run is a hit", async () => {
    await start({ seed: 6 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
    const sent = asked();
    expect((await run(cwd, cache, "b.csv", ["--no-canary", "--seed", "6"])).code).toBe(0);
    expect(asked()).toBe(2 * sent);
  });

  test("N identical prompts stay N samples: each its own answer, each replayed as it was", async () => {
    await start({ seed: 8 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const schema =
      "schema:\n  type: object\n  properties:\n    Text: { type: string }\n  required: [Text]\n  additionalProperties: false\n";
    await writeFile(
      join(cwd, "same.md"),
      `---\nfields: [Text]\n${schema}---\nOne sentence about the {{Topic}}.\n`,
    );
    await writeFile(join(cwd, "params.json"), JSON.stringify({ Text: { Topic: ["sea"] } }));
    const args = ["--prompt", join(cwd, "same.md"), "-j", join(cwd, "params.json"), "-n", "6", "--no-canary"];
    expect((await runCli([...args, ...base(cache, "a.csv")], { cwd })).code).toBe(0);
    expect(asked()).toBe(6);
    const second = await runCli([...args, ...base(cache, "b.csv")], { cwd });
    expect(second.code, second.stderr).toBe(0);
    expect(asked()).toBe(6);
    const rows = await rowsOf(join(cwd, "a.csv"));
    expect(new Set(rows.map((r) => r.Text)).size).toBe(6);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(rows);
  });
});

describe("--pilot", () => {
  test("pilot requests are looked up and kept like others: the batch reuses them, a second run sends nothing", async () => {
    await start({ seed: 17 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const pilot = ["-n", "6", "--pilot", "3", "--yes"];
    const first = await run(cwd, cache, "a.csv", pilot);
    expect(first.code, first.stderr).toBe(0);
    expect(server.fake.chatCompletions).toBe(3);
    // The batch after the pilot sends only the samples the pilot did not answer.
    expect(server.fake.requestedIds().sort()).toEqual(["000003", "000004", "000005"]);
    expect(first.stderr).toContain("3 of 6 answered from the cache");
    const second = await run(cwd, cache, "b.csv", pilot);
    expect(second.code, second.stderr).toBe(0);
    expect(server.fake.chatCompletions).toBe(3);
    expect(server.fake.requestedIds()).toHaveLength(3);
    expect(second.stderr.match(/^pilot \d\/3 ok \(from the cache\): /gm)).toHaveLength(3);
    expect(second.stderr).toMatch(/pilot: 3\/3 valid, cost \$0\.0000;/);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(await rowsOf(join(cwd, "a.csv")));
  });
});

function base(cache: string, out: string): string[] {
  return ["--seed", "5", "--base-url", url, "--cache-dir", cache, "-p", out, "--poll-interval", "0.02"];
}

describe("a changed run pays only for what changed", () => {
  test("changing only the judge sends only the judge's requests", async () => {
    await start({ seed: 9 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const example = join(ROOT, "examples", "judged-calls");
    const judge = await readFile(join(example, "judge.md"), "utf8");
    await writeFile(join(cwd, "judge.md"), judge);
    const args = (out: string) => [
      ...["--prompt", join(example, "write.md"), "--prompt", join(cwd, "judge.md")],
      ...["-j", join(example, "params.json"), "-n", "10", "-b", "2", ...base(cache, out)],
    ];
    expect((await runCli(args("a.csv"), { cwd })).code).toBe(0);
    const openaiBefore = server.fake.batches.length;
    const claudeBefore = server.anthropic.requestedIds().length;
    const edited = `${judge.trimEnd()}\nBe strict.\n`;
    expect(edited).not.toBe(judge);
    await writeFile(join(cwd, "judge.md"), edited);
    const second = await runCli(args("b.csv"), { cwd });
    expect(second.code, second.stderr).toBe(0);
    // The writer (OpenAI) is asked nothing again; the judge (on Claude) is asked again, every request.
    expect(server.fake.batches.length).toBe(openaiBefore);
    const sentNow = server.anthropic.requestedIds().length - claudeBefore;
    expect(sentNow).toBeGreaterThan(0);
    const manifest = await readManifest(await runDirOf(cwd, 1));
    const judged = manifest.batches
      .filter((b: any) => b.stage === 2)
      .reduce((s: number, b: any) => s + b.requests, 0);
    expect(sentNow).toBe(judged);
    expect(manifest.batches.filter((b: any) => !b.stage).every((b: any) => b.batchId === "cache")).toBe(true);
  });

  test("--fill with the same seed, stages and all, continues from the cache: nothing sent again", async () => {
    await start({ seed: 15 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const example = join(ROOT, "examples", "judged-calls");
    const args = (out: string) => [
      ...["--prompt", join(example, "write.md"), "--prompt", join(example, "judge.md")],
      // In 4 batches: a run remembers the identities of its last chunks only, and makes an older
      // chunk's again when a later stage needs them.
      ...["-j", join(example, "params.json"), "-n", "8", "-b", "4", "--fill", ...base(cache, out)],
    ];
    expect((await runCli(args("a.csv"), { cwd })).code).toBe(0);
    const sent = asked();
    const second = await runCli(args("b.csv"), { cwd });
    expect(second.code, second.stderr).toBe(0);
    expect(asked()).toBe(sent);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(await rowsOf(join(cwd, "a.csv")));
  });

  for (const [example, prompts, format] of [
    ["support-dialogues", ["scenario.md", "dialogue.md"], "chat"],
    ["preference-pairs", ["ask.md", "answer.md", "judge.md"], "preference"],
  ] as const)
    test(`a conversation, several models (examples/${example}): the same command again sends nothing`, async () => {
      await start({ seed: 16 });
      const cwd = await tempDir();
      const cache = join(cwd, "cache");
      const dir = join(ROOT, "examples", example);
      const args = (out: string) => [
        ...prompts.flatMap((file) => ["--prompt", join(dir, file)]),
        ...["-j", join(dir, "params.json"), "-n", "6", "--format", format, ...base(cache, out)],
      ];
      expect((await runCli(args("a.jsonl"), { cwd })).code).toBe(0);
      const sent = asked();
      expect(sent).toBeGreaterThanOrEqual(6 * prompts.length);
      const second = await runCli(args("b.jsonl"), { cwd });
      expect(second.code, second.stderr).toBe(0);
      expect(asked()).toBe(sent);
      expect(await readFile(join(cwd, "b.jsonl"), "utf8")).toBe(await readFile(join(cwd, "a.jsonl"), "utf8"));
    });

  test("raising max_tokens reuses every finished answer and sends only those cut off", async () => {
    await start({ truncatedRate: 0.3, seed: 10 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary", "--max-tokens", "400"])).code).toBe(0);
    const firstRun = await runDirOf(cwd, 0);
    const samples = await readJsonlFile(join(firstRun, "samples", "c0000-a1.jsonl"));
    const cut = samples.filter((s) => s.status === "truncated").map((s) => s.custom_id);
    expect(cut.length).toBeGreaterThan(0);
    const before = server.fake.requestedIds().length;
    const second = await run(cwd, cache, "b.csv", ["--no-canary", "--max-tokens", "800"]);
    expect(second.code, second.stderr).toBe(0);
    const sentNow = server.fake.requestedIds().slice(before);
    // Only what was cut off goes again (and what that round sends once more, cut off again or malformed).
    expect(sentNow.slice(0, cut.length).sort()).toEqual([...cut].sort());
    expect(second.stderr).toContain(`${12 - cut.length} of 12 answered from the cache`);
  });
});

describe("a hit's prompt is never counted", () => {
  test("a partly cached batch counts the prompt tokens of what it sends, no more; a dry run counts every request", async () => {
    await start({ seed: 21 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
    const dry = await run(cwd, cache, "dry.csv", ["-n", "24", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    const second = await run(cwd, cache, "b.csv", ["--no-canary", "-n", "24"]);
    expect(second.code, second.stderr).toBe(0);
    const [first, dryRun, rerun] = await Promise.all(
      [0, 1, 2].map(async (i) => (await readManifest(await runDirOf(cwd, i))).batches[0]),
    );
    // The dry run looks nothing up: its estimate is for all 24; its first 12 are the first run's 12.
    expect(dry.stderr).toContain(
      `estimate: 24 requests in 1 batch(es), ${dryRun.promptTokens} prompt tokens`,
    );
    expect(rerun.cached).toMatchObject({ hits: 12, sent: 12 });
    expect(second.stderr).toMatch(/submitted requests\/\S+ \(12 requests\) as /);
    expect(rerun.promptTokens).toBe(dryRun.promptTokens - first.promptTokens);
    expect(rerun.cached.sentPromptTokens).toBe(rerun.promptTokens);
  });

  test("an answer found torn only when it is read is a miss after all: sent, and its prompt counted", async () => {
    await start({ seed: 22 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
    // One byte of the first record's answer changed: the index still names it, its checksum no longer holds.
    const [log] = readdirSync(cache).filter((name) => name.endsWith(".log"));
    const bytes = await readFile(join(cache, log!));
    bytes[bytes.indexOf(0x0a, 10) + 5]! ^= 1;
    await writeFile(join(cache, log!), bytes);
    const before = server.fake.requestedIds().length;
    const second = await run(cwd, cache, "b.csv", ["--no-canary"]);
    expect(second.code, second.stderr).toBe(0);
    expect(server.fake.requestedIds().length - before).toBe(1);
    const record = (await readManifest(await runDirOf(cwd, 1))).batches[0];
    expect(record.cached).toMatchObject({ hits: 11, sent: 1 });
    expect(record.promptTokens).toBeGreaterThan(0);
    expect(record.cached.sentPromptTokens).toBe(record.promptTokens);
    expect(await rowsOf(join(cwd, "b.csv"))).toHaveLength(12);
  });
});

describe("resumable and shared", () => {
  for (const point of ["after-cache-lookup", "after-upload", "after-create", "after-collect"]) {
    test(`killed ${point} in a partly cached run: resume ends exactly, nothing sent twice`, async () => {
      await start({ seed: 12 });
      const cwd = await tempDir();
      const cache = join(cwd, "cache");
      expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
      const before = server.fake.requestedIds().length;
      const killed = await run(cwd, cache, "b.csv", ["--no-canary", "-n", "24"], { SYNTHAI_CRASH_AT: point });
      expect(killed.signal).toBe("SIGKILL");
      const runDir = await runDirOf(cwd, 1);
      const { id } = await readManifest(runDir);
      const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], {
        cwd,
      });
      expect(resumed.code, resumed.stderr).toBe(0);
      const sentNow = server.fake.requestedIds().slice(before);
      // The 12 samples the first run made came from the cache; the 12 new ones were each sent once.
      expect(new Set(sentNow).size).toBe(sentNow.length);
      expect(sentNow.sort()).toEqual(Array.from({ length: 12 }, (_, i) => String(12 + i).padStart(6, "0")));
      const rows = await rowsOf(join(cwd, "b.csv"));
      expect(rows).toHaveLength(24);
      expect(rows.slice(0, 12)).toEqual(await rowsOf(join(cwd, "a.csv")));
      expect((await readManifest(runDir)).state).toBe("done");
    });
  }

  test("a judge on Claude, its process killed once its batch is sent and the run resumed: the same command again sends nothing", async () => {
    await start({ seed: 16 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const example = join(ROOT, "examples", "judged-calls");
    const args = (out: string) => [
      ...["--prompt", join(example, "write.md"), "--prompt", join(example, "judge.md")],
      ...["-j", join(example, "params.json"), "-n", "6", ...base(cache, out)],
    ];
    const killed = await runCli(args("a.csv"), { cwd, env: { SYNTHAI_CRASH_AT: "after-submit@s2" } });
    expect(killed.signal).toBe("SIGKILL");
    const { id } = await readManifest(await runDirOf(cwd, 0));
    // A new process collects the judge's answers and keeps them: under the keys a new run looks for.
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code, resumed.stderr).toBe(0);
    const sent = asked();
    const again = await runCli(args("b.csv"), { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(asked()).toBe(sent);
    expect(again.stderr).toMatch(/cost \$0\.0000 /);
    expect(await rowsOf(join(cwd, "b.csv"))).toEqual(await rowsOf(join(cwd, "a.csv")));
  });

  test("two runs sharing the cache at once are exact, and a third finds every answer", async () => {
    await start({ seed: 13 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
    const [b, c] = await Promise.all([
      run(cwd, cache, "b.csv", ["--no-canary", "-n", "24"]),
      run(cwd, cache, "c.csv", ["--no-canary", "-n", "24"]),
    ]);
    expect([b.code, c.code], b.stderr + c.stderr).toEqual([0, 0]);
    const first = await rowsOf(join(cwd, "a.csv"));
    const [rowsB, rowsC] = [await rowsOf(join(cwd, "b.csv")), await rowsOf(join(cwd, "c.csv"))];
    expect(rowsB.slice(0, 12)).toEqual(first);
    expect(rowsC.slice(0, 12)).toEqual(first);
    const before = asked();
    expect((await run(cwd, cache, "d.csv", ["--no-canary", "-n", "24"])).code).toBe(0);
    expect(asked()).toBe(before);
    // Each of its answers is one of the two runs' answers to that request, never a mix or a torn one.
    const rowsD = await rowsOf(join(cwd, "d.csv"));
    for (const [i, row] of rowsD.entries()) expect([rowsB[i], rowsC[i]]).toContainEqual(row);
  });

  test("synthai cache prune keeps what was used lately and drops the rest by size; what went is asked again", async () => {
    await start({ seed: 18 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv", ["--no-canary"])).code).toBe(0);
    const sent = asked();
    const young = await runCli(["cache", "prune", "--older-than", "1h", "--cache-dir", cache], { cwd });
    expect(young.stdout).toMatch(/^pruned 0 entries \(0 B\); 12 left/);
    const small = await runCli(["cache", "prune", "--max-size", "1B", "--cache-dir", cache], { cwd });
    expect(small.stdout).toMatch(/^pruned 12 entries .*; 0 left/);
    const again = await run(cwd, cache, "b.csv", ["--no-canary"]);
    expect(again.code, again.stderr).toBe(0);
    expect(asked()).toBe(2 * sent);
  });

  test("the API key is nowhere in the cache, and its folder is the user's alone", async () => {
    await start({ seed: 14 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    expect((await run(cwd, cache, "a.csv")).code).toBe(0);
    expect((await run(cwd, cache, "b.csv")).code).toBe(0);
    const files = await allFiles(cache);
    expect(cacheStats(cache).entries).toBeGreaterThanOrEqual(12);
    expect(files.some((file) => file.endsWith(".log"))).toBe(true);
    for (const file of files) expect(await readFile(file, "utf8")).not.toContain(API_KEY);
    expect((await lstat(cache)).mode & 0o777).toBe(0o700);
  });

  test("a cache folder that is a link or a file is one line before anything is built or paid for", async () => {
    await start();
    const cwd = await tempDir();
    await mkdir(join(cwd, "real"));
    await symlink(join(cwd, "real"), join(cwd, "linked"));
    await writeFile(join(cwd, "file"), "not a folder\n");
    await symlink(join(cwd, "nowhere"), join(cwd, "dangling"));
    for (const [dir, why] of [
      ["linked", /the cache folder .*linked is a link,/],
      ["dangling", /the cache folder .*dangling is a link,/],
      ["file", /the cache folder .*file is not a folder,/],
      ["file/sub", /the cache folder .*sub cannot be made: a file stands in its path,/],
    ] as const) {
      const result = await run(cwd, join(cwd, dir), "out.csv");
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr, why);
    }
    expect(asked()).toBe(0);
    expect(existsSync(join(cwd, "runs"))).toBe(false);
    expect(await readdir(join(cwd, "real"))).toEqual([]);
    // A dry run looks nothing up and keeps nothing: the folder is not its business.
    expect((await run(cwd, join(cwd, "file"), "out.csv", ["--dry-run"])).code).toBe(0);
    // Nor is a file a cache to show: no "entries 0" of it.
    const shown = await runCli(["cache", "--cache-dir", join(cwd, "file")], { cwd });
    expect(shown.code).toBe(2);
    expectOneLineError(
      shown.stderr,
      /the cache folder .*file is not a folder, .* — pass --cache-dir <folder>$/,
    );
  });

  test("resume checks the cache folder too, before it sends anything more", async () => {
    await start({ pollsPerPhase: 50 });
    const cwd = await tempDir();
    const cache = join(cwd, "cache");
    const detached = await run(cwd, cache, "out.csv", ["--detach"]);
    expect(detached.code, detached.stderr).toBe(0);
    const { id } = await readManifest(await runDirOf(cwd, 0));
    await rename(cache, join(cwd, "moved"));
    await writeFile(cache, "not a folder\n");
    const batches = server.fake.batchesCreated;
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code).toBe(2);
    expectOneLineError(resumed.stderr, /the cache folder .*cache is not a folder/);
    expect(server.fake.batchesCreated).toBe(batches);
  });
});

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)])),
  );
  return nested.flat();
}

describe("the key", () => {
  const service = { vendor: "openai", address: "https://api.openai.com/v1", url: "/v1/chat/completions" };
  const body = { model: "m", messages: [{ role: "user", content: "hi" }], max_completion_tokens: 100 };

  test("is the canonical request: key order does not matter, the token limit is left to the match", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    );
    const reordered = { max_completion_tokens: 500, messages: body.messages, model: "m" };
    expect(bodyHash(reordered, "max_completion_tokens")).toBe(bodyHash(body, "max_completion_tokens"));
    expect(bodyHash({ ...body, temperature: 0.5 }, "max_completion_tokens")).not.toBe(
      bodyHash(body, "max_completion_tokens"),
    );
  });

  test("Gemini's limit, nested in generationConfig, is left to the match as a top-level one is", () => {
    const options = { model: "gemini-3-flash", temperature: 0.5 };
    const bodyOf = (maxTokens: number) =>
      gemini.body([{ role: "user", content: "hi" }], { ...options, maxTokens }) as unknown as Record<
        string,
        any
      >;
    const [small, large] = [bodyOf(100), bodyOf(400)];
    const at = gemini.limits.maxTokens.at!;
    expect(bodyHash(small, at)).toBe(bodyHash(large, at));
    expect(
      bodyHash({ ...small, generationConfig: { ...small.generationConfig, temperature: 1 } }, at),
    ).not.toBe(bodyHash(small, at));
    expect([limitIn(small, at), limitIn(large, at), limitIn(body, "max_completion_tokens")]).toEqual([
      100, 400, 100,
    ]);
    expect(small.generationConfig.maxOutputTokens).toBe(100); // the body itself is left as it was
  });

  test("differs by seed, replicate, attempt, address and endpoint", () => {
    const hash = bodyHash(body, "max_completion_tokens");
    const key = (over: Partial<typeof service> = {}, seed = 1, replicate = 0, attempt = 1) =>
      cacheKey({ ...service, ...over }, seed, hash, identityOf(hash, replicate), attempt);
    const keys = [
      key(),
      key({}, 2),
      key({}, 1, 1),
      key({}, 1, 0, 2),
      key({ address: "http://localhost:8000/v1" }),
      key({ url: "/v1/responses" }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(key()).toBe(key());
  });

  test("an answer that finished under a limit answers any limit it fits in", () => {
    expect(answersUnder({ limit: 100, completionTokens: 100 }, 100)).toBe(true);
    expect(answersUnder({ limit: 100, completionTokens: 80 }, 400)).toBe(true);
    expect(answersUnder({ limit: 400, completionTokens: 80 }, 100)).toBe(true);
    expect(answersUnder({ limit: 400, completionTokens: 300 }, 100)).toBe(false);
  });

  test("keeps only finished answers: never cut off, filtered, empty or refused", () => {
    const said = (refusal?: string) => ({ choices: [{ message: { content: "x", refusal } }] });
    expect(keepable({ finish: "stop", text: "an answer" }, said())).toBe(true);
    expect(keepable({ finish: "length", text: "an ans" }, said())).toBe(false);
    expect(keepable({ finish: "content_filter", text: "" }, said())).toBe(false);
    expect(keepable({ finish: "stop", text: "  " }, said())).toBe(false);
    expect(keepable({ finish: "stop", text: "x" }, said("I can't help with that"))).toBe(false);
    expect(keepable({ finish: "stop", text: "x" }, { output: [{ content: [{ type: "refusal" }] }] })).toBe(
      false,
    );
  });
});

describe("the store", () => {
  const entry: Entry = {
    limit: 100,
    completionTokens: 20,
    finish: "stop",
    promptTokens: 10,
    cachedTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.001,
    body: '{"choices":[]}',
  };
  const key = "ab".padEnd(64, "0");

  const at = (dir: string, ext: string) =>
    readdirSync(dir)
      .filter((n) => n.endsWith(ext))
      .map((n) => join(dir, n));

  test("a torn, foreign or linked entry is a miss, never an answer", async () => {
    const dir = join(await tempDir(), "answers");
    const writer = new AnswerCache(dir);
    const other = "ab".padEnd(64, "1");
    writer.put(key, entry);
    writer.put(other, { ...entry, completionTokens: 9 });
    writer.flush();
    expect(new AnswerCache(dir).get(key)).toEqual(entry);
    // Foreign: an index line that names the other key's record under this key.
    const [index] = at(dir, ".idx");
    const lines = (await readFile(index!, "utf8")).trim().split("\n");
    const [, , otherOffset] = lines[1]!.split(" ");
    const [keyPart, log, , time] = lines[0]!.split(" ");
    await appendFile(index!, `${keyPart} ${log} ${otherOffset} ${Number(time) + 1}\n`);
    expect(new AnswerCache(dir).get(key)).toBeUndefined();
    expect(new AnswerCache(dir).get(other)?.completionTokens).toBe(9);
    // Linked: a log replaced by a link to a copy of itself is never read through.
    const [path] = at(dir, ".log");
    await rename(path!, `${path}.moved`);
    await symlink(`${path}.moved`, path!);
    expect(new AnswerCache(dir).get(other)).toBeUndefined();
    // A new answer goes to a log of its own, never through the link.
    const again = new AnswerCache(dir, { now: () => Date.now() + 10_000 });
    again.put(key, { ...entry, completionTokens: 7 });
    again.flush();
    expect(new AnswerCache(dir).get(key)?.completionTokens).toBe(7);
    expect((await lstat(path!)).isSymbolicLink()).toBe(true);
  });

  test("a prune between a reader's first look and its reads: what the prune kept still hits", async () => {
    const dir = join(await tempDir(), "answers");
    const keys = ["01", "02", "03"].map((p) => p.padEnd(64, "0"));
    for (const [i, k] of keys.entries()) {
      // Each answer in a log of its own, an older one first: the prune keeps the newest two.
      const writer = new AnswerCache(dir, { now: () => Date.now() - (3 - i) * 60_000 });
      writer.put(k, { ...entry, completionTokens: i + 1 });
      writer.flush();
    }
    const reader = new AnswerCache(dir);
    expect(reader.has(keys[0]!)).toBe(true); // its indexes read: each key's place in the old logs
    const oneRecord = statSync(at(dir, ".log")[0]!).size;
    pruneCache(dir, { maxBytes: 2.5 * oneRecord });
    expect(at(dir, ".log")).toHaveLength(1);
    const kept = new AnswerCache(dir);
    const expected = keys.map((k) => kept.get(k)?.completionTokens);
    expect(expected[0]).toBeUndefined();
    expect(expected[2]).toBe(3);
    expect(keys.map((k) => reader.get(k)?.completionTokens)).toEqual(expected);
  });

  test("a torn log tail is a miss, and every whole record before it still hits", async () => {
    const dir = join(await tempDir(), "answers");
    const writer = new AnswerCache(dir);
    const keys = ["01", "02", "03"].map((p) => p.padEnd(64, "0"));
    for (const [i, k] of keys.entries()) writer.put(k, { ...entry, completionTokens: i + 1 });
    writer.flush();
    const [log] = at(dir, ".log");
    await truncate(log!, (await lstat(log!)).size - 5);
    const reader = new AnswerCache(dir);
    expect(keys.map((k) => reader.get(k)?.completionTokens)).toEqual([1, 2, undefined]);
    // A torn index line (no newline yet) is not read either.
    const [index] = at(dir, ".idx");
    await appendFile(index!, `${"04".padEnd(32, "0")} ${basename(log!)} 0`);
    expect(new AnswerCache(dir).get("04".padEnd(64, "0"))).toBeUndefined();
  });

  test("writers in several processes at once stay exact: each key reads one writer's whole answer", async () => {
    const cwd = await tempDir();
    const dir = join(cwd, "answers");
    const script = join(cwd, "writer.ts");
    const store = pathToFileURL(join(ROOT, "src", "cache", "store.ts")).href;
    // Each writer keeps the same 400 keys, each answer naming its writer, padded past a frame read.
    await writeFile(
      script,
      `import { createHash } from "node:crypto";
import { AnswerCache } from ${JSON.stringify(store)};
const cache = new AnswerCache(${JSON.stringify(dir)});
const who = process.argv[2];
for (let i = 0; i < 400; i++) {
  const body = JSON.stringify({ who, i, pad: who.repeat(i * 97) });
  cache.put(createHash("sha256").update(String(i)).digest("hex"), { ...${JSON.stringify(entry)}, body });
  if (i % 50 === 0) cache.flush();
}
cache.flush();
`,
    );
    const writers = ["a", "b", "c"].map((who) => {
      const child = spawn(process.execPath, [script, who], { stdio: "inherit" });
      return new Promise((done) => child.on("close", done));
    });
    expect(await Promise.all(writers)).toEqual([0, 0, 0]);
    const reader = new AnswerCache(dir);
    for (let i = 0; i < 400; i++) {
      const got = JSON.parse(reader.get(createHash("sha256").update(String(i)).digest("hex"))!.body);
      expect(got).toEqual({ who: got.who, i, pad: String(got.who).repeat(i * 97) });
      expect(["a", "b", "c"]).toContain(got.who);
    }
    expect(cacheStats(dir).entries).toBe(400);
  });

  test("prune drops entries last used longer ago than asked (a hit is a use), then the least recently used until the rest fit", async () => {
    const dir = join(await tempDir(), "answers");
    const day = 86_400_000;
    const now = Date.now();
    let clock = now - 40 * day;
    const cache = new AnswerCache(dir, { now: () => clock });
    const keys = ["01", "02", "03"].map((p) => p.padEnd(64, "0"));
    for (const k of keys) cache.put(k, entry); // all written 40 days ago
    cache.flush();
    clock = now - 10 * day; // used 10 days ago: the second, by a later run
    const later = new AnswerCache(dir, { now: () => clock });
    expect(later.get(keys[1]!)).toEqual(entry);
    later.used(keys[1]!);
    later.flush();
    clock = now - 5 * day; // and the third used 5 days ago
    const last = new AnswerCache(dir, { now: () => clock });
    last.used(keys[2]!);
    last.flush();
    // Nothing that old: nothing goes, and nothing is rewritten.
    const files = readdirSync(dir).sort();
    expect(pruneCache(dir, { olderThanMs: 60 * day, now })).toEqual({ entries: 0, bytes: 0 });
    expect(readdirSync(dir).sort()).toEqual(files);
    expect(pruneCache(dir, { olderThanMs: 30 * day, now }).entries).toBe(1);
    expect(cacheStats(dir).entries).toBe(2);
    const fresh = new AnswerCache(dir);
    expect(fresh.get(keys[0]!)).toBeUndefined();
    expect(fresh.get(keys[1]!)).toEqual(entry);
    const size = cacheStats(dir).bytes;
    expect(pruneCache(dir, { maxBytes: size - 1, now }).entries).toBe(1);
    // The least recently used went; what is left is whole, and still dated by its last use.
    expect(new AnswerCache(dir).get(keys[1]!)).toBeUndefined();
    expect(new AnswerCache(dir).get(keys[2]!)).toEqual(entry);
    expect(pruneCache(dir, { olderThanMs: 4 * day, now }).entries).toBe(1);
    expect(cacheStats(dir)).toMatchObject({ entries: 0, bytes: 0 });
  });

  test("entries an earlier version left (a file each, in folders 00-ff) are shown by synthai cache and removed by any prune; nothing else is touched", async () => {
    const dir = join(await tempDir(), "answers");
    const cache = new AnswerCache(dir);
    cache.put(key, entry);
    cache.flush();
    const old = (p: string) => p.padEnd(64, "7");
    const write = async (path: string, text = "x") => {
      await mkdir(join(dir, dirname(path)), { recursive: true });
      await writeFile(join(dir, path), text);
    };
    await write(`ab/${old("ab")}.json`, "old answer");
    await write(`ab/${old("ab")}.json.123.k2x9.tmp`); // half written by a killed run
    await write(`0f/${old("0f")}.json`);
    await write("0f/notes.txt"); // not the old layout's: kept, and its folder with it
    await write(`zz/${old("zz")}.json`); // not a two-hex folder
    await write(`cd/${old("ab")}.json`); // a key that is not this folder's
    await write(`${old("ee")}.json`); // not in a folder
    await write(`elsewhere/ef/${old("ef")}.json`);
    await symlink(join(dir, "elsewhere", "ef"), join(dir, "ef")); // a link is never followed
    expect(cacheStats(dir).old).toEqual({ entries: 2, bytes: 10 + 1 + 1 });
    expect((await runCli(["cache", "--cache-dir", dir], { cwd: dirname(dir) })).stdout).toMatch(
      /left by an earlier version +2 entries \(12 B\), never read: synthai cache prune removes them/,
    );
    const before = readdirSync(dir, { recursive: true }).map(String).sort();
    // Nothing of the log is old enough: only the earlier version's entries go.
    expect(pruneCache(dir, { olderThanMs: 86_400_000 })).toEqual({ entries: 2, bytes: 12 });
    const gone = ["ab", `ab/${old("ab")}.json`, `ab/${old("ab")}.json.123.k2x9.tmp`, `0f/${old("0f")}.json`];
    expect(readdirSync(dir, { recursive: true }).map(String).sort()).toEqual(
      before.filter((name) => !gone.includes(name)),
    );
    expect(new AnswerCache(dir).get(key)).toEqual(entry);
    expect(cacheStats(dir)).toMatchObject({ entries: 1, old: { entries: 0, bytes: 0 } });
    expect((await runCli(["cache", "--cache-dir", dir], { cwd: dirname(dir) })).stdout).not.toMatch(
      /earlier version/,
    );
  });

  test("the library takes the same options: cache: false, cacheDir", () => {
    const config = (options: Record<string, unknown>) =>
      runConfigOf(optionsOf("generate", generateArgs, options), () => 1);
    expect(config({})).not.toHaveProperty("noCache");
    expect(config({ cache: false, cacheDir: "/somewhere/answers" })).toMatchObject({
      noCache: true,
      cacheDir: "/somewhere/answers",
    });
  });

  test("sizes and ages are read as written, and a wrong one is one line", () => {
    expect(parseSize("1GB")).toBe(1e9);
    expect(parseSize("500 MB")).toBe(5e8);
    expect(parseAge("30d")).toBe(30 * 86_400_000);
    expect(() => parseSize("lots")).toThrow(/not a size/);
    expect(() => parseAge("a month")).toThrow(/not an age/);
  });
});
