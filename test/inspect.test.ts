import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  useFake,
  ENTRY,
  PARAMS,
  onlyRunDir,
  readCsv,
  readJsonlFile,
  readManifest,
  runCli,
  tempDir,
} from "./helpers.ts";
import { consoleLog } from "../src/io/log.ts";
import { FakeOpenAI } from "../src/fake/server.ts";
import { driveNew, serviceDouble } from "./service-double.ts";

const server = useFake();

const fast = ["--poll-interval", "0.02", "-j", PARAMS];

/** A finished run with malformed answers and failed lines, for looking into. */
async function finishedRun(options: { maxAttempts?: string } = {}) {
  const url = await server.start({ malformedRate: 0.3, failedRate: 0.1, seed: 9 });
  const cwd = await tempDir();
  const result = await runCli(
    [
      "-n",
      "20",
      "-b",
      "2",
      "--base-url",
      url,
      ...fast,
      ...(options.maxAttempts ? ["--max-attempts", options.maxAttempts] : []),
    ],
    { cwd },
  );
  const runDir = await onlyRunDir(cwd);
  return { cwd, url, result, runDir, runId: (await readManifest(runDir)).id as string };
}

/** One finished run for the tests that only read it (inspect, report), made by the first that asks. */
let shared: ReturnType<typeof finishedRun> | undefined;
const sharedRun = () => (shared ??= finishedRun());

describe("status, inspect and --on-done", () => {
  test("status <id> exits 0 when done, 6 when samples were given up, 5 while running", async () => {
    const done = await finishedRun();
    expect((await runCli(["status", done.runId], { cwd: done.cwd })).code).toBe(0);
    await server.fake.stop();
    const gaveUp = await finishedRun({ maxAttempts: "1" });
    const status = await runCli(["status", gaveUp.runId], { cwd: gaveUp.cwd });
    expect(status.code).toBe(6);
    expect(status.stdout).toMatch(/samples \d+\/20 valid, \d+ re-requested, [1-9]\d* given up/);
    const detached = await runCli(
      ["-n", "2", "--detach", "--base-url", gaveUp.url, ...fast, "-p", "other.csv"],
      { cwd: gaveUp.cwd },
    );
    expect((await runCli(["status", detached.stdout.trim()], { cwd: gaveUp.cwd })).code).toBe(5);
  });

  test("inspect read by a reader that stops early (`| head -1`) ends quietly, exit 0", async () => {
    const { cwd, runId } = await sharedRun();
    const child = spawn(process.execPath, [ENTRY, "inspect", runId, "--limit", "0"], { cwd });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    // The reader is gone before the first line, so the command writes to a closed pipe however
    // little it writes (a run this small fits in the pipe's buffer).
    child.stdout.destroy();
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  test("inspect shows a sample's parameters, prompt, raw answer, parsed fields, tokens and cost", async () => {
    const { cwd, runId } = await sharedRun();
    const rows = await readCsv(join(cwd, "dataset.csv"));
    const metrics = await readCsv(join(cwd, "dataset_metrics.csv"));
    const row = rows[0]!;
    const sample = metrics[0]!.sample!;
    const shown = await runCli(["inspect", runId, "--sample", sample], { cwd });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`── sample ${sample} · id ${row.sample_id}`);
    expect(shown.stdout).toContain(`Attitude=${row.Attitude}`);
    expect(shown.stdout).toMatch(/prompt: Generate an? \w+ phone call/);
    expect(shown.stdout).toContain(`Summary: ${row.Summary!.split("\n")[0]}`);
    // A valid answer's raw text comes from the results file: the samples record keeps only
    // the text of answers that are not valid.
    expect(shown.stdout).toMatch(/\n   answer: \[Call\]\n {11}Call: /);
    const runDir = await onlyRunDir(cwd);
    const records = (await readdir(join(runDir, "samples"))).map((name) =>
      readJsonlFile(join(runDir, "samples", name)),
    );
    const samples = (await Promise.all(records)).flat();
    expect(samples.filter((s) => s.status === "ok" && "answer" in s)).toEqual([]);
    expect(samples.filter((s) => s.status === "malformed").every((s) => typeof s.answer === "string")).toBe(
      true,
    );
    expect(shown.stdout).toContain(
      `tokens ${metrics[0]!.prompt_tokens} + ${metrics[0]!.completion_tokens} = ${metrics[0]!.total_tokens}`,
    );

    const failed = await runCli(["inspect", runId, "--failed", "--json", "--limit", "0"], { cwd });
    const lines = failed.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const manifest = await readManifest(await onlyRunDir(cwd));
    const bad = manifest.batches.reduce(
      (s: number, b: any) => s + b.collected.malformed + b.collected.failed + b.collected.missing,
      0,
    );
    expect(lines).toHaveLength(bad);
    for (const l of lines) {
      expect(l.status).not.toBe("ok");
      expect(l.reason).toBeTruthy();
      expect(l.prompt).toContain("[Call]");
    }
    const byId = await runCli(["inspect", runId, "--id", lines[0].custom_id, "--json"], { cwd });
    const history = byId.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(history.map((h) => h.attempt)).toEqual([...history.keys()].map((i) => i + 1));
    expect(history.at(-1).status).toBe("ok");
  });

  test("--on-done runs a command with the run's id and state when the run ends", async () => {
    const url = await server.start();
    const cwd = await tempDir();
    const result = await runCli(
      [
        "-n",
        "3",
        "--base-url",
        url,
        ...fast,
        "--on-done",
        'echo "$SYNTHAI_RUN_ID $SYNTHAI_RUN_STATE" > finished.txt',
      ],
      { cwd },
    );
    expect(result.code).toBe(0);
    const runId = (await readManifest(await onlyRunDir(cwd))).id;
    expect((await readFile(join(cwd, "finished.txt"), "utf8")).trim()).toBe(`${runId} done`);
  });
});

describe("progress", () => {
  const sink = (isTTY: boolean) => {
    let text = "";
    return {
      stream: {
        isTTY,
        columns: 80,
        write: (s: string) => ((text += s), true),
      } as unknown as NodeJS.WriteStream,
      text: () => text,
    };
  };
  test("in a log file: a line when the batches change state, else once a minute", () => {
    let now = 0;
    const out = sink(false);
    const log = consoleLog(out.stream, 60, () => now);
    log.progress!("waiting: 1/9", "1 in_progress");
    now = 10_000;
    log.progress!("waiting: 2/9", "1 in_progress");
    now = 20_000;
    log.progress!("waiting: 9/9", "1 finalizing");
    now = 90_000;
    log.progress!("waiting: 9/9 later", "1 finalizing");
    expect(out.text()).toBe("waiting: 1/9\nwaiting: 9/9\nwaiting: 9/9 later\n");
  });
  test("on a terminal: one line redrawn in place, cleared before other messages", () => {
    const out = sink(true);
    const log = consoleLog(out.stream);
    log.progress!("waiting: 1/9", "a");
    log.progress!("waiting: 2/9", "a");
    log("collected");
    expect(out.text()).toBe("waiting: 1/9\r\x1b[2Kwaiting: 2/9\r\x1b[2Kcollected\n");
  });
  test("a real run not on a terminal prints waiting lines with requests done, ETA and cost", async () => {
    const url = await server.start({ pollsPerPhase: 2 });
    const result = await runCli(["-n", "6", "-b", "2", "--base-url", url, ...fast], { cwd: await tempDir() });
    expect(result.stderr).toMatch(
      /^waiting: 0\/6 valid · spent \$0\.0000\d+ · 0\/6 requests · 2 batch\(es\): 2 in_progress · \d+s · expires in 2[34]h\d\dm$/m,
    );
  });
});

/** Each chart Chart.js drew on the page: its id, its axes' titles, and its bars' values. */
function drawnCharts(page: Page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("canvas")].map((canvas) => {
      const chart = (window as any).Chart.getChart(canvas);
      return {
        id: canvas.id,
        drawn: Boolean(chart) && canvas.width > 0,
        titles: chart ? Object.values(chart.options.scales).map((scale: any) => scale.title?.text ?? "") : [],
        values: chart ? chart.data.datasets[0].data : [],
      };
    }),
  );
}

/**
 * The browser: $CHROMIUM_PATH, else the system's Chromium, else the one the npm package
 * @sparticuz/chromium ships inside its tarball (unpacked to the temp folder on first use), so
 * `npm install && npm test` pass on a machine without a browser.
 */
async function browserPath(): Promise<string> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  if (existsSync("/usr/bin/chromium")) return "/usr/bin/chromium";
  const packaged = (await import("@sparticuz/chromium")).default;
  return packaged.executablePath();
}

describe("report.html in a real browser", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: await browserPath(),
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(async () => browser?.close());

  test("loads from disk without errors, draws its charts, and the table filters", async () => {
    const { cwd, runId, runDir } = await sharedRun();
    const made = await runCli(["report", runId], { cwd });
    expect(made.code).toBe(0);
    expect(made.stdout.trim()).toBe(join(runDir, "report.html"));
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("request", (r) => !r.url().startsWith("file:") && problems.push(`network: ${r.url()}`));
    await page.goto(`file://${join(runDir, "report.html")}`);
    expect(problems).toEqual([]);
    await expect(page.locator(".headline div").first().textContent()).resolves.toContain("samples asked20");
    const charts = await drawnCharts(page);
    expect(charts.length).toBeGreaterThanOrEqual(5);
    for (const chart of charts) expect(chart.titles.every(Boolean), chart.id).toBe(true);
    // The figures of `synthai stats`, charted: each text field's diversity, each label's balance.
    const stats = await runCli(["stats", runId, "--json"], { cwd });
    expect(stats.code, stats.stderr).toBe(0);
    const measured = JSON.parse(stats.stdout).stats;
    const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
    const percent = (x: number) => Math.round(1000 * x) / 10;
    expect(byId["chart-diversity"]?.drawn).toBe(true);
    expect(byId["chart-diversity"]!.values).toEqual([
      ...measured.texts[0].distinct.map(percent),
      percent(measured.texts[0].repeated8.share),
      percent(measured.texts[0].selfBleu.score),
    ]);
    expect(measured.labels.length).toBeGreaterThan(0);
    for (const [i, label] of measured.labels.entries())
      expect(byId[`chart-balance-${i}`]!.values, label.label).toEqual(
        label.shares.map((s: { share: number }) => percent(s.share)),
      );
    const all = await page.locator("#rows tr").count();
    expect(await page.locator("#count").textContent()).toMatch(new RegExp(`^${all} of ${all} answers`));
    await page.selectOption("#status", "bad");
    const bad = await page.locator("#rows tr").count();
    expect(bad).toBeGreaterThan(0);
    expect(bad).toBeLessThan(all);
    await page.selectOption("#status", "");
    const firstId = (await readCsv(join(cwd, "dataset.csv")))[0]!.sample_id!;
    await page.fill("#search", firstId);
    const matching = await page.locator("#rows tr").allTextContents();
    expect(matching.length).toBeGreaterThan(0);
    for (const text of matching) expect(text).toContain(firstId);
  });

  test("at 200,000 samples it opens without errors; every chart draws, with axis titles; the table pages and says what it holds", async () => {
    // A genuine run of 200,000 samples, made in process by the pipeline (build, submit, collect,
    // retry, export) against the service double, answered as the fake service answers (2% malformed):
    // the report at scale is what is tested here, not the service nor the cache of answers.
    const fake = new FakeOpenAI({ malformedRate: 0.02, seed: 3 });
    const double = serviceDouble(
      ({ model, messages }) => fake.complete({ model, messages }).body.choices[0].message.content,
      { remember: false },
    );
    const cwd = await tempDir();
    const made = await driveNew(
      double,
      {
        samples: 200_000,
        batches: 4,
        yes: true,
        params: PARAMS,
        output: join(cwd, "dataset.csv"),
      },
      cwd,
    );
    expect(made.manifest.state, made.log.join("\n")).toBe("done");
    const { runDir } = made;
    const { id } = made.manifest;
    expect((await runCli(["report", id], { cwd })).code).toBe(0);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("request", (r) => !r.url().startsWith("file:") && problems.push(`network: ${r.url()}`));
    await page.goto(`file://${join(runDir, "report.html")}`);
    expect(problems).toEqual([]);
    const charts = await drawnCharts(page);
    const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
    for (const chart of charts) {
      expect(chart.drawn, chart.id).toBe(true);
      expect(chart.titles.length, chart.id).toBe(2);
      expect(chart.titles.every(Boolean), chart.id).toBe(true);
    }
    // Every valid sample is counted in the histograms.
    const valid = (await readCsv(join(cwd, "dataset.csv"))).length;
    for (const id of ["chart-prompt", "chart-completion"])
      expect((byId[id]!.values as number[]).reduce((a, b) => a + b, 0)).toBe(valid);
    // The timeline's axis is time, spanning the run's batches.
    const timeline = await page.evaluate(() => {
      const chart = (window as any).Chart.getChart(document.getElementById("chart-timeline"));
      return { type: chart.scales.x.type, min: chart.scales.x.min, max: chart.scales.x.max };
    });
    expect(timeline.type).toBe("time");
    expect(timeline.min).toBeGreaterThan(Date.parse("2020-01-01"));
    expect(await page.locator("#held").textContent()).toMatch(/first 5,000 of the run's 20\d,\d{3} answers/);
    expect(await page.locator("#count").textContent()).toBe("5000 of 5000 answers, page 1 of 50");
    const first = await page.locator("#rows tr").first().textContent();
    await page.click("#next");
    expect(await page.locator("#count").textContent()).toBe("5000 of 5000 answers, page 2 of 50");
    expect(await page.locator("#rows tr").first().textContent()).not.toBe(first);
    expect(await page.locator("#rows tr").count()).toBe(100);
    // Kept for a person to look at: the whole page as the browser drew it.
    const shot = join(runDir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await readFile(shot)).length).toBeGreaterThan(50_000);
  }, 300_000);
});
