import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import matter from "gray-matter";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { FakeHub, FAKE_HUB_READ_TOKEN, FAKE_HUB_TOKEN, type FakeHubOptions } from "../src/fake/hub.ts";
import { datasetRepoName, retryAfterMs } from "../src/api/hub.ts";
import { mergeCard, planCommit, type LocalFile } from "../src/pipeline/hub-push.ts";
import { shardedWriter } from "../src/pipeline/export-hf.ts";
import { FORMATS } from "../src/io/formats/index.ts";
import {
  API_KEY,
  ENTRY,
  expectOneLineError,
  filesUnder,
  LAUNCHER,
  onlyRunDir,
  processGone,
  readManifest,
  ROOT,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const SPEC = join(ROOT, "test", "fixtures", "typed-spec.ts");
const TYPED_PARAMS = join(ROOT, "test", "fixtures", "typed-params.json");

let hub: FakeHub | undefined;
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
});
async function startHub(options: FakeHubOptions = {}): Promise<string> {
  hub = new FakeHub(options);
  return hub.start();
}

/** One finished run, made once: pushing reads it, never changes it. */
let run: { cwd: string; id: string };
beforeAll(async () => {
  const url = await server.start({ seed: 5 });
  const cwd = await tempDir();
  const made = await runCli(
    ["-n", "60", "-b", "2", "-p", "out.csv", "--base-url", url, "--poll-interval", "0.02"].concat([
      "--spec",
      SPEC,
      "-j",
      TYPED_PARAMS,
    ]),
    { cwd },
  );
  expect(made.code, made.stderr).toBe(0);
  run = { cwd, id: (await readManifest(await onlyRunDir(cwd))).id };
}, 60_000);

const hubEnv = (url: string, token = FAKE_HUB_TOKEN) => ({ HF_ENDPOINT: url, HF_TOKEN: token });

async function push(url: string, args: string[], token = FAKE_HUB_TOKEN) {
  return runCli(["export", run.id, ...args], { cwd: run.cwd, env: hubEnv(url, token) });
}

/** A file as the Hub serves it (resolve, LFS followed), or undefined. */
async function download(url: string, repo: string, path: string): Promise<Buffer | undefined> {
  const res = await fetch(`${url}/datasets/${repo}/resolve/main/${path}`, {
    headers: { Authorization: `Bearer ${FAKE_HUB_TOKEN}` },
  });
  return res.ok ? Buffer.from(await res.arrayBuffer()) : undefined;
}

async function remotePaths(url: string, repo: string): Promise<string[]> {
  const res = await fetch(`${url}/api/datasets/${repo}/tree/main?recursive=true`, {
    headers: { Authorization: `Bearer ${FAKE_HUB_TOKEN}` },
  });
  return ((await res.json()) as { type: string; path: string }[])
    .filter((e) => e.type === "file")
    .map((e) => e.path)
    .sort();
}

describe("export --push: one commit to the Hugging Face Hub", () => {
  test("the pushed files are the --hf folder's, read back shard by shard; the Parquet keeps its types; the card says how it was made", async () => {
    const url = await startHub();
    const result = await push(url, [
      "--hf",
      "hf",
      "--split",
      "train=0.8,test=0.2",
      "--push",
      "synthai-user/calls",
      "--license",
      "cc-by-4.0",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/created dataset repository synthai-user\/calls/);
    expect(result.stderr).toMatch(
      /pushed run .* \(commit [0-9a-f]{7}: 5 files added or changed, 0 deleted\)/,
    );
    expect(hub!.commitCount).toBe(1);
    const dir = join(run.cwd, "hf");
    const local = await filesUnder(dir);
    expect(local).toEqual([
      "README.md",
      "data/test-00000-of-00001.parquet",
      "data/train-00000-of-00001.parquet",
      "synthai/typed-params.json",
      "synthai/typed-spec.ts",
    ]);
    expect(await remotePaths(url, "synthai-user/calls")).toEqual([".gitattributes", ...local].sort());
    for (const path of local)
      expect(await download(url, "synthai-user/calls", path)).toEqual(await readFile(join(dir, path)));
    // Parquet went through LFS, its checksum verified by the Hub.
    expect(hub!.lfsUploads).toHaveLength(2);

    const card = matter((await download(url, "synthai-user/calls", "README.md"))!.toString());
    expect(card.data).toMatchObject({
      license: "cc-by-4.0",
      tags: ["synthetic", "synthai"],
      size_categories: ["n<1K"],
      annotations_creators: ["machine-generated"],
    });
    let rows = 0;
    for (const { split, path } of card.data.configs[0].data_files) {
      const bytes = (await download(url, "synthai-user/calls", path))!;
      const file = new Uint8Array(bytes).buffer;
      const read = await parquetReadObjects({ file });
      const info = card.data.dataset_info.splits.find((s: { name: string }) => s.name === split);
      expect(read).toHaveLength(info.num_examples);
      expect(info.num_bytes).toBeGreaterThan(0);
      const first = read[0]!;
      expect(typeof first.Difficulty).toBe("bigint");
      expect(typeof first.Score).toBe("number");
      expect(typeof first.Verified).toBe("boolean");
      expect(first.Source).toEqual({ Name: expect.any(String), Year: expect.any(BigInt) });
      rows += read.length;
    }
    expect(rows).toBe(60);
    expect(card.data.dataset_info.download_size).toBeGreaterThan(0);
    expect(card.content).toContain("`synthai/` holds the parameters");
    expect(await download(url, "synthai-user/calls", "synthai/typed-params.json")).toEqual(
      await readFile(TYPED_PARAMS),
    );
    // The token is nowhere: not in a pushed file, the run folder, or what was printed.
    for (const path of local) expect((await readFile(join(dir, path))).includes(FAKE_HUB_TOKEN)).toBe(false);
    const runDir = await onlyRunDir(run.cwd);
    for (const path of await filesUnder(runDir))
      expect((await readFile(join(runDir, path))).includes(FAKE_HUB_TOKEN)).toBe(false);
    expect(result.stderr + result.stdout).not.toContain(FAKE_HUB_TOKEN);
  });

  test("a re-push with fewer splits deletes the stale shards in the same single commit; the same push again commits nothing", async () => {
    const url = await startHub();
    const repo = "synthai-org/calls";
    expect((await push(url, ["--split", "train=0.5,test=0.5", "--push", repo])).code).toBe(0);
    expect(await remotePaths(url, repo)).toContain("data/test-00000-of-00001.parquet");
    const again = await push(url, ["--push", repo]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/2 files added or changed, 1 deleted/);
    expect(hub!.commitCount).toBe(2);
    expect(await remotePaths(url, repo)).toEqual([
      ".gitattributes",
      "README.md",
      "data/train-00000-of-00001.parquet",
      "synthai/typed-params.json",
      "synthai/typed-spec.ts",
    ]);
    // Without --hf, the folder pushed is kept in the run's own: the same files as on the Hub.
    const kept = join(await onlyRunDir(run.cwd), "hf");
    for (const path of await filesUnder(kept))
      expect(await download(url, repo, path)).toEqual(await readFile(join(kept, path)));
    const same = await push(url, ["--push", repo]);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/already holds this export .*: nothing to commit/);
    expect(hub!.commitCount).toBe(2);
  });

  test("an existing card's metadata that synthai does not write is kept, and its tags beside synthai's", async () => {
    const url = await startHub();
    const theirs =
      "---\nlicense: apache-2.0\npretty_name: Calls of mine\ntags:\n  - support\n---\nMy words.\n";
    hub!.addRepo("dataset", "synthai-user/mine", { "README.md": theirs });
    const result = await push(url, ["--push", "synthai-user/mine"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/created/);
    const card = matter((await download(url, "synthai-user/mine", "README.md"))!.toString());
    expect(card.data).toMatchObject({
      license: "apache-2.0",
      pretty_name: "Calls of mine",
      tags: ["synthetic", "synthai", "support"],
    });
    expect(card.data.configs[0].data_files[0].path).toBe("data/train-00000-of-00001.parquet");
    expect(hub!.commitCount).toBe(1);
  });

  test("a 429 waits for its Retry-After, then makes exactly one commit", async () => {
    const url = await startHub({
      faults: [{ method: "POST", path: /\/commit\/main$/, status: 429, times: 1, retryAfter: 1 }],
    });
    const result = await push(url, ["--push", "synthai-user/limited"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/rate-limiting .*\(429\).*before another try in 1 s/);
    expect(hub!.commitCount).toBe(1);
  });

  test("a 504 after the commit landed is checked against the repository: no second commit", async () => {
    const url = await startHub({
      faults: [{ method: "POST", path: /\/commit\/main$/, status: 504, times: 1, afterHandling: true }],
    });
    const result = await push(url, ["--push", "synthai-user/landed"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/the Hub failed \(504\)/);
    expect(result.stderr).toMatch(
      /pushed run .* \(commit [0-9a-f]{7}: 4 files added or changed, 0 deleted\); found in the repository/,
    );
    expect(hub!.commitCount).toBe(1);
    expect(hub!.requests.filter((r) => r.method === "POST" && /\/commit\/main$/.test(r.path))).toHaveLength(
      1,
    );
  });

  test("another writer's commit between the head read and ours: 412, then the push reads the repository again and keeps that commit's files", async () => {
    let other = false;
    const url = await startHub({
      onRequest: ({ method, path }) => {
        if (method !== "POST" || !path.endsWith("/preupload/main") || other) return;
        other = true;
        hub!.commitFiles("synthai-user/raced", { "notes.md": "theirs" });
      },
    });
    const result = await push(url, ["--push", "synthai-user/raced"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/synthai-user\/raced .*changed during the push \(412\); reading .* again/);
    expect(hub!.commitCount).toBe(1);
    expect((await download(url, "synthai-user/raced", "notes.md"))?.toString()).toBe("theirs");
    expect(await remotePaths(url, "synthai-user/raced")).toContain("data/train-00000-of-00001.parquet");
  });

  test.each([
    ["before the commit is made", false, 1],
    ["after the commit landed", true, 0],
  ])(
    "kill -9 during a push %s, then the push again: one commit, and no LFS object sent twice",
    async (_, afterHandling, commitsOnRetry) => {
      const url = await startHub({
        faults: [{ method: "POST", path: /\/commit\/main$/, status: 0, times: 1, hang: true, afterHandling }],
      });
      const hung = hub!.hung();
      const child = spawn(process.execPath, [ENTRY, "export", run.id, "--push", "synthai-user/killed"], {
        cwd: run.cwd,
        env: { ...process.env, OPENAI_API_KEY: API_KEY, ...hubEnv(url) },
      });
      const ended = new Promise((resolve) => child.on("close", (_code, signal) => resolve(signal)));
      await hung;
      child.kill("SIGKILL");
      expect(await ended).toBe("SIGKILL");
      const uploaded = [...hub!.lfsUploads];
      expect(uploaded).toHaveLength(1);
      expect(hub!.commitCount).toBe(1 - commitsOnRetry);

      const again = await push(url, ["--push", "synthai-user/killed"]);
      expect(again.code, again.stderr).toBe(0);
      expect(hub!.commitCount).toBe(1);
      expect(hub!.lfsUploads).toEqual(uploaded);
      const local = join(await onlyRunDir(run.cwd), "hf");
      for (const path of await filesUnder(local))
        expect(await download(url, "synthai-user/killed", path)).toEqual(await readFile(join(local, path)));
    },
  );

  test("the library's push sends its folder's files, as the CLI does", async () => {
    const url = await startHub();
    const { push: pushRun } = await import("../src/index.ts");
    const lines: string[] = [];
    const dir = join(run.cwd, "hf-library");
    await pushRun(run.id, {
      repo: "synthai-org/library",
      token: FAKE_HUB_TOKEN,
      hubUrl: url,
      split: "train=0.5,test=0.5",
      private: true,
      dir,
      runsDir: join(run.cwd, "runs"),
      onLog: (line) => lines.push(line),
    });
    expect(lines.at(-1)).toMatch(/pushed run .* → .*synthai-org\/library \(commit/);
    expect(lines).toContain("created dataset repository synthai-org/library (private)");
    // Private: without a token, the Hub shows nothing there.
    expect((await fetch(`${url}/api/datasets/synthai-org/library/tree/main`)).status).toBe(404);
    for (const path of await filesUnder(dir))
      expect(await download(url, "synthai-org/library", path)).toEqual(await readFile(join(dir, path)));
    expect(hub!.commitCount).toBe(1);
    // A token the Hub refuses: the hint names the library's option, not the CLI's flag.
    const refused = await pushRun(run.id, {
      repo: "synthai-org/library",
      token: "hf_notAToken12345",
      hubUrl: url,
      dir: join(run.cwd, "hf-refused"),
      runsDir: join(run.cwd, "runs"),
      onLog: () => {},
    }).catch((error: Error & { hint?: string }) => error.hint);
    expect(refused).toMatch(/^set HF_TOKEN \(or token\) to a valid token/);
  });

  test("--hf-token given to the launcher is never on the command line of the process that pushes", async () => {
    const url = await startHub({
      faults: [{ method: "POST", path: /\/commit\/main$/, status: 0, times: 1, hang: true }],
    });
    const hung = hub!.hung();
    // As a user starts it: bin/synthai with the machine's own node first on the PATH.
    const PATH = (process.env.PATH ?? "")
      .split(":")
      .filter((dir) => !dir.includes("node_modules"))
      .join(":");
    const args = [
      "export",
      run.id,
      "--push",
      "synthai-user/launched",
      "--hub-url",
      url,
      "--hf-token",
      FAKE_HUB_TOKEN,
    ];
    const launcher = spawn(LAUNCHER, args, {
      cwd: run.cwd,
      env: { ...process.env, PATH, HF_TOKEN: "" },
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => launcher.on("exit", resolve));
    await hung;
    const worker = Number((await readFile(join(await onlyRunDir(run.cwd), ".lock"), "utf8")).split(" ")[0]);
    const cmdline = await readFile(`/proc/${worker}/cmdline`, "utf8");
    expect(cmdline).toContain("--push");
    expect(cmdline).not.toContain(FAKE_HUB_TOKEN);
    process.kill(worker, "SIGKILL");
    launcher.kill("SIGKILL");
    await exited;
    await processGone(worker);
    const again = await push(url, ["--push", "synthai-user/launched"]);
    expect(again.code, again.stderr).toBe(0);
    expect(hub!.commitCount).toBe(1);
  });

  test("a run with no valid sample: its export says so and exits 6, and nothing reaches the Hub", async () => {
    const url = await server.start({ seed: 6 });
    const cwd = await tempDir();
    // Every answer cut off at 5 tokens: nothing valid, nothing to retry.
    const args = [
      "-n",
      "6",
      "-p",
      "out.csv",
      "--max-tokens",
      "5",
      "--base-url",
      url,
      "--poll-interval",
      "0.02",
    ];
    const made = await runCli(args, { cwd });
    expect(made.code, made.stderr).toBe(6);
    const { id } = await readManifest(await onlyRunDir(cwd));
    const exported = await runCli(["export", id, "-p", "again.csv"], { cwd });
    expect(exported.code).toBe(6);
    expectOneLineError(exported.stderr, new RegExp(`run ${id} has no valid sample to export`));
    // Nothing was exported, and nothing said it was: no file with a header alone, no folder.
    expect(exported.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(cwd, "again.csv"))).toBe(false);
    expect(existsSync(join(cwd, "again_metrics.csv"))).toBe(false);
    const folder = await runCli(["export", id, "--hf", "empty-hf"], { cwd });
    expect(folder.code).toBe(6);
    expect(folder.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(cwd, "empty-hf"))).toBe(false);
    const hubUrl = await startHub();
    const pushed = await runCli(["export", id, "--push", "synthai-user/empty"], { cwd, env: hubEnv(hubUrl) });
    expect(pushed.code).toBe(6);
    expectOneLineError(pushed.stderr, /has no valid sample to export; nothing was pushed to the Hub/);
    expect(pushed.stderr.trim().split("\n")).toHaveLength(1);
    expect(hub!.repos.size).toBe(0);
  });

  test("synthai fake --hub serves the fake Hub that a push goes to", async () => {
    const child = spawn(process.execPath, [ENTRY, "fake", "--hub", "--port", "0"], { cwd: run.cwd });
    const url = await new Promise<string>((resolve) =>
      child.stdout.once("data", (d) => resolve(String(d).trim())),
    );
    try {
      const result = await push(url, ["--push", "synthai-user/served"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/pushed run .*synthai-user\/served \(commit/);
    } finally {
      child.kill("SIGTERM");
    }
  });

  test("a bad token, no access, a missing namespace, another kind of repository, no token: one line each, naming what to do", async () => {
    const url = await startHub({ otherNamespaces: ["someone-else"] });
    const cases: [string[], string, RegExp][] = [
      [["--push", "synthai-user/x"], "hf_notAToken12345", /refused the token \(401\).*set HF_TOKEN/],
      [
        ["--push", "synthai-user/x"],
        FAKE_HUB_READ_TOKEN,
        /may not write to synthai-user\/x.*\(403\).*write access/,
      ],
      [["--push", "someone-else/x"], FAKE_HUB_TOKEN, /may not write to someone-else\/x.*\(403\)/],
      [["--push", "nobody/x"], FAKE_HUB_TOKEN, /has no nobody\/x .*\(404\).*check the namespace/],
      [
        ["--push", "spaces/synthai-user/x"],
        FAKE_HUB_TOKEN,
        /names a spaces repository.*name a dataset repository/,
      ],
      [["--push", "synthai-user/x"], "", /--push needs a Hub token.*set HF_TOKEN/],
      [["--push", "synthai-user/x"], "not-a-hub-token", /does not look like one \(tokens start with hf_\)/],
      [["--push", "synthai-user/x", "--license", "mine"], FAKE_HUB_TOKEN, /--license mine is not a license/],
    ];
    for (const [args, token, message] of cases) {
      const result = await push(url, args, token);
      expect(result.code, result.stderr).toBe(2);
      expectOneLineError(result.stderr, message);
      if (token) expect(result.stderr).not.toContain(token);
      // A token the Hub refuses is said before the folder is written.
      if (token === "hf_notAToken12345") expect(result.stderr).not.toContain("exported run");
    }
    expect(hub!.repos.size).toBe(0);
    expect(hub!.commitCount).toBe(0);
  });
});

describe("the fake Hub", () => {
  test("refuses what the Hub refuses: an upload that does not match its oid, a stale parent, an LFS file never uploaded", async () => {
    const url = await startHub();
    const repo = hub!.addRepo("dataset", "synthai-user/strict");
    const auth = { Authorization: `Bearer ${FAKE_HUB_TOKEN}` };
    const content = Buffer.from("PAR1 rows");
    const oid = createHash("sha256").update(content).digest("hex");
    const batch = await fetch(`${url}/datasets/synthai-user/strict.git/info/lfs/objects/batch`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ operation: "upload", objects: [{ oid, size: content.length }] }),
    });
    const href = (await batch.json()).objects[0].actions.upload.href;
    expect((await fetch(href, { method: "PUT", body: Buffer.from("PAR1 other") })).status).toBe(400);
    const commit = (parentCommit: string, line: object) =>
      fetch(`${url}/api/datasets/synthai-user/strict/commit/main`, {
        method: "POST",
        headers: auth,
        body: [{ key: "header", value: { summary: "s", parentCommit } }, line]
          .map((l) => JSON.stringify(l))
          .join("\n"),
      });
    const lfsLine = {
      key: "lfsFile",
      value: { path: "a.parquet", algo: "sha256", oid, size: content.length },
    };
    const head = repo.commits.at(-1)!.id;
    expect((await commit(head, lfsLine)).status).toBe(422);
    expect((await fetch(href, { method: "PUT", body: content })).status).toBe(200);
    expect((await commit("0".repeat(40), lfsLine)).status).toBe(412);
    expect((await commit(head, lfsLine)).status).toBe(200);
    expect(hub!.file("synthai-user/strict", "a.parquet")).toEqual(content);
    expect(hub!.commitCount).toBe(1);
  });
});

describe("what a push sends", () => {
  const file = (path: string, content: string): LocalFile => ({
    path,
    size: content.length,
    oid: createHash("sha1").update(`blob ${content.length}\0${content}`).digest("hex"),
    sha256: createHash("sha256").update(content).digest("hex"),
  });

  test("planCommit adds what differs and deletes what synthai's folders no longer hold, nothing else", () => {
    const card = file("README.md", "card");
    const train = file("data/train-00000-of-00001.parquet", "rows");
    const plan = planCommit(
      [card, train],
      [
        { path: "README.md", size: 4, oid: card.oid },
        { path: "data/train-00000-of-00001.parquet", size: 4, oid: "pointer", lfsOid: train.sha256 },
        { path: "data/test-00000-of-00001.parquet", size: 4, oid: "x", lfsOid: "y" },
        { path: "synthai/old-prompt.md", size: 1, oid: "z" },
        { path: "notes.md", size: 1, oid: "w" },
        { path: ".gitattributes", size: 1, oid: "v" },
      ],
    );
    expect(plan).toEqual({
      add: [],
      remove: ["data/test-00000-of-00001.parquet", "synthai/old-prompt.md"],
    });
    expect(
      planCommit([file("README.md", "new card")], [{ path: "README.md", size: 4, oid: card.oid }]),
    ).toEqual({
      add: ["README.md"],
      remove: [],
    });
  });

  test("mergeCard keeps foreign keys and tags, lets synthai's own win, and gives the same bytes when merged again", () => {
    const ours = matter.stringify("# ours\n", {
      configs: [{ config_name: "default" }],
      tags: ["synthetic", "synthai"],
    });
    const theirs = "---\nconfigs: old\npretty_name: Theirs\ntags: [synthai, support]\n---\nold text\n";
    const merged = mergeCard(ours, theirs);
    const card = matter(merged, {});
    expect(card.data).toEqual({
      configs: [{ config_name: "default" }],
      pretty_name: "Theirs",
      tags: ["synthetic", "synthai", "support"],
    });
    expect(card.content.trim()).toBe("# ours");
    expect(mergeCard(ours, merged)).toBe(merged);
    expect(mergeCard(ours, undefined)).toBe(ours);
  });

  test("a split's Parquet goes on in a next file past the shard size: -NNNNN-of-NNNNN, every row once, in order", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "data"));
    const open = (file: string) =>
      FORMATS.parquet.appender(join(dir, file), {
        columns: ["i", "text"],
        types: ["integer", "string"],
        delimiter: ",",
        header: true,
      });
    const shards = await shardedWriter(dir, "train", open, 1);
    for (let i = 0; i < 20_000; i++)
      shards.write([i, createHash("sha256").update(String(i)).digest("hex").repeat(4)]);
    const files = await shards.finish();
    expect(files.length).toBeGreaterThan(1);
    expect(files).toEqual(
      files.map(
        (_, i) =>
          `data/train-${String(i).padStart(5, "0")}-of-${String(files.length).padStart(5, "0")}.parquet`,
      ),
    );
    expect((await readdir(join(dir, "data"))).sort()).toEqual(files.map((f) => f.slice(5)).sort());
    const rows: unknown[] = [];
    for (const file of files)
      rows.push(
        ...(await parquetReadObjects({ file: await asyncBufferFromFile(join(dir, file)) })).map((r) => r.i),
      );
    expect(rows).toEqual(Array.from({ length: 20_000 }, (_, i) => BigInt(i)));
  });

  test("Retry-After in seconds or as a date; --push names only dataset repositories", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs("Mon, 07 Dec 2026 06:00:10 GMT", Date.parse("Mon, 07 Dec 2026 06:00:00 GMT"))).toBe(
      10_000,
    );
    expect(retryAfterMs(null)).toBeUndefined();
    expect(datasetRepoName("datasets/org/name")).toBe("org/name");
    expect(datasetRepoName("org/name")).toBe("org/name");
    expect(() => datasetRepoName("models/org/name")).toThrow(/names a models repository/);
    expect(() => datasetRepoName("name")).toThrow(/is not namespace\/name/);
  });
});
