// A run folder may come from someone else (shared, downloaded), and so may a file beside an
// output: nothing there is followed as a link or trusted as a path.
import { cpSync, existsSync, lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { isClaimOn } from "../src/pipeline/export-claim.ts";
import { writeFileAtomic } from "../src/io/disk.ts";
import {
  PARAMS,
  expectOneLineError,
  onlyRunDir,
  readCsv,
  readManifest,
  runCli,
  tempDir,
  useFake,
} from "./helpers.ts";

const server = useFake();
const VICTIM = "the user's own file\n";

/** A small finished run in a fresh folder, and a file of the user's outside it. */
async function finishedRun() {
  const url = await server.start();
  const cwd = await tempDir();
  const made = await runCli(
    ["-n", "6", "-p", "out.csv", "-j", PARAMS, "--poll-interval", "0.02", "--base-url", url],
    {
      cwd,
    },
  );
  expect(made.code, made.stderr).toBe(0);
  const runDir = await onlyRunDir(cwd);
  const victim = join(cwd, "victim.txt");
  writeFileSync(victim, VICTIM);
  return { url, cwd, runDir, id: (await readManifest(runDir)).id as string, victim };
}

describe("links in a run folder", () => {
  test("report replaces a symlinked report.html and leaves the link's target untouched", async () => {
    const { cwd, runDir, id, victim } = await finishedRun();
    symlinkSync(victim, join(runDir, "report.html"));
    const report = await runCli(["report", id], { cwd });
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe(VICTIM);
    expect(lstatSync(join(runDir, "report.html")).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(runDir, "report.html"), "utf8")).toContain("<html");
  });

  test("export --dedup exact replaces a symlinked duplicates.jsonl and leaves the link's target untouched", async () => {
    const { cwd, runDir, id, victim } = await finishedRun();
    symlinkSync(victim, join(runDir, "duplicates.jsonl"));
    const exported = await runCli(["export", id, "--dedup", "exact", "-p", "again.csv"], { cwd });
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe(VICTIM);
    expect(lstatSync(join(runDir, "duplicates.jsonl")).isSymbolicLink()).toBe(false);
    expect(await readCsv(join(cwd, "again.csv"))).toHaveLength(6);
  });

  test("a samples file that is a link is refused in one line, not read", async () => {
    const { cwd, runDir, id, victim } = await finishedRun();
    const samples = join(runDir, "samples", "c0000-a1.jsonl");
    const copy = join(cwd, "copy.jsonl");
    writeFileSync(copy, readFileSync(samples));
    rmSync(samples);
    symlinkSync(copy, samples);
    const exported = await runCli(["export", id, "-p", "again.csv"], { cwd });
    expect(exported.code).not.toBe(0);
    expectOneLineError(exported.stderr, /c0000-a1\.jsonl is a link/);
    expect(readFileSync(victim, "utf8")).toBe(VICTIM);
  });

  test("a requests file that is a link is never uploaded: resume refuses it in one line", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const built = await runCli(["-n", "4", "--dry-run", "-j", PARAMS, "--base-url", url], { cwd });
    expect(built.code, built.stderr).toBe(0);
    const runDir = await onlyRunDir(cwd);
    // A link to a file of the same size, so that only the link gives it away.
    const requests = join(runDir, "requests", "c0000-a1.jsonl");
    const elsewhere = join(cwd, "private.jsonl");
    writeFileSync(elsewhere, readFileSync(requests));
    rmSync(requests);
    symlinkSync(elsewhere, requests);
    const id = (await readManifest(runDir)).id as string;
    const resumed = await runCli(["resume", id, "--base-url", url, "--poll-interval", "0.02"], { cwd });
    expect(resumed.code).not.toBe(0);
    expectOneLineError(resumed.stderr, /c0000-a1\.jsonl is a link/);
    expect(server.fake.files.size).toBe(0);
  });

  test("writeFileAtomic replaces a link at its path and at its temporary file's name", async () => {
    const cwd = await tempDir();
    const victim = join(cwd, "victim.txt");
    writeFileSync(victim, VICTIM);
    const path = join(cwd, "manifest.json");
    symlinkSync(victim, path);
    symlinkSync(victim, `${path}.${process.pid}.tmp`);
    writeFileAtomic(path, "{}");
    expect(readFileSync(victim, "utf8")).toBe(VICTIM);
    expect(readFileSync(path, "utf8")).toBe("{}");
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
  });
});

describe("an export claim beside an output", () => {
  test("is a claim on that output only when it names no file but the output's metrics", () => {
    const claim = { run: "r", runDir: "/runs/r", csvOffset: 10, metricsOffset: 5 };
    expect(isClaimOn("/d/out.csv", { ...claim, metricsFile: "/d/out_metrics.csv" })).toBe(true);
    expect(isClaimOn("/d/out.csv", claim)).toBe(true);
    expect(isClaimOn("/d/out.csv", { ...claim, metricsFile: "/home/me/.bashrc" })).toBe(false);
    expect(isClaimOn("/d/out.csv", { ...claim, metricsFile: "/d/other_metrics.csv" })).toBe(false);
    expect(isClaimOn("/d/out.csv", { ...claim, csvOffset: -1 })).toBe(false);
    expect(isClaimOn("/d/out.csv", { ...claim, run: 3 })).toBe(false);
    expect(isClaimOn("/d/out.csv", null)).toBe(false);
  });

  test("a crafted claim naming another file is refused in one line, and that file is untouched", async () => {
    const { cwd, runDir, id, victim } = await finishedRun();
    const before = readFileSync(join(cwd, "out.csv"), "utf8");
    // A run folder of the attacker's own, whose manifest says its export to out.csv is unfinished.
    const manifest = await readManifest(runDir);
    const theirs = join(cwd, "theirs");
    cpSync(runDir, theirs, { recursive: true });
    manifest.id = "20260101-000000-evil";
    manifest.exports = [
      {
        csvFile: join(cwd, "out.csv"),
        metricsFile: victim,
        csvOffset: 0,
        metricsOffset: 0,
        firstIndex: 0,
        done: false,
      },
    ];
    writeFileSync(join(theirs, "manifest.json"), JSON.stringify(manifest));
    const claim = { run: manifest.id, runDir: theirs, csvOffset: 0, metricsFile: victim, metricsOffset: 0 };
    writeFileSync(join(cwd, "out.csv.synthai-export"), JSON.stringify(claim));

    const exported = await runCli(["export", id, "-p", "out.csv"], { cwd });
    expect(exported.code).not.toBe(0);
    expectOneLineError(exported.stderr, /out\.csv\.synthai-export is not a claim synthai wrote on/);
    expect(readFileSync(victim, "utf8")).toBe(VICTIM);
    expect(readFileSync(join(cwd, "out.csv"), "utf8")).toBe(before);
    expect(existsSync(join(cwd, "out.csv.synthai-export"))).toBe(true);
  });
});
